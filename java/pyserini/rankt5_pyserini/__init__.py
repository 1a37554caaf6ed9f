"""rankt5_pyserini: RankT5 reranking inside Pyserini's JVM.

Pyserini reaches Anserini through pyjnius and starts the JVM when it is first imported, with the
classpath it has been given by then. So the plugin jar must be on that classpath first:

    import rankt5_pyserini
    rankt5_pyserini.configure()             # before `import pyserini...`
    from pyserini.search.lucene import LuceneSearcher

    searcher = LuceneSearcher("indexes/msmarco-passage")
    reranker = rankt5_pyserini.RankT5Reranker("models/rankt5-3b", dtype="bf16")
    hits = searcher.search("what is rankt5", k=100)
    for docid, score in reranker.rerank("what is rankt5", hits)[:10]:
        print(docid, score)

Scores are the model's logits (bit-identical to `rankt5 score` and to the Java stage); they rank
documents within one query only.
"""
import glob
import json
import os
import sys

__all__ = ["configure", "find_jar", "RankT5Reranker", "JvmAlreadyStartedError"]

# Java 22+ asks code that calls native methods to be let through; Java 21 ignores the flag.
NATIVE_ACCESS = "--enable-native-access=ALL-UNNAMED"

_configured_jar = None


class JvmAlreadyStartedError(RuntimeError):
    """configure() was called after the JVM started (pyserini or jnius was imported first)."""


def find_jar(jar=None):
    """The plugin jar: `jar`, else $RANKT5_JAR, else the copy bundled in this package, else the
    newest target/rankt5-anserini-*.jar of the repository this package sits in."""
    here = os.path.dirname(os.path.abspath(__file__))
    candidates = [jar, os.environ.get("RANKT5_JAR")]
    candidates += sorted(glob.glob(os.path.join(here, "jars", "rankt5-anserini-*.jar")))
    repo = os.path.abspath(os.path.join(here, "..", "..", ".."))
    candidates += sorted(glob.glob(os.path.join(repo, "target", "rankt5-anserini-*.jar")),
                         key=os.path.getmtime, reverse=True)
    for path in candidates:
        if path:
            if not os.path.isfile(path):
                raise FileNotFoundError(f"rankt5_pyserini: no plugin jar at {path}")
            return os.path.abspath(path)
    raise FileNotFoundError("rankt5_pyserini: no plugin jar found; build it with `mvn package` at the "
                            "repository root, or pass configure(jar=...) / set RANKT5_JAR")


def _jvm_started():
    if "jnius" in sys.modules:  # importing jnius starts the JVM
        return True
    try:
        import jnius_config
    except ImportError as e:
        raise ImportError("rankt5_pyserini needs pyjnius (pip install pyjnius)") from e
    return bool(getattr(jnius_config, "vm_running", False))


def configure(jar=None):
    """Puts the plugin jar on pyjnius's classpath, with the JVM options it needs. Call it before
    anything imports pyserini (or jnius): Pyserini starts the JVM when it is imported, and a
    running JVM's classpath can no longer change. Returns the jar's path. Calling it again with
    the same jar is harmless."""
    global _configured_jar
    path = find_jar(jar)
    if _configured_jar == path:
        return path
    if _jvm_started():
        raise JvmAlreadyStartedError(
            "rankt5_pyserini.configure() must run before pyserini (or jnius) is imported: the JVM "
            "has already started, so the rankt5 jar can no longer be added to its classpath. Move "
            "`rankt5_pyserini.configure()` above the first `import pyserini...`.")
    import jnius_config
    jnius_config.add_classpath(path)
    if NATIVE_ACCESS not in jnius_config.get_options():
        jnius_config.add_options(NATIVE_ACCESS)
    _configured_jar = path
    return path


def _hit_text(hit, searcher):
    """The passage text of one hit: a (docid, text) pair; else the hit's stored document (its
    `contents`, or the `contents` of its stored `raw` JSON, else `raw`); else `searcher.doc()`."""
    if isinstance(hit, (tuple, list)):
        docid, text = hit
        return str(docid), text
    docid = str(hit.docid)
    text = _document_text(getattr(hit, "lucene_document", None))
    if text is None and searcher is not None:
        doc = searcher.doc(docid)
        text = None if doc is None else _document_text(doc.lucene_document() if hasattr(doc, "lucene_document") else doc)
    if text is None:
        raise ValueError(f"rankt5_pyserini: no text for document {docid}: its index stores neither "
                         "`contents` nor `raw`; pass searcher= a LuceneSearcher over an index that does")
    return docid, text


def _document_text(doc):
    if doc is None:
        return None
    contents = doc.get("contents")
    if contents is not None:
        return contents
    raw = doc.get("raw")
    if raw is None:
        return None
    try:
        parsed = json.loads(raw)
    except ValueError:
        return raw
    if isinstance(parsed, dict) and isinstance(parsed.get("contents"), str):
        return parsed["contents"]
    return raw


class RankT5Reranker:
    """The RankT5 stage on the JVM (io.rankt5.RankT5) for Pyserini hits.

    model: a model folder (models/<name>/ with a manifest), a checkpoint or converted file, or a
    folder holding one; tokenizer: spiece.model or tokenizer.json, when the model's folder has
    none; dtype: "f32", "bf16", "int8" (or "auto" where the library offers it); threads: the
    engine's threads (None: every core); max_length, template, batch_tokens: as `rankt5 score`.
    Close it (or use `with`) to free the weights at once.
    """

    def __init__(self, model, tokenizer=None, dtype="f32", threads=None, max_length=None,
                 template=None, batch_tokens=None):
        configure()  # no-op when done already; a clear error when the JVM runs without the jar
        from jnius import autoclass
        self._File = autoclass("java.io.File")
        self._ArrayList = autoclass("java.util.ArrayList")
        options = autoclass("io.rankt5.RankT5$Options")()
        if tokenizer is not None:
            options = options.tokenizer(self._path(tokenizer))
        options = options.dtype(dtype)
        if threads is not None:
            options = options.threads(int(threads))
        if max_length is not None:
            options = options.maxLength(int(max_length))
        if template is not None:
            options = options.template(template)
        if batch_tokens is not None:
            options = options.batchTokens(int(batch_tokens))
        self._model = autoclass("io.rankt5.RankT5").open(self._path(model), options)

    def _path(self, p):
        return self._File(os.fspath(p)).toPath()

    def score(self, query, texts):
        """Logits of `texts` for `query`, in order, as Python floats (one batch)."""
        docs = self._ArrayList()
        for t in texts:
            docs.add(t)
        return list(self._model.score(query, docs))

    def rerank(self, query, hits, searcher=None, k=None):
        """Reranks the first k hits (all when k is None) in one batch and returns
        [(docid, score), ...], best first; ties keep the first stage's order. `hits` are
        LuceneSearcher / LuceneImpactSearcher results or (docid, text) pairs; a hit without
        stored text takes it from `searcher` (e.g. a LuceneSearcher over a text index)."""
        hits = list(hits)[: (len(hits) if k is None else int(k))]
        pairs = [_hit_text(h, searcher) for h in hits]
        scores = self.score(query, [text for _, text in pairs]) if pairs else []
        order = sorted(range(len(pairs)), key=lambda i: -scores[i])
        return [(pairs[i][0], scores[i]) for i in order]

    @property
    def tag(self):
        return f"rankt5-{self._model.name()}-{self._model.dtype()}"

    def close(self):
        self._model.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
