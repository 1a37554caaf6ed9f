package io.rankt5.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.rankt5.TestFiles;
import io.rankt5.anserini.AnseriniFixture;
import io.rankt5.anserini.RerankRun;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SparkRerank in Spark local mode ({@code local[2]}) on the demo model: its run is byte for byte RerankRun's on the
 * same inputs (from the Anserini index and from the TSV collection), and a job that fails or is killed midway,
 * rerun with the same output, skips the parts it finished and still writes RerankRun's run.
 *
 * <p>The run reranked holds every demo passage for every demo query (150 pairs) in an order unrelated to their
 * scores, so reranking, the cutoff and the hits all change the lines.
 */
class SparkRerankTest {
  private static final int QUERIES = 5;
  private static Path dir;
  private static Path run;
  private static String reference;

  @BeforeAll
  static void setUp() throws Exception {
    dir = Files.createTempDirectory("rankt5-spark-test");
    run = dir.resolve("all.trec");
    List<String> docids = Files.readAllLines(TestFiles.demo("collection.tsv")).stream()
        .map(l -> l.split("\t", 2)[0]).toList();
    StringBuilder b = new StringBuilder();
    for (String line : Files.readAllLines(TestFiles.demo("queries.tsv"))) {
      String qid = line.split("\t", 2)[0];
      int offset = Math.floorMod(qid.hashCode(), docids.size());
      for (int i = 0; i < docids.size(); i++) {
        String docid = docids.get((i * 7 + offset) % docids.size()); // 7 is prime to 30: a permutation
        b.append(qid).append(" Q0 ").append(docid).append(' ').append(i + 1).append(' ')
            .append(30 - i).append(".5 bm25\n");
      }
    }
    Files.writeString(run, b.toString());
    Path ref = dir.resolve("rerankrun.trec");
    Outcome r = call(RerankRun::run, common("-collection", TestFiles.demo("collection.tsv").toString(), "-output",
        ref.toString()));
    assertEquals(0, r.status(), r.err());
    reference = Files.readString(ref);
    assertEquals(QUERIES * 25, reference.lines().count());
  }

  interface Main {
    int run(String[] argv, PrintStream err);
  }

  record Outcome(int status, String err) {}

  static Outcome call(Main main, String... argv) {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status = main.run(argv, new PrintStream(err, true, StandardCharsets.UTF_8));
    return new Outcome(status, err.toString(StandardCharsets.UTF_8));
  }

  /** The inputs both drivers share: 20 of the 30 documents reranked, 25 written. */
  static String[] common(String... more) {
    List<String> a = new ArrayList<>(List.of("-run", run.toString(), "-topics",
        TestFiles.demo("queries.tsv").toString(), "-topicReader", "TsvString", "-model",
        TestFiles.demoModel().toString(), "-tokenizer", TestFiles.spiece().toString(), "-rerankcutoff", "20",
        "-hits", "25", "-runtag", "rankt5-demo", "-quiet"));
    a.addAll(List.of(more));
    return a.toArray(new String[0]);
  }

  static String[] spark(Path out, String... more) {
    List<String> a = new ArrayList<>(Arrays.asList(common("-collection", TestFiles.demo("collection.tsv").toString(),
        "-master", "local[2]", "-queriesPerPart", "1", "-output", out.toString())));
    a.addAll(List.of(more));
    return a.toArray(new String[0]);
  }

  static List<Path> parts(Path out) throws Exception {
    Path parts = RerankPlan.partsDir(out.toAbsolutePath());
    if (!Files.isDirectory(parts)) {
      return List.of();
    }
    try (Stream<Path> s = Files.list(parts)) {
      return s.filter(p -> p.getFileName().toString().matches("part-\\d{5}-[0-9a-f]{8}\\.trec")).sorted().toList();
    }
  }

  static Map<Path, String> contents(List<Path> files) throws Exception {
    Map<Path, String> m = new LinkedHashMap<>();
    for (Path p : files) {
      m.put(p, Files.readString(p));
    }
    return m;
  }

  @Test
  void sameLinesAsRerankRunFromTheIndexAndFromTheTsv(@TempDir Path tmp) throws Exception {
    Path fromIndex = tmp.resolve("index.trec");
    Outcome r = call(SparkRerank::run, common("-index", AnseriniFixture.get().bm25.toString(), "-master", "local[2]",
        "-queriesPerPart", "2", "-groupPairs", "30", "-output", fromIndex.toString()));
    assertEquals(0, r.status(), r.err());
    assertTrue(r.err().contains("3 parts, 100 pairs"), r.err());
    assertEquals(reference, Files.readString(fromIndex));

    Path fromTsv = tmp.resolve("tsv.trec");
    r = call(SparkRerank::run, spark(fromTsv, "-groupPairs", "1000"));
    assertEquals(0, r.status(), r.err());
    assertTrue(r.err().contains("5 parts, 100 pairs"), r.err());
    assertEquals(reference, Files.readString(fromTsv));
    assertFalse(Files.exists(RerankPlan.partsDir(fromTsv)), "the parts are removed once the run is written");
    try (Stream<Path> s = Files.list(tmp)) {
      assertEquals(List.of("index.trec", "tsv.trec"), s.map(p -> p.getFileName().toString()).sorted().toList());
    }
    assertEquals(1, ExecutorResources.modelsLoaded(), "one model in this (local mode) executor for all tasks");
  }

  @Test
  void aFailedJobRerunSkipsTheFinishedPartsAndLosesNoQuery(@TempDir Path tmp) throws Exception {
    Path out = tmp.resolve("out.trec");
    Outcome r = call(SparkRerank::run, spark(out, "-testFailFromPart", "2"));
    assertEquals(1, r.status(), r.err());
    assertTrue(r.err().matches("(?s).*part [2-4] failed on purpose.*") && r.err().contains("rerun the same command"),
        r.err());
    assertFalse(Files.exists(out));
    Map<Path, String> before = contents(parts(out));
    assertTrue(before.size() >= 1 && before.size() <= 2, "parts 0 (and maybe 1) finished: " + before.keySet());
    for (String part : before.values()) {
      assertTrue(reference.contains(part), "a finished part holds RerankRun's lines:\n" + part);
    }

    // the parts are kept for this job only: a rerun with other settings is refused before Spark starts
    r = call(SparkRerank::run, spark(out, "-hits", "10"));
    assertEquals(1, r.status(), r.err());
    assertTrue(r.err().contains("other inputs or settings") && r.err().contains("hits 25")
        && r.err().contains("hits 10"), r.err());
    assertEquals(before, contents(parts(out)));

    r = call(SparkRerank::run, spark(out));
    assertEquals(0, r.status(), r.err());
    assertTrue(r.err().contains(before.size() + " of 5 parts finished earlier"), r.err());
    assertTrue(r.err().contains((5 - before.size()) + " parts, " + (5 - before.size()) * 20 + " pairs"), r.err());
    assertEquals(reference, Files.readString(out));
  }

  @Test
  void aKilledJobRerunCompletesTheRun(@TempDir Path tmp) throws Exception {
    Path out = tmp.resolve("out.trec");
    List<String> cmd = new ArrayList<>();
    cmd.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
        .filter(a -> a.startsWith("--") || a.startsWith("-XX:") || a.startsWith("-Dio.netty")
            || a.startsWith("-Djdk.reflect")).toList());
    for (String p : List.of("rankt5.native.cache", "spark.ui.enabled", "spark.log.level")) {
      if (System.getProperty(p) != null) {
        cmd.add("-D" + p + "=" + System.getProperty(p));
      }
    }
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), SparkRerank.class.getName()));
    cmd.addAll(List.of(spark(out, "-testHangFromPart", "3")));
    Process child = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(tmp.resolve("child.log")
        .toFile()).start();
    try {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
      while (parts(out).size() < 3 && child.isAlive() && System.nanoTime() < deadline) {
        Thread.sleep(100);
      }
      assertTrue(child.isAlive(), "the child ended early:\n" + Files.readString(tmp.resolve("child.log")));
      assertEquals(3, parts(out).size(), Files.readString(tmp.resolve("child.log")));
    } finally {
      child.destroyForcibly().waitFor();
    }
    assertFalse(Files.exists(out));
    Map<Path, String> before = contents(parts(out));

    Outcome r = call(SparkRerank::run, spark(out));
    assertEquals(0, r.status(), r.err());
    assertTrue(r.err().contains("3 of 5 parts finished earlier") && r.err().contains("2 parts, 40 pairs"), r.err());
    assertEquals(reference, Files.readString(out));
    for (String part : before.values()) {
      assertTrue(reference.contains(part));
    }
  }

  @Test
  void badInputEndsWithAClearMessageAndNoRun(@TempDir Path tmp) throws Exception {
    Path out = tmp.resolve("never.trec");
    Outcome r = call(SparkRerank::run, spark(out, "-bogus"));
    assertEquals(2, r.status());
    assertTrue(r.err().contains("\"-bogus\" is not a valid option"), r.err());

    r = call(SparkRerank::run, spark(out, "-queriesPerPart", "0"));
    assertEquals(2, r.status());
    assertTrue(r.err().contains("-queriesPerPart must be at least 1"), r.err());

    r = call(SparkRerank::run, common("-index", tmp.resolve("no-index").toString(), "-master", "local[2]",
        "-output", out.toString()));
    assertEquals(1, r.status());
    assertTrue(r.err().contains("text index") && r.err().contains("does not exist"), r.err());

    Path fewTopics = tmp.resolve("topics.tsv");
    Files.writeString(fewTopics, "1001\thow do bees make honey\n");
    List<String> argv = new ArrayList<>(List.of(spark(out)));
    argv.set(argv.indexOf("-topics") + 1, fewTopics.toString());
    r = call(SparkRerank::run, argv.toArray(new String[0]));
    assertEquals(1, r.status());
    assertTrue(r.err().contains("has no text"), r.err());

    List<String> noMaster = new ArrayList<>(List.of(spark(out)));
    int m = noMaster.indexOf("-master");
    noMaster.subList(m, m + 2).clear();
    r = call(SparkRerank::run, noMaster.toArray(new String[0]));
    assertEquals(2, r.status());
    assertTrue(r.err().contains("no Spark master") && r.err().contains("spark-submit"), r.err());
    assertFalse(Files.exists(RerankPlan.partsDir(out.toAbsolutePath())), "nothing written without a master");
    assertFalse(Files.exists(out));
  }
}
