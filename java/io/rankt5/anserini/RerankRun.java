package io.rankt5.anserini;

import io.anserini.search.ScoredDocs;
import io.rankt5.RankT5;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.LongAdder;
import org.kohsuke.args4j.Option;

/**
 * Reranks an existing TREC run, from any first stage, with RankT5: the top {@code -rerankcutoff} documents of each
 * query are rescored and sorted by logit; the rest follow in their order (scores below the lowest logit).
 *
 * <pre>
 * java -cp anserini-fatjar.jar:rankt5-anserini.jar io.rankt5.anserini.RerankRun \
 *   -run bm25.trec -topics msmarco-passage-dev-subset -index msmarco-v1-passage \
 *   -model pytorch_model.bin -tokenizer spiece.model -dtype bf16 -rerankcutoff 100 -output rankt5.trec
 * </pre>
 *
 * Passage text comes from {@code -index} (an Anserini index storing contents or raw) or {@code -collection} (a TSV
 * {@code docid \t text}); queries from {@code -topics} with {@code -topicReader} (or Anserini's bundled topic names).
 * The run is written to {@code OUTPUT.partial} one query at a time and renamed at the end; {@code -resume} continues
 * a killed run with the same arguments without losing or repeating a query.
 */
public final class RerankRun {
  static final String NAME = "RerankRun";

  /** RerankRun's options: those of every run-reranking driver, plus resuming. */
  public static final class Args extends RunInputArgs {
    @Option(name = "-resume", usage = "continue a killed run from OUTPUT.partial (same arguments)")
    public boolean resume = false;
  }

  private RerankRun() {}

  public static void main(String[] argv) {
    System.exit(run(argv, System.err));
  }

  /** Runs the driver; returns the exit status (0 ok, 1 error, 2 usage) after printing any error to err. */
  public static int run(String[] argv, PrintStream err) {
    return Driver.main(NAME, err, () -> {
      Args a = new Args();
      Driver.parse(NAME, "Reranks a TREC run with RankT5 (docs/anserini.md).", a, argv, err);
      Driver.checkCommon(a);
      Driver.check(a.index != null || a.collection != null, "give the passage text: -index or -collection");
      Driver.check(a.groupPairs >= 1, "-groupPairs must be at least 1");
      Path runPath = Driver.path(a.run);
      if (!Files.isRegularFile(runPath)) {
        throw new Driver.Failure(Driver.EXIT_ERROR, "run " + runPath + " does not exist");
      }
      List<TrecRun.Query> run = TrecRun.read(runPath);
      Map<String, String> topics = Driver.topics(a);
      for (TrecRun.Query q : run) {
        Driver.queryText(topics, q.qid(), "the topics " + String.join(",", a.topics));
      }
      try (PassageText text = a.index != null ? PassageText.ofIndex(Driver.index(a.index), a.field)
          : PassageText.ofTsv(Driver.path(a.collection)); RankT5 model = Driver.openModel(a)) {
        rerank(a, run, topics, text, model, err);
      }
    });
  }

  private static void rerank(Args a, List<TrecRun.Query> run, Map<String, String> topics, PassageText text,
      RankT5 model, PrintStream err) throws Exception {
    Path output = Driver.path(a.output);
    Map<String, Integer> expected = new LinkedHashMap<>();
    for (TrecRun.Query q : run) {
      expected.put(q.qid(), Math.min(a.hits, q.docids().size()));
    }
    Set<String> done = new HashSet<>();
    if (a.resume && Files.exists(output) && !Files.exists(RunWriter.partialOf(output))) {
      err.println(NAME + ": " + output + " is complete; nothing to resume");
      return;
    }
    if (!a.resume && Files.exists(RunWriter.partialOf(output))) {
      err.println(NAME + ": " + RunWriter.partialOf(output) + " exists from an earlier run: starting over"
          + " (use -resume to continue it)");
    }
    try (RunWriter writer = a.resume ? RunWriter.resume(output, expected, done) : RunWriter.create(output)) {
      if (!done.isEmpty()) {
        err.println(NAME + ": resuming after " + done.size() + " finished queries");
      }
      List<TrecRun.Query> todo = run.stream().filter(q -> !done.contains(q.qid())).toList();
      Driver.Progress progress = new Driver.Progress(NAME, err, a.quiet, todo.size());
      long[] pairs = {0};
      Ordered.run(a.threads, groups(a, todo, topics, text, model, progress), blocks -> {
        long t0 = System.nanoTime();
        for (String b : blocks) {
          writer.write(b);
        }
        progress.writeNanos.add(System.nanoTime() - t0);
        progress.advance(blocks.size());
      });
      writer.commit();
      for (TrecRun.Query q : todo) {
        pairs[0] += Math.min(a.rerankCutoff, q.docids().size());
      }
      progress.summary(model, pairs[0]);
    }
  }

  /** Whole queries grouped to about -groupPairs pairs; each task returns its queries' output blocks. */
  private static List<Callable<List<String>>> groups(Args a, List<TrecRun.Query> todo, Map<String, String> topics,
      PassageText text, RankT5 model, Driver.Progress progress) {
    List<Callable<List<String>>> tasks = new ArrayList<>();
    List<TrecRun.Query> group = new ArrayList<>();
    int pairs = 0;
    for (int i = 0; i < todo.size(); i++) {
      TrecRun.Query q = todo.get(i);
      group.add(q);
      pairs += Math.min(a.rerankCutoff, q.docids().size());
      if (pairs >= a.groupPairs || i == todo.size() - 1) {
        List<TrecRun.Query> mine = List.copyOf(group);
        tasks.add(() -> scoreGroup(a, mine, topics, text, model, progress));
        group.clear();
        pairs = 0;
      }
    }
    return tasks;
  }

  private static List<String> scoreGroup(Args a, List<TrecRun.Query> group, Map<String, String> topics,
      PassageText text, RankT5 model, Driver.Progress progress) throws IOException {
    List<String> queries = new ArrayList<>();
    for (TrecRun.Query q : group) {
      queries.add(topics.get(q.qid()));
    }
    return rerankQueries(group, queries, text, model, a.rerankCutoff, a.hits, a.runtag, progress.textNanos);
  }

  /**
   * Reranks whole queries in one model call and returns each query's output lines, exactly as RerankRun writes
   * them; io.rankt5.spark.SparkRerank scores its partitions with this.
   *
   * @param queryTexts the text of each query of {@code group}, in its order
   * @param textNanos receives the time spent reading passage text, or null
   */
  public static List<String> rerankQueries(List<TrecRun.Query> group, List<String> queryTexts, PassageText text,
      RankT5 model, int rerankCutoff, int hits, String runtag, LongAdder textNanos) throws IOException {
    long t0 = System.nanoTime();
    List<List<String>> docs = new ArrayList<>();
    for (TrecRun.Query q : group) {
      int n = Math.min(rerankCutoff, q.docids().size());
      List<String> passages = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        passages.add(text.text(q.docids().get(i), null));
      }
      docs.add(passages);
    }
    if (textNanos != null) {
      textNanos.add(System.nanoTime() - t0);
    }
    float[][] logits = model.score(queryTexts, docs);
    List<String> blocks = new ArrayList<>();
    for (int k = 0; k < group.size(); k++) {
      TrecRun.Query q = group.get(k);
      ScoredDocs in = new ScoredDocs();
      in.docids = q.docids().toArray(new String[0]);
      in.scores = q.scores();
      ScoredDocs out = RankT5Reranker.reorder(in, logits[k]);
      blocks.add(TrecRun.block(q.qid(), out.docids, out.scores, Math.min(hits, out.docids.length), runtag));
    }
    return blocks;
  }
}
