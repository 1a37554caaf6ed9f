package io.rankt5.spark;

import io.rankt5.RankT5;
import io.rankt5.anserini.PassageText;
import io.rankt5.anserini.RerankRun;
import io.rankt5.anserini.TrecRun;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.SparkFiles;

/**
 * The executor's side of SparkRerank: reranks one part with the executor's shared model and writes its lines
 * atomically to the part's file. Within a part, whole queries are scored together, about {@code groupPairs} pairs
 * per model call, with the very code RerankRun uses, so the lines are RerankRun's.
 */
final class PartTask {
  /** Everything a task needs besides its part; shipped once per task by Spark. */
  record Job(String partsDir, ExecutorResources.ModelSpec model, ExecutorResources.TextSpec text, int rerankCutoff,
      int hits, String runtag, int groupPairs, int failFromPart, int hangFromPart) implements Serializable {}

  /**
   * What a task did: its part, pairs scored (0 when another attempt had already finished it), and when its model and
   * text were ready and when it ended (wall clock, to compare tasks across executors).
   */
  record Done(int index, long pairs, long readyMillis, long endMillis) implements Serializable {}

  private PartTask() {}

  static Done run(RerankPlan.Part part, Job job) throws Exception {
    Path file = RerankPlan.partFile(Path.of(job.partsDir()), part);
    if (Files.exists(file)) {
      long now = System.currentTimeMillis();
      return new Done(part.index(), 0, now, now); // a retried or speculative attempt of a part that is done
    }
    testHooks(part, job);
    RankT5 model = ExecutorResources.model(resolveShipped(job.model()));
    PassageText text = ExecutorResources.text(job.text());
    long ready = System.currentTimeMillis();
    StringBuilder out = new StringBuilder();
    List<RerankPlan.PartQuery> group = new ArrayList<>();
    int pairs = 0;
    for (int i = 0; i < part.queries().size(); i++) {
      RerankPlan.PartQuery q = part.queries().get(i);
      group.add(q);
      pairs += Math.min(job.rerankCutoff(), q.docids().size());
      if (pairs >= job.groupPairs() || i == part.queries().size() - 1) {
        for (String block : score(group, job, model, text)) {
          out.append(block);
        }
        group.clear();
        pairs = 0;
      }
    }
    RerankPlan.writeAtomically(file, out.toString().getBytes(StandardCharsets.UTF_8));
    return new Done(part.index(), part.pairs(job.rerankCutoff()), ready, System.currentTimeMillis());
  }

  private static List<String> score(List<RerankPlan.PartQuery> group, Job job, RankT5 model, PassageText text)
      throws Exception {
    List<TrecRun.Query> queries = group.stream().map(RerankPlan.PartQuery::toRunQuery).toList();
    List<String> texts = group.stream().map(RerankPlan.PartQuery::text).toList();
    return RerankRun.rerankQueries(queries, texts, text, model, job.rerankCutoff(), job.hits(), job.runtag(), null);
  }

  /**
   * A model or tokenizer given as a bare file name that is not in the working folder is looked up among the files
   * shipped with {@code spark-submit --files}.
   */
  private static ExecutorResources.ModelSpec resolveShipped(ExecutorResources.ModelSpec m) {
    return new ExecutorResources.ModelSpec(shipped(m.model()), m.tokenizer() == null ? null : shipped(m.tokenizer()),
        m.dtype(), m.threads(), m.maxLength(), m.batchTokens(), m.template());
  }

  private static String shipped(String path) {
    Path p = Path.of(path);
    if (Files.exists(p) || p.getParent() != null) {
      return path;
    }
    try {
      String local = SparkFiles.get(path);
      return Files.exists(Path.of(local)) ? local : path;
    } catch (RuntimeException noSparkEnv) {
      return path;
    }
  }

  /** Tests stop a job midway: parts from -testFailFromPart on fail, from -testHangFromPart on never finish. */
  private static void testHooks(RerankPlan.Part part, Job job) throws InterruptedException {
    if (job.failFromPart() >= 0 && part.index() >= job.failFromPart()) {
      throw new IllegalStateException("part " + part.index() + " failed on purpose (-testFailFromPart "
          + job.failFromPart() + ")");
    }
    if (job.hangFromPart() >= 0 && part.index() >= job.hangFromPart()) {
      Thread.sleep(Long.MAX_VALUE);
    }
  }
}
