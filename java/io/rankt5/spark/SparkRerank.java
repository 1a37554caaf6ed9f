package io.rankt5.spark;

import io.rankt5.anserini.Driver;
import io.rankt5.anserini.RunInputArgs;
import io.rankt5.anserini.TrecRun;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkException;
import org.apache.spark.api.java.JavaSparkContext;
import org.kohsuke.args4j.Option;

/**
 * Reranks a TREC run with RankT5 on Apache Spark: RerankRun's inputs and output, spread over a cluster's executors.
 *
 * <pre>
 * spark-submit --class io.rankt5.spark.SparkRerank --jars anserini-fatjar.jar rankt5-anserini.jar \
 *   -run bm25.trec -topics msmarco-passage-dev-subset -index /shared/msmarco-v1-passage \
 *   -model /shared/rankt5-3b.bf16.safetensors -tokenizer /shared/spiece.model -rerankcutoff 100 \
 *   -output /shared/runs/rankt5.trec
 * </pre>
 *
 * <ul>
 *   <li>The run's queries, sorted by id, are cut into parts of {@code -queriesPerPart} queries; each part is one Spark
 *       partition and one task. A task scores its queries' pairs about {@code -groupPairs} at a time.
 *   <li>Each executor JVM loads the model once and its tasks share it ({@link ExecutorResources}); the model's
 *       threads default to the executor's cores.
 *   <li>A finished part is written atomically to {@code OUTPUT.parts/}. Rerunning the same command after a failure or
 *       a kill skips the finished parts; when all are there, OUTPUT is assembled in the run's query order (written
 *       under a temporary name and renamed) and the parts are removed. Its lines are those RerankRun writes.
 *   <li>OUTPUT, the run, the passage text and the model must be reachable at the same paths from the driver and every
 *       executor (shared storage), except a model shipped with {@code --files} (see docs/spark.md).
 * </ul>
 */
public final class SparkRerank {
  static final String NAME = "SparkRerank";

  /** The options: RerankRun's (but -threads, which Spark's executor cores replace), plus the parts and master. */
  public static final class Args extends RunInputArgs {
    @Option(name = "-queriesPerPart", metaVar = "[int]",
        usage = "queries per partition: the unit of work, of parallelism and of restart")
    public int queriesPerPart = 16;

    @Option(name = "-master", metaVar = "[url]", usage = "Spark master, e.g. local[2] (default: spark-submit's)")
    public String master;

    @Option(name = "-testFailFromPart", hidden = true, usage = "tests: parts from this index on fail")
    public int testFailFromPart = -1;

    @Option(name = "-testHangFromPart", hidden = true, usage = "tests: parts from this index on never finish")
    public int testHangFromPart = -1;
  }

  private SparkRerank() {}

  public static void main(String[] argv) {
    System.exit(run(argv, System.err));
  }

  /** Runs the job; returns the exit status (0 ok, 1 error, 2 usage) after printing any error to err. */
  public static int run(String[] argv, PrintStream err) {
    return Driver.main(NAME, err, () -> {
      Args a = new Args();
      Driver.parse(NAME, "Reranks a TREC run with RankT5 on Spark (docs/spark.md).", a, argv, err);
      Driver.checkCommon(a);
      Driver.check(a.index != null || a.collection != null, "give the passage text: -index or -collection");
      Driver.check(a.groupPairs >= 1, "-groupPairs must be at least 1");
      Driver.check(a.queriesPerPart >= 1, "-queriesPerPart must be at least 1");
      Path runPath = Driver.path(a.run);
      if (!Files.isRegularFile(runPath)) {
        throw new Driver.Failure(Driver.EXIT_ERROR, "run " + runPath + " does not exist");
      }
      checkTextSource(a);
      List<TrecRun.Query> run = TrecRun.read(runPath);
      Map<String, String> topics = Driver.topics(a);
      for (TrecRun.Query q : run) {
        Driver.queryText(topics, q.qid(), "the topics " + String.join(",", a.topics));
      }
      rerank(a, sparkConf(a), run, topics, err);
    });
  }

  private static void checkTextSource(Args a) throws Driver.Failure {
    if (a.index != null && !Files.isDirectory(Driver.path(a.index))) {
      throw new Driver.Failure(Driver.EXIT_ERROR, "text index " + a.index + " does not exist");
    }
    if (a.collection != null && !Files.isRegularFile(Driver.path(a.collection))) {
      throw new Driver.Failure(Driver.EXIT_ERROR, "collection " + a.collection + " does not exist");
    }
  }

  private static void rerank(Args a, SparkConf conf, List<TrecRun.Query> run, Map<String, String> topics,
      PrintStream err) throws Exception {
    Path output = Driver.path(a.output).toAbsolutePath();
    Path partsDir = RerankPlan.partsDir(output);
    List<RerankPlan.Part> parts = RerankPlan.parts(run, topics, a.queriesPerPart);
    RerankPlan.checkPlan(partsDir, plan(a, run, topics, parts));
    List<RerankPlan.Part> todo = parts.stream().filter(p -> !RerankPlan.finished(partsDir, p)).toList();
    if (todo.size() < parts.size()) {
      err.println(NAME + ": " + (parts.size() - todo.size()) + " of " + parts.size() + " parts finished earlier: "
          + "skipping them");
    }
    if (!todo.isEmpty()) {
      runJob(a, conf, todo, partsDir, parts.size(), err);
    }
    long lines = RerankPlan.assemble(run, parts, partsDir, output, a.hits);
    RerankPlan.removeParts(partsDir);
    err.println(NAME + ": wrote " + output + " (" + run.size() + " queries, " + lines + " lines)");
  }

  /** What decides the run's lines; a rerun must match it to reuse the parts. */
  private static String plan(Args a, List<TrecRun.Query> run, Map<String, String> topics,
      List<RerankPlan.Part> parts) {
    StringBuilder b = new StringBuilder();
    b.append("run ").append(RerankPlan.runDigest(run, topics)).append('\n');
    b.append("model ").append(a.model).append('\n');
    b.append("tokenizer ").append(a.tokenizer).append('\n');
    b.append("dtype ").append(a.dtype).append('\n');
    b.append("maxLength ").append(a.maxLength).append('\n');
    b.append("template ").append(a.template).append('\n');
    b.append("text ").append(a.index != null ? "index " + a.index : "collection " + a.collection)
        .append(" field ").append(a.field).append('\n');
    b.append("rerankcutoff ").append(a.rerankCutoff).append('\n');
    b.append("hits ").append(a.hits).append('\n');
    b.append("runtag ").append(a.runtag).append('\n');
    b.append("queriesPerPart ").append(a.queriesPerPart).append('\n');
    for (RerankPlan.Part p : parts) {
      b.append(p.id()).append('\n');
    }
    return b.toString();
  }

  /** The job's Spark configuration: spark-submit's (system properties), -master if given. */
  private static SparkConf sparkConf(Args a) throws Driver.Failure {
    SparkConf conf = new SparkConf().setAppName("rankt5 SparkRerank " + Driver.path(a.output).getFileName());
    if (a.master != null) {
      conf.setMaster(a.master);
    } else if (!conf.contains("spark.master")) {
      throw new Driver.Failure(Driver.EXIT_USAGE, "no Spark master: submit with spark-submit, or give -master "
          + "local[N] to run in this JVM");
    }
    return conf;
  }

  private static void runJob(Args a, SparkConf conf, List<RerankPlan.Part> todo, Path partsDir, int total,
      PrintStream err) throws Exception {
    int threads = a.modelThreads > 0 ? a.modelThreads : executorCores(conf);
    PartTask.Job job = new PartTask.Job(partsDir.toString(),
        new ExecutorResources.ModelSpec(a.model, a.tokenizer, a.dtype, threads, a.maxLength, a.batchTokens,
            a.template),
        new ExecutorResources.TextSpec(a.index, a.collection, a.field), a.rerankCutoff, a.hits, a.runtag,
        a.groupPairs, a.testFailFromPart, a.testHangFromPart);
    long pairs = todo.stream().mapToLong(p -> p.pairs(a.rerankCutoff)).sum();
    long t0;
    double secs;
    List<PartTask.Done> done;
    try (JavaSparkContext sc = new JavaSparkContext(conf)) {
      sc.setJobDescription("rerank " + todo.size() + " parts, " + pairs + " pairs");
      t0 = System.nanoTime();
      done = sc.parallelize(todo, todo.size()).map(p -> PartTask.run(p, job)).collect();
      secs = (System.nanoTime() - t0) / 1e9;
    } catch (Exception e) {
      if (!(e instanceof SparkException)) { // Scala code throws it undeclared
        throw e;
      }
      long finished = Math.max(0, total - todo.size()) + countFinished(partsDir, todo);
      throw new Driver.Failure(Driver.EXIT_ERROR, "the Spark job failed: " + rootMessage(e) + " (" + finished + " of "
          + total + " parts are done; rerun the same command to continue)");
    }
    long scored = done.stream().mapToLong(PartTask.Done::pairs).sum();
    long span = done.stream().mapToLong(PartTask.Done::endMillis).max().orElse(0)
        - done.stream().filter(d -> d.pairs() > 0).mapToLong(PartTask.Done::readyMillis).min().orElse(0);
    err.printf("%s: %d parts, %d pairs in %.2f s (%.1f pairs/s, model threads per executor: %s); from the model"
            + " ready to the last task's end %.2f s (%.1f pairs/s)%n", NAME, done.size(), scored, secs, scored / secs,
        threads == 0 ? "all cores" : threads, span / 1e3, scored / Math.max(1e-3, span / 1e3));
  }

  private static long countFinished(Path partsDir, List<RerankPlan.Part> parts) {
    return parts.stream().filter(p -> RerankPlan.finished(partsDir, p)).count();
  }

  /** The model's threads on each executor: spark.executor.cores, or N of local[N]; 0 (every core) otherwise. */
  static int executorCores(SparkConf conf) {
    if (conf.contains("spark.executor.cores")) {
      return Integer.parseInt(conf.get("spark.executor.cores").trim());
    }
    Matcher m = Pattern.compile("local\\[(\\d+)(,\\d+)?\\]").matcher(conf.get("spark.master", ""));
    return m.matches() ? Integer.parseInt(m.group(1)) : 0;
  }

  /** The first line of the innermost cause's message: the task's own error, not Spark's stack of wrappers. */
  private static String rootMessage(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    String m = t.getMessage() != null ? t.getMessage() : t.toString();
    int nl = m.indexOf('\n');
    return nl < 0 ? m : m.substring(0, nl);
  }
}
