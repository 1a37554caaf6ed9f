package io.rankt5;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * io.rankt5.RankT5 against the references: Hugging Face's scores of the demo pairs (hf_scores.jsonl, to 1e-5) and
 * the rankt5 CLI on the same pairs and options (bit for bit), for every dtype, both tokenizer families, options,
 * and the text Java cannot hand over as-is.
 */
class RankT5Test {
  private static RankT5 model;

  @BeforeAll
  static void open() {
    model = TestFiles.openDemo(new RankT5.Options().threads(2));
  }

  @AfterAll
  static void close() {
    model.close();
  }

  /** Bit-identical comparison with a readable failure. */
  static void assertSameBits(float[] expected, float[] actual, String what) {
    assertEquals(expected.length, actual.length, what + ": count");
    for (int i = 0; i < expected.length; i++) {
      assertEquals(Float.floatToIntBits(expected[i]), Float.floatToIntBits(actual[i]),
          what + ": score " + i + " " + expected[i] + " vs " + actual[i]);
    }
  }

  private static List<String[]> pairsOf(String query, List<String> docs) {
    List<String[]> pairs = new ArrayList<>();
    for (String d : docs) {
      pairs.add(new String[] {query, d});
    }
    return pairs;
  }

  @Test
  void scoresMatchHuggingFaceWithin1e5AndTheCliBitForBit() throws Exception {
    List<HfFixture> all = HfFixture.load();
    assertTrue(all.size() >= 30, "fixture has " + all.size() + " pairs");
    Map<String, List<HfFixture>> byQuery = HfFixture.byQuery(all);
    List<String> queries = new ArrayList<>();
    List<List<String>> docs = new ArrayList<>();
    List<String[]> pairs = new ArrayList<>();
    for (List<HfFixture> group : byQuery.values()) {
      queries.add(group.get(0).query());
      docs.add(group.stream().map(HfFixture::document).toList());
      group.forEach(f -> pairs.add(new String[] {f.query(), f.document()}));
    }
    float[][] java = model.score(queries, docs);
    float[] cli = TestFiles.cliScore(TestFiles.demoModel(), TestFiles.spiece(), List.of("--threads", "2"), pairs);
    int k = 0;
    float[] flat = new float[pairs.size()];
    for (int q = 0; q < java.length; q++) {
      List<HfFixture> group = byQuery.get(byQuery.keySet().toArray(new String[0])[q]);
      for (int d = 0; d < java[q].length; d++) {
        assertEquals(group.get(d).score(), java[q][d], 1e-5, "HF reference, " + group.get(d).docid());
        flat[k++] = java[q][d];
      }
    }
    assertSameBits(cli, flat, "rankt5 score");
    // one query at a time gives the same bits as all queries in one call
    for (int q = 0; q < queries.size(); q++) {
      assertSameBits(java[q], model.score(queries.get(q), docs.get(q)), "single-query call " + q);
    }
  }

  @Test
  void everyDtypeMatchesTheCliBitForBit() throws Exception {
    List<HfFixture> all = HfFixture.load().subList(0, 12);
    List<String[]> pairs = all.stream().map(f -> new String[] {f.query(), f.document()}).toList();
    for (String dtype : List.of("f32", "bf16", "int8")) {
      try (RankT5 m = TestFiles.openDemo(new RankT5.Options().dtype(dtype).threads(2))) {
        assertEquals(dtype, m.info().computeDtype());
        float[] java = new float[pairs.size()];
        float[][] s = m.score(pairs.stream().map(p -> p[0]).toList(), pairs.stream().map(p -> List.of(p[1])).toList());
        for (int i = 0; i < s.length; i++) {
          java[i] = s[i][0];
        }
        float[] cli = TestFiles.cliScore(TestFiles.demoModel(), TestFiles.spiece(),
            List.of("--dtype", dtype, "--threads", "2"), pairs);
        assertSameBits(cli, java, "dtype " + dtype);
      }
    }
  }

  @Test
  void tokenizerJsonTemplateAndMaxLengthAreHonoured() throws Exception {
    String query = "how do bees make honey";
    List<String> docs = List.of("Worker bees collect nectar from flowers and carry it back to the hive.",
        "The boiling point of water drops by about one degree Celsius for every 300 metres of altitude.");
    String template = "Query: {query} Document: {document} Relevant:";
    try (RankT5 m = RankT5.open(TestFiles.demoModel(), new RankT5.Options().tokenizer(TestFiles.tokenizerJson())
        .maxLength(12).template(template).batchTokens(64).threads(1))) {
      float[] java = m.score(query, docs);
      float[] cli = TestFiles.cliScore(TestFiles.demoModel(), TestFiles.tokenizerJson(),
          List.of("--max-length", "12", "--template", template, "--batch-tokens", "64", "--threads", "1"),
          pairsOf(query, docs));
      assertSameBits(cli, java, "tokenizer.json + template + max length 12");
      assertNotEquals(Float.floatToIntBits(model.score(query, docs)[0]), Float.floatToIntBits(java[0]),
          "the options changed nothing");
    }
  }

  @Test
  void unicodeCrossesAsUtf8LikeTheCliReadsIt() throws Exception {
    String query = "caf\u00e9 \uD83D\uDE00 \u4e2d\u6587";
    List<String> docs = List.of("emoji \uD83D\uDC1D\uD83C\uDF6F and accents na\u00efve r\u00e9sum\u00e9",
        "lone surrogates \uD800 and \uDFFF here", "\u0301 combining first", "");
    float[] java = model.score(query, docs);
    // Java's UTF-8 encoder turns an unpaired surrogate into '?': the CLI gets those same bytes
    List<String[]> asBytes = new ArrayList<>();
    for (String d : docs) {
      asBytes.add(new String[] {query, new String(d.getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8)});
    }
    assertSameBits(TestFiles.cliScore(TestFiles.demoModel(), TestFiles.spiece(), List.of("--threads", "2"),
        asBytes), java, "unicode");
  }

  @Test
  void nulCharactersAreTextNotTerminators() throws Exception {
    String query = "nul\u0000inside";
    String doc = "before\u0000after the nul";
    float with = model.score(query, List.of(doc))[0];
    // rankt5 score's JSON reader refuses U+0000, so the CLI reference is tokenize (which takes it) + score ids
    String ids = TestFiles.cliTokenizePair(TestFiles.spiece(), query, doc);
    float[] cli = TestFiles.cliScoreLines(TestFiles.demoModel(), TestFiles.spiece(), List.of("--threads", "2"),
        ("{\"ids\": " + ids + "}\n").getBytes(StandardCharsets.UTF_8));
    assertSameBits(cli, new float[] {with}, "U+0000");
    float cut = model.score("nul", List.of("before"))[0];
    assertNotEquals(Float.floatToIntBits(cut), Float.floatToIntBits(with), "text after U+0000 was dropped");
  }

  @Test
  void emptyStringsAndEmptyListsAreScored() throws Exception {
    float[] java = model.score("", List.of("", "a passage"));
    assertSameBits(TestFiles.cliScore(TestFiles.demoModel(), TestFiles.spiece(), List.of("--threads", "2"),
        List.of(new String[] {"", ""}, new String[] {"", "a passage"})), java, "empty strings");
    assertEquals(0, model.score("q", List.of()).length);
    float[][] none = model.score(List.of(), List.of());
    assertEquals(0, none.length);
  }

  @Test
  void megabyteDocumentsAreTruncatedLikeTheCli() throws Exception {
    StringBuilder b = new StringBuilder();
    while (b.length() < 1 << 20) {
      b.append("Bees turn nectar into honey by evaporation and enzymes. ");
    }
    String big = b.toString();
    float[] java = model.score("how do bees make honey", List.of(big, "short"));
    assertSameBits(TestFiles.cliScore(TestFiles.demoModel(), TestFiles.spiece(), List.of("--threads", "2"),
        pairsOf("how do bees make honey", List.of(big, "short"))), java, "1 MB document");
  }

  @Test
  void nullsAreRejectedWithTheirPosition() {
    assertThrows(NullPointerException.class, () -> model.score(null, List.of("x")));
    List<String> withNull = new ArrayList<>(List.of("a"));
    withNull.add(null);
    NullPointerException e = assertThrows(NullPointerException.class, () -> model.score("q", withNull));
    assertTrue(e.getMessage().contains("document 1"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> model.score(List.of("a", "b"), List.of(List.of("x"))));
  }

  @Test
  void infoDescribesTheModelAndEngine() {
    RankT5.Info info = model.info();
    assertEquals(16, info.dModel());
    assertEquals(2, info.nLayers());
    assertEquals(32128, info.vocabSize());
    assertEquals("f32", info.computeDtype());
    assertTrue(info.bytesMapped() > 1_000_000, "bytes mapped " + info.bytesMapped());
    assertEquals(2, info.threads());
    assertEquals(512, info.maxLength());
    assertEquals(4096, info.batchTokens());
    assertEquals(RankT5.libraryVersion(), info.libraryVersion());
    String explicit = System.getProperty("rankt5.native.lib");
    assertTrue(info.libraryLoadedFrom().startsWith(explicit == null ? "jar" : "-Drankt5.native.lib"),
        info.libraryLoadedFrom());
    assertEquals("model", model.name());
  }

  @Test
  void missingCorruptAndMismatchedFilesGiveClearExceptions(@TempDir Path dir) throws Exception {
    Path missing = dir.resolve("no-such-model.safetensors");
    RankT5Exception e = assertThrows(RankT5Exception.class,
        () -> RankT5.open(missing, new RankT5.Options().tokenizer(TestFiles.spiece())));
    assertEquals(RankT5Exception.Status.IO, e.status());
    assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());

    Path corrupt = dir.resolve("corrupt.safetensors");
    Files.write(corrupt, "{\"this is\": not a safetensors header".getBytes(StandardCharsets.UTF_8));
    e = assertThrows(RankT5Exception.class,
        () -> RankT5.open(corrupt, new RankT5.Options().tokenizer(TestFiles.spiece())));
    assertTrue(e.code() < 0 && e.getMessage().contains("corrupt.safetensors"), e.getMessage());

    Path truncated = dir.resolve("truncated.safetensors");
    byte[] real = Files.readAllBytes(TestFiles.demoModel().resolve("model.safetensors"));
    Files.write(truncated, java.util.Arrays.copyOf(real, real.length / 2));
    e = assertThrows(RankT5Exception.class,
        () -> RankT5.open(truncated, new RankT5.Options().tokenizer(TestFiles.spiece())));
    assertTrue(e.getMessage().contains("truncated.safetensors"), e.getMessage());

    // a tokenizer that is not one: the model's config.json, and a folder without spiece.model/tokenizer.json
    e = assertThrows(RankT5Exception.class, () -> RankT5.open(TestFiles.demoModel(),
        new RankT5.Options().tokenizer(TestFiles.demoModel().resolve("config.json"))));
    assertTrue(e.getMessage().contains("config.json"), e.getMessage());
    e = assertThrows(RankT5Exception.class, () -> RankT5.open(TestFiles.demoModel()));
    assertTrue(e.getMessage().contains("tokenizer"), e.getMessage());

    e = assertThrows(RankT5Exception.class, () -> TestFiles.openDemo(new RankT5.Options().dtype("f64")));
    assertEquals(RankT5Exception.Status.INVALID_ARGUMENT, e.status());
    assertTrue(e.getMessage().contains("f64"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> new RankT5.Options().maxLength(1));
  }

  @Test
  void aNonAsciiPathReachesTheMessageIntact(@TempDir Path dir) {
    Path odd = dir.resolve("mod\u00e8le \uD83D\uDC1D.safetensors");
    RankT5Exception e = assertThrows(RankT5Exception.class,
        () -> RankT5.open(odd, new RankT5.Options().tokenizer(TestFiles.spiece())));
    assertTrue(e.getMessage().contains("mod\u00e8le \uD83D\uDC1D.safetensors"), e.getMessage());
  }

  @Test
  void aClosedHandleThrowsIllegalState() {
    RankT5 m = TestFiles.openDemo(new RankT5.Options().threads(1));
    float[] before = m.score("q", List.of("d"));
    m.close();
    m.close(); // a second close does nothing
    assertTrue(m.isClosed());
    assertThrows(IllegalStateException.class, () -> m.score("q", List.of("d")));
    assertThrows(IllegalStateException.class, m::info);
    assertArrayEquals(before, model.score("q", List.of("d")));
  }
}
