package io.rankt5.anserini;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.anserini.search.ScoredDoc;
import io.anserini.search.SimpleImpactSearcher;
import io.anserini.search.SimpleSearcher;
import io.rankt5.HfFixture;
import io.rankt5.TestFiles;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SearchRerank and RerankRun end to end on indexes built by Anserini's IndexCollection: every reranked document is
 * one of the first stage's, the scores are bit-identical to {@code rankt5 score} on the same (query, passage) pairs
 * and within 1e-5 of Hugging Face's, and the order follows the scores.
 */
class AnseriniDriversTest {
  private static AnseriniFixture fx;
  private static Map<String, Double> hf;

  @BeforeAll
  static void setUp() throws Exception {
    fx = AnseriniFixture.get();
    hf = new HashMap<>();
    for (HfFixture f : HfFixture.load()) {
      hf.put(f.qid() + "/" + f.docid(), f.score());
    }
  }

  record Line(String docid, int rank, float score, String tag) {}

  static Map<String, List<Line>> readRun(Path run) throws Exception {
    Map<String, List<Line>> out = new LinkedHashMap<>();
    for (String l : Files.readAllLines(run)) {
      String[] f = l.split(" ");
      assertEquals(6, f.length, l);
      assertEquals("Q0", f[1]);
      out.computeIfAbsent(f[0], k -> new ArrayList<>())
          .add(new Line(f[2], Integer.parseInt(f[3]), Float.parseFloat(f[4]), f[5]));
    }
    return out;
  }

  record Outcome(int status, String err) {}

  static Outcome search(String... argv) {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status = SearchRerank.run(argv, new PrintStream(err, true, StandardCharsets.UTF_8));
    return new Outcome(status, err.toString(StandardCharsets.UTF_8));
  }

  static Outcome rerankRun(String... argv) {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status = RerankRun.run(argv, new PrintStream(err, true, StandardCharsets.UTF_8));
    return new Outcome(status, err.toString(StandardCharsets.UTF_8));
  }

  static String[] modelArgs(String... more) {
    List<String> a = new ArrayList<>(List.of("-model", TestFiles.demoModel().toString(), "-tokenizer",
        TestFiles.spiece().toString(), "-quiet"));
    a.addAll(List.of(more));
    return a.toArray(new String[0]);
  }

  static String[] concat(String[] a, String... b) {
    String[] out = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  /**
   * Checks one query of a reranked run against the first stage's ranking: same documents; the top {@code cutoff}
   * ordered by score with the CLI's bits and Hugging Face's values; the rest in the first stage's order below them.
   */
  static int checkQuery(String qid, List<Line> got, List<String> firstStage, int cutoff) throws Exception {
    assertEquals(firstStage.size(), got.size(), qid + ": number of documents");
    int n = Math.min(cutoff, firstStage.size());
    List<String> head = got.subList(0, n).stream().map(Line::docid).sorted().toList();
    assertEquals(firstStage.subList(0, n).stream().sorted().toList(), head, qid + ": reranked head");
    assertEquals(firstStage.subList(n, firstStage.size()), got.subList(n, got.size()).stream().map(Line::docid)
        .toList(), qid + ": tail in first-stage order");
    List<String[]> pairs = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      pairs.add(new String[] {fx.queries.get(qid), fx.passages.get(got.get(i).docid())});
    }
    float[] cli = TestFiles.cliScore(TestFiles.demoModel(), TestFiles.spiece(), List.of(), pairs);
    int checkedHf = 0;
    for (int i = 0; i < got.size(); i++) {
      Line l = got.get(i);
      assertEquals(i + 1, l.rank(), qid + ": rank");
      if (i > 0) {
        assertTrue(got.get(i - 1).score() >= l.score(), qid + ": scores descend at rank " + l.rank());
      }
      if (i < n) {
        assertEquals(Float.floatToIntBits(cli[i]), Float.floatToIntBits(l.score()),
            qid + "/" + l.docid() + ": " + cli[i] + " from rankt5 score vs " + l.score());
        Double ref = hf.get(qid + "/" + l.docid());
        if (ref != null) {
          assertEquals(ref, l.score(), 1e-5, qid + "/" + l.docid() + " vs Hugging Face");
          checkedHf++;
        }
      }
    }
    return checkedHf;
  }

  @Test
  void searchRerankBm25RerankTheTopOfAnserinisBm25(@TempDir Path tmp) throws Exception {
    Path out = tmp.resolve("bm25-rankt5.trec");
    Outcome r = search(modelArgs("-index", fx.bm25.toString(), "-topics", TestFiles.demo("queries.tsv").toString(),
        "-topicReader", "TsvString", "-bm25", "-hits", "8", "-rerankcutoff", "5", "-threads", "3",
        "-runtag", "demo", "-output", out.toString()));
    assertEquals(0, r.status(), r.err());
    assertTrue(r.err().contains("time split") && r.err().contains("forward"), r.err());
    assertFalse(Files.exists(RunWriter.partialOf(out)));
    Map<String, List<Line>> run = readRun(out);
    assertEquals(fx.queries.keySet(), run.keySet());
    int hfChecked = 0;
    try (SimpleSearcher anserini = new SimpleSearcher(fx.bm25.toString())) {
      for (Map.Entry<String, List<Line>> q : run.entrySet()) {
        List<String> first = Arrays.stream(anserini.search(fx.queries.get(q.getKey()), 8)).map(d -> d.docid).toList();
        hfChecked += checkQuery(q.getKey(), q.getValue(), first, 5);
        assertTrue(q.getValue().stream().allMatch(l -> l.tag().equals("demo")));
      }
    }
    assertTrue(hfChecked >= 10, "only " + hfChecked + " pairs had a Hugging Face reference");
  }

  @Test
  void searchRerankImpactUsesPlainQueriesAndTheTextIndex(@TempDir Path tmp) throws Exception {
    Path out = tmp.resolve("impact-rankt5.trec");
    Outcome r = search(modelArgs("-index", fx.impact.toString(), "-topics", fx.encodedTopics.toString(),
        "-topicReader", "TsvString", "-impact", "-pretokenized", "-queries", TestFiles.demo("queries.tsv").toString(),
        "-textIndex", fx.bm25.toString(), "-hits", "6", "-rerankcutoff", "4", "-output", out.toString()));
    assertEquals(0, r.status(), r.err());
    Map<String, List<Line>> run = readRun(out);
    assertEquals(fx.queries.keySet(), run.keySet());
    try (SimpleImpactSearcher anserini = new SimpleImpactSearcher(fx.impact.toString())) {
      for (Map.Entry<String, List<Line>> q : run.entrySet()) {
        ScoredDoc[] hits = anserini.search(AnseriniFixture.weights(fx.queries.get(q.getKey())), 6);
        checkQuery(q.getKey(), q.getValue(), Arrays.stream(hits).map(d -> d.docid).toList(), 4);
      }
    }
    // the impact index stores no text: without -textIndex the reranker says so
    r = search(modelArgs("-index", fx.impact.toString(), "-topics", fx.encodedTopics.toString(), "-topicReader",
        "TsvString", "-impact", "-pretokenized", "-queries", TestFiles.demo("queries.tsv").toString(),
        "-output", tmp.resolve("x.trec").toString()));
    assertEquals(1, r.status(), r.err());
    assertTrue(r.err().contains("no stored 'contents' or 'raw'") && r.err().contains("text index"), r.err());
    assertFalse(Files.exists(tmp.resolve("x.trec")));
    assertFalse(Files.exists(RunWriter.partialOf(tmp.resolve("x.trec"))));
  }

  @Test
  void rerankRunFromTheIndexOrTheTsvCollection(@TempDir Path tmp) throws Exception {
    Path run = TestFiles.demo("run.bm25.trec");
    Map<String, List<String>> first = new LinkedHashMap<>();
    for (String l : Files.readAllLines(run)) {
      String[] f = l.split("\\s+");
      first.computeIfAbsent(f[0], k -> new ArrayList<>()).add(f[2]);
    }
    String[] common = modelArgs("-run", run.toString(), "-topics", TestFiles.demo("queries.tsv").toString(),
        "-topicReader", "TsvString", "-rerankcutoff", "4", "-groupPairs", "7", "-threads", "2");
    Path fromIndex = tmp.resolve("index.trec");
    Path fromTsv = tmp.resolve("tsv.trec");
    Outcome r = rerankRun(concat(common, "-index", fx.bm25.toString(), "-output", fromIndex.toString()));
    assertEquals(0, r.status(), r.err());
    r = rerankRun(concat(common, "-collection", TestFiles.demo("collection.tsv").toString(), "-output",
        fromTsv.toString()));
    assertEquals(0, r.status(), r.err());
    assertEquals(AnseriniFixture.read(fromIndex), AnseriniFixture.read(fromTsv));
    Map<String, List<Line>> got = readRun(fromIndex);
    assertEquals(first.keySet(), got.keySet());
    int hfChecked = 0;
    for (String qid : first.keySet()) {
      hfChecked += checkQuery(qid, got.get(qid), first.get(qid), 4);
    }
    assertTrue(hfChecked >= 10, "only " + hfChecked + " pairs had a Hugging Face reference");
  }

  @Test
  void resumeContinuesAKilledRunWithoutLosingOrRepeatingAQuery(@TempDir Path tmp) throws Exception {
    String[] common = modelArgs("-run", TestFiles.demo("run.bm25.trec").toString(), "-topics",
        TestFiles.demo("queries.tsv").toString(), "-topicReader", "TsvString", "-collection",
        TestFiles.demo("collection.tsv").toString(), "-rerankcutoff", "3");
    Path full = tmp.resolve("full.trec");
    assertEquals(0, rerankRun(concat(common, "-output", full.toString())).status());
    List<String> lines = Files.readAllLines(full);
    // a run killed while writing its third query: two whole queries and half a line of the third
    Path out = tmp.resolve("resumed.trec");
    int cut = 0;
    String third = lines.get(0).split(" ")[0];
    List<String> qids = new ArrayList<>();
    for (String l : lines) {
      String q = l.split(" ")[0];
      if (!qids.contains(q)) {
        qids.add(q);
      }
      if (qids.size() == 3) {
        third = q;
        break;
      }
      cut++;
    }
    String partial = String.join("\n", lines.subList(0, cut)) + "\n" + lines.get(cut).substring(0, 9);
    Files.writeString(RunWriter.partialOf(out), partial);
    Outcome r = rerankRun(concat(common, "-output", out.toString(), "-resume"));
    assertEquals(0, r.status(), r.err());
    assertTrue(r.err().contains("resuming after 2 finished queries"), r.err());
    assertEquals(AnseriniFixture.read(full), AnseriniFixture.read(out));
    assertFalse(Files.exists(RunWriter.partialOf(out)));
    assertTrue(lines.stream().anyMatch(l -> l.startsWith(qids.get(2) + " ")), third);
    // resuming a finished run does nothing
    r = rerankRun(concat(common, "-output", out.toString(), "-resume"));
    assertEquals(0, r.status(), r.err());
    assertTrue(r.err().contains("nothing to resume"), r.err());
  }

  @Test
  void badInputEndsWithAClearMessageAndNoRun(@TempDir Path tmp) throws Exception {
    Path out = tmp.resolve("never.trec");
    String[] ok = modelArgs("-run", TestFiles.demo("run.bm25.trec").toString(), "-topics",
        TestFiles.demo("queries.tsv").toString(), "-topicReader", "TsvString", "-output", out.toString());

    Outcome r = rerankRun(concat(ok, "-collection", TestFiles.demo("collection.tsv").toString(), "-bogus"));
    assertEquals(2, r.status());
    assertTrue(r.err().contains("\"-bogus\" is not a valid option"), r.err());

    // neither a folder nor a prebuilt label: Anserini's resolver says so
    r = rerankRun(concat(ok, "-index", tmp.resolve("no-index").toString()));
    assertEquals(1, r.status());
    assertTrue(r.err().contains("no-index") && r.err().matches("(?s).*(does not exist|not appear to be a valid index).*"),
        r.err());

    r = search(modelArgs("-index", tmp.resolve("no-index").toString(), "-topics",
        TestFiles.demo("queries.tsv").toString(), "-topicReader", "TsvString", "-output", out.toString()));
    assertEquals(1, r.status());
    assertTrue(r.err().contains("no-index"), r.err());

    Path fewTopics = tmp.resolve("topics.tsv");
    Files.writeString(fewTopics, "1001\thow do bees make honey\n");
    r = rerankRun(modelArgs("-run", TestFiles.demo("run.bm25.trec").toString(), "-topics", fewTopics.toString(),
        "-topicReader", "TsvString", "-collection", TestFiles.demo("collection.tsv").toString(), "-output",
        out.toString()));
    assertEquals(1, r.status());
    assertTrue(r.err().contains("query 1002 has no text"), r.err());

    Path badRun = tmp.resolve("bad.trec");
    Files.writeString(badRun, "1001 Q0 p01 1 3.0 bm25\n1001 Q0 nope 2 2.0 bm25\n");
    r = rerankRun(modelArgs("-run", badRun.toString(), "-topics", TestFiles.demo("queries.tsv").toString(),
        "-topicReader", "TsvString", "-index", fx.bm25.toString(), "-output", out.toString()));
    assertEquals(1, r.status());
    assertTrue(r.err().contains("document nope is not in the text index"), r.err());

    r = rerankRun(concat(modelArgs("-run", TestFiles.demo("run.bm25.trec").toString(), "-topics",
        TestFiles.demo("queries.tsv").toString(), "-topicReader", "TsvString", "-collection",
        TestFiles.demo("collection.tsv").toString(), "-output", out.toString()), "-model",
        tmp.resolve("missing.bin").toString()));
    assertEquals(1, r.status());
    assertTrue(r.err().contains("cannot load the model") && r.err().contains("missing.bin"), r.err());
    assertFalse(Files.exists(out), "a failed run left " + out);
  }
}
