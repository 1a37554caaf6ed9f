package io.rankt5.anserini;

import io.anserini.rerank.RerankerContext;
import io.anserini.search.ScoredDocs;
import io.rankt5.RankT5;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.kohsuke.args4j.Option;

/**
 * First-stage retrieval with Anserini, then RankT5 on the top {@code -rerankcutoff} hits of each query, written as a
 * TREC run.
 *
 * <ul>
 *   <li>BM25 ({@code -bm25}, the default; {@code -bm25.k1 -bm25.b}) on an Anserini Lucene index;
 *   <li>impact search ({@code -impact}) on a SPLADE or uniCOIL index, with pre-encoded topics
 *       ({@code -pretokenized}) or an Anserini query encoder ({@code -encoder}). Such topics are not text: give
 *       {@code -queries} (TSV {@code qid \t text}) for the reranker, and {@code -textIndex} when the impact index
 *       stores no passage text.
 * </ul>
 *
 * <pre>
 * java -cp anserini-fatjar.jar:rankt5-anserini.jar io.rankt5.anserini.SearchRerank \
 *   -index msmarco-v1-passage -topics msmarco-passage-dev-subset -topicReader TsvInt -bm25 -hits 1000 \
 *   -model pytorch_model.bin -tokenizer spiece.model -rerankcutoff 100 -output bm25-rankt5.trec
 * </pre>
 */
public final class SearchRerank {
  static final String NAME = "SearchRerank";

  /** SearchRerank's options: the shared ones plus the first stage's. */
  public static final class Args extends DriverArgs {
    @Option(name = "-index", metaVar = "[path]", required = true,
        usage = "Anserini index of the first stage: a folder, or a prebuilt index label (e.g. msmarco-v1-passage)")
    public String index;

    @Option(name = "-bm25", forbids = "-impact", usage = "first stage: BM25 (the default)")
    public boolean bm25 = false;

    @Option(name = "-bm25.k1", metaVar = "[value]", usage = "BM25 k1")
    public float k1 = 0.9f;

    @Option(name = "-bm25.b", metaVar = "[value]", usage = "BM25 b")
    public float b = 0.4f;

    @Option(name = "-impact", forbids = "-bm25", usage = "first stage: impact scores (SPLADE, uniCOIL indexes)")
    public boolean impact = false;

    @Option(name = "-pretokenized", usage = "topics are pre-encoded tokens (whitespace-separated)")
    public boolean pretokenized = false;

    @Option(name = "-encoder", metaVar = "[name]",
        usage = "Anserini sparse query encoder, e.g. SpladePlusPlusEnsembleDistil (downloads its ONNX model)")
    public String encoder;

    @Option(name = "-queries", metaVar = "[file]",
        usage = "plain-text queries the reranker sees: TSV 'qid<TAB>text', or Anserini topics by name (default: the "
            + "topics' text)")
    public String queries;

    @Option(name = "-textIndex", metaVar = "[path]",
        usage = "index (folder or prebuilt label) holding passage text, when the first stage's index stores none "
            + "(impact indexes)")
    public String textIndex;
  }

  private SearchRerank() {}

  public static void main(String[] argv) {
    System.exit(run(argv, System.err));
  }

  /** Runs the driver; returns the exit status (0 ok, 1 error, 2 usage) after printing any error to err. */
  public static int run(String[] argv, PrintStream err) {
    return Driver.main(NAME, err, () -> {
      Args a = new Args();
      Driver.parse(NAME, "Anserini first stage, then RankT5 (docs/anserini.md).", a, argv, err);
      Driver.checkCommon(a);
      Map<String, String> topics = Driver.topics(a);
      Map<String, String> plain = topics;
      if (a.queries != null) {
        plain = Driver.plainQueries(a.queries);
      } else if (a.impact && a.pretokenized) {
        err.println(NAME + ": warning: -impact -pretokenized topics are tokens, not text; give -queries for the"
            + " reranker");
      }
      for (String qid : topics.keySet()) {
        Driver.queryText(topics, qid, "the topics (field " + a.topicField + ")");
        Driver.queryText(plain, qid, a.queries != null ? a.queries : "the topics");
      }
      Path index = Driver.index(a.index);
      Path textIndex = a.textIndex == null ? null : Driver.index(a.textIndex);
      try (FirstStage first = FirstStage.open(index, a.impact, a.pretokenized, a.k1, a.b, a.encoder);
          PassageText text = textIndex != null ? PassageText.ofIndex(textIndex, a.field)
              : PassageText.ofSearchedIndex(a.field);
          RankT5 model = Driver.openModel(a)) {
        search(a, topics, plain, first, text, model, err);
      }
    });
  }

  private static void search(Args a, Map<String, String> topics, Map<String, String> plain, FirstStage first,
      PassageText text, RankT5 model, PrintStream err) throws Exception {
    RankT5Reranker<String> reranker = new RankT5Reranker<>(model, a.rerankCutoff, text, plain);
    Driver.Progress progress = new Driver.Progress(NAME, err, a.quiet, topics.size());
    List<Callable<String>> tasks = new ArrayList<>();
    for (Map.Entry<String, String> t : topics.entrySet()) {
      tasks.add(() -> {
        long t0 = System.nanoTime();
        ScoredDocs hits = first.search(t.getValue(), a.hits);
        progress.firstStageNanos.add(System.nanoTime() - t0);
        RerankerContext<String> context = new RerankerContext<>(first.searcher(), t.getKey(), null, null,
            t.getValue(), null, null, null);
        ScoredDocs out = reranker.rerank(hits, context);
        return TrecRun.block(t.getKey(), out.docids, out.scores, out.docids.length, a.runtag);
      });
    }
    Path output = Driver.path(a.output);
    try (RunWriter writer = RunWriter.create(output)) {
      try {
        Ordered.run(a.threads, tasks, block -> {
          long t0 = System.nanoTime();
          writer.write(block);
          progress.writeNanos.add(System.nanoTime() - t0);
          progress.advance(1);
        });
      } catch (Exception e) {
        writer.discard(); // nothing to resume from: leave no partial run behind
        throw e;
      }
      writer.commit();
    }
    progress.textNanos.add(reranker.textNanos());
    err.println(NAME + ": first stage " + first.description + ", reranker " + reranker.tag());
    progress.summary(model, reranker.pairs());
  }
}
