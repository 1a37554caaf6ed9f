"""test_pyserini.py -- rankt5_pyserini in a real Pyserini (PyPI), end to end.

A LuceneSearcher over an index of the demo collection that Pyserini's own indexer builds
(JsonCollection, -storeRaw), searched for the demo queries; its hits reranked through the
package (the plugin jar's io.rankt5.RankT5 on the JVM Pyserini started) with the demo model.
Checked against the CLI, `rankt5 score` on the same pairs: the same float32 bits. Also: hits
given as (docid, text) pairs and through a separate text searcher score the same, k cuts, the
order follows the scores, and configure() after the JVM started is a clear error.

Needs: the plugin jar (`mvn package`: target/rankt5-anserini-*.jar or $RANKT5_JAR), the CLI
($RT5_CLI), pyserini and pyjnius, JAVA_HOME at a JDK >= 21, and t5's spiece.model
($RT5_SHARED_DIR/tokenizer). tests/python/run.sh provides them.
"""
import json
import os
import struct
import subprocess
import sys
import tempfile

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "java", "pyserini"))
import rankt5_pyserini  # noqa: E402

SHARED = os.environ.get("RT5_SHARED_DIR", os.path.join(ROOT, "..", "shared"))
SPM = os.path.join(SHARED, "tokenizer", "t5-spiece.model")
DEMO = os.path.join(ROOT, "tests", "fixtures", "demo")
MODEL = os.path.join(DEMO, "model")
CLI = os.environ.get("RT5_CLI", os.path.join(ROOT, "build", "rankt5"))
# Pyserini 1.6.0 builds an OpenAI client when its search package is imported, which refuses to
# start without a key; nothing here calls OpenAI, and no network is reached.
os.environ.setdefault("OPENAI_API_KEY", "unused")


def f32(x):
    """x rounded to float32, as bytes: equality here is equality of the bits."""
    return struct.pack("<f", x)


def read_tsv(path):
    with open(path, encoding="utf-8") as f:
        return dict(line.rstrip("\n").split("\t", 1) for line in f if line.strip())


@pytest.fixture(scope="module")
def index_dir():
    tmp = tempfile.mkdtemp(prefix="rankt5-pyserini-")
    docs = os.path.join(tmp, "docs")
    os.makedirs(docs)
    with open(os.path.join(docs, "demo.jsonl"), "w", encoding="utf-8") as f:
        for docid, text in read_tsv(os.path.join(DEMO, "collection.tsv")).items():
            f.write(json.dumps({"id": docid, "contents": text}) + "\n")
    index = os.path.join(tmp, "index")
    subprocess.run([sys.executable, "-m", "pyserini.index.lucene", "--collection", "JsonCollection",
                    "--input", docs, "--index", index, "--generator", "DefaultLuceneDocumentGenerator",
                    "--threads", "1", "--storeRaw"], check=True, stdout=subprocess.DEVNULL)
    return index


@pytest.fixture(scope="module")
def searcher(index_dir):
    rankt5_pyserini.configure()
    from pyserini.search.lucene import LuceneSearcher
    return LuceneSearcher(index_dir)


@pytest.fixture(scope="module")
def reranker(searcher):
    with rankt5_pyserini.RankT5Reranker(MODEL, tokenizer=SPM, dtype="f32", threads=2) as r:
        yield r


def cli_scores(query, texts):
    lines = "".join(json.dumps({"query": query, "document": t}) + "\n" for t in texts)
    out = subprocess.run([CLI, "score", "--model", MODEL, "--tokenizer", SPM, "--threads", "2"],
                         input=lines.encode(), capture_output=True, check=True).stdout.decode()
    return [json.loads(l)["score"] for l in out.splitlines()]


def test_lucene_hits_reranked_as_the_cli_scores_them(searcher, reranker):
    collection = read_tsv(os.path.join(DEMO, "collection.tsv"))
    checked = 0
    for qid, query in read_tsv(os.path.join(DEMO, "queries.tsv")).items():
        hits = searcher.search(query, k=6)
        assert hits, f"BM25 found nothing for {qid}"
        ranked = reranker.rerank(query, hits)
        assert sorted(d for d, _ in ranked) == sorted(h.docid for h in hits)
        scores = [s for _, s in ranked]
        assert scores == sorted(scores, reverse=True), "not best first"
        want = dict(zip([h.docid for h in hits], cli_scores(query, [collection[h.docid] for h in hits])))
        for docid, score in ranked:
            assert f32(score) == f32(want[docid]), f"{qid} {docid}: {score!r} vs CLI {want[docid]!r}"
            checked += 1
    assert checked >= 10


def test_pairs_and_text_searcher_give_the_same(searcher, reranker):
    collection = read_tsv(os.path.join(DEMO, "collection.tsv"))
    query = "how do bees make honey"
    hits = searcher.search(query, k=6)
    from_hits = reranker.rerank(query, hits)
    from_pairs = reranker.rerank(query, [(h.docid, collection[h.docid]) for h in hits])
    assert [(d, f32(s)) for d, s in from_hits] == [(d, f32(s)) for d, s in from_pairs]

    class Textless:  # an impact-index hit: a docid and no stored document
        def __init__(self, docid):
            self.docid = docid
            self.lucene_document = None
    from_searcher = reranker.rerank(query, [Textless(h.docid) for h in hits], searcher=searcher)
    assert [(d, f32(s)) for d, s in from_searcher] == [(d, f32(s)) for d, s in from_hits]
    with pytest.raises(ValueError, match="no text for document"):
        reranker.rerank(query, [Textless(hits[0].docid)])


def test_k_reranks_the_first_k(searcher, reranker):
    query = "why is the sky blue"
    hits = searcher.search(query, k=6)
    top3 = reranker.rerank(query, hits, k=3)
    assert sorted(d for d, _ in top3) == sorted(h.docid for h in hits[:3])
    assert reranker.rerank(query, []) == []


def test_bad_model_is_a_java_exception_not_a_crash(searcher):
    from jnius import JavaException
    with pytest.raises(JavaException, match="no such file"):
        rankt5_pyserini.RankT5Reranker(os.path.join(DEMO, "no-such-model"), tokenizer=SPM)


def test_configure_after_the_jvm_started_says_so():
    code = ("import sys; sys.path.insert(0, %r)\n"
            "import jnius, rankt5_pyserini\n"
            "try:\n    rankt5_pyserini.configure()\nexcept rankt5_pyserini.JvmAlreadyStartedError as e:\n"
            "    print('refused:', e)\n") % os.path.join(ROOT, "java", "pyserini")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "refused:" in out.stdout and "before pyserini" in out.stdout, out.stdout + out.stderr


def anserini_171_fatjar():
    import pyserini
    jars = os.path.join(os.path.dirname(pyserini.__file__), "resources", "jars")
    found = [os.path.join(jars, j) for j in os.listdir(jars) if j.startswith("anserini-") and j.endswith("-fatjar.jar")]
    assert len(found) == 1, found
    return found[0]


def test_plugin_drivers_run_in_anserini_171(index_dir, tmp_path):
    """Maven Central serves Anserini up to 1.5.0, which the Java tier compiles and tests against;
    Pyserini 1.6.0 carries Anserini 1.7.1. The plugin's SearchRerank (BM25 -> RankT5) and
    RerankRun run on that fatjar too, and their scores are rankt5 score's, bit for bit."""
    fatjar = anserini_171_fatjar()
    assert "1.7.1" in os.path.basename(fatjar)
    java = [os.path.join(os.environ["JAVA_HOME"], "bin", "java"), "--enable-native-access=ALL-UNNAMED",
            "-cp", rankt5_pyserini.find_jar() + os.pathsep + fatjar]
    queries = os.path.join(DEMO, "queries.tsv")
    run = tmp_path / "bm25-rankt5.trec"
    subprocess.run(java + ["io.rankt5.anserini.SearchRerank", "-index", index_dir, "-topics", queries,
                           "-topicReader", "TsvString", "-bm25", "-hits", "6", "-rerankcutoff", "6",
                           "-model", MODEL, "-tokenizer", SPM, "-threads", "1", "-output", str(run)],
                   check=True, capture_output=True, timeout=300)
    rerun = tmp_path / "rerank-run.trec"
    subprocess.run(java + ["io.rankt5.anserini.RerankRun", "-run", str(run), "-index", index_dir,
                           "-topics", queries, "-topicReader", "TsvString", "-model", MODEL,
                           "-tokenizer", SPM, "-rerankcutoff", "6", "-output", str(rerun)],
                   check=True, capture_output=True, timeout=300)
    collection = read_tsv(os.path.join(DEMO, "collection.tsv"))
    topics = read_tsv(queries)
    for path in (run, rerun):
        rows = [line.split() for line in path.read_text().splitlines()]
        assert len(rows) >= 10, path
        by_query = {}
        for qid, _, docid, rank, score, _tag in rows:
            by_query.setdefault(qid, []).append((docid, float(score)))
        for qid, ranked in by_query.items():
            want = cli_scores(topics[qid], [collection[d] for d, _ in ranked])
            for (docid, got), w in zip(ranked, want):
                assert f32(got) == f32(w), f"{path.name} {qid} {docid}: {got!r} vs CLI {w!r}"
            assert [s for _, s in ranked] == sorted((s for _, s in ranked), reverse=True)
