package io.rankt5.anserini;

import io.anserini.index.IndexCollection;
import io.rankt5.TestFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.kohsuke.args4j.CmdLineParser;

/**
 * Indexes of the demo collection (tests/fixtures/demo/collection.tsv) built with Anserini's own IndexCollection, once
 * per JVM, in a temporary folder:
 *
 * <ul>
 *   <li>{@code bm25}: JsonCollection with {@code -storeRaw} only, so passage text comes from the raw JSON's
 *       {@code contents}, as in Anserini's prebuilt MS MARCO indexes;
 *   <li>{@code impact}: JsonVectorCollection {@code -impact -pretokenized}, no stored text; each passage's vector is
 *       its lower-cased words with their counts as impacts (a stand-in for SPLADE's);
 *   <li>{@code topics.encoded.tsv}: the demo queries encoded the same way (a word repeated per unit of weight).
 * </ul>
 */
public final class AnseriniFixture {
  final Path dir;
  public final Path bm25;
  final Path impact;
  final Path encodedTopics;
  final Map<String, String> passages = new LinkedHashMap<>();
  final Map<String, String> queries = new LinkedHashMap<>();

  private static AnseriniFixture instance;

  public static synchronized AnseriniFixture get() throws Exception {
    if (instance == null) {
      instance = new AnseriniFixture(Files.createTempDirectory("rankt5-anserini-test"));
    }
    return instance;
  }

  private AnseriniFixture(Path dir) throws Exception {
    this.dir = dir;
    for (String line : Files.readAllLines(TestFiles.demo("collection.tsv"))) {
      String[] f = line.split("\t", 2);
      passages.put(f[0], f[1]);
    }
    for (String line : Files.readAllLines(TestFiles.demo("queries.tsv"))) {
      String[] f = line.split("\t", 2);
      queries.put(f[0], f[1]);
    }
    Path json = Files.createDirectories(dir.resolve("json"));
    Path vectors = Files.createDirectories(dir.resolve("vectors"));
    StringBuilder j = new StringBuilder();
    StringBuilder v = new StringBuilder();
    for (Map.Entry<String, String> p : passages.entrySet()) {
      j.append("{\"id\": ").append(TestFiles.json(p.getKey())).append(", \"contents\": ")
          .append(TestFiles.json(p.getValue())).append("}\n");
      v.append("{\"id\": ").append(TestFiles.json(p.getKey())).append(", \"contents\": \"\", \"vector\": {");
      int k = 0;
      for (Map.Entry<String, Integer> w : weights(p.getValue()).entrySet()) {
        v.append(k++ > 0 ? ", " : "").append(TestFiles.json(w.getKey())).append(": ").append(w.getValue());
      }
      v.append("}}\n");
    }
    Files.writeString(json.resolve("docs.jsonl"), j, StandardCharsets.UTF_8);
    Files.writeString(vectors.resolve("docs.jsonl"), v, StandardCharsets.UTF_8);
    bm25 = dir.resolve("bm25");
    impact = dir.resolve("impact");
    index("-collection", "JsonCollection", "-input", json.toString(), "-index", bm25.toString(),
        "-generator", "DefaultLuceneDocumentGenerator", "-threads", "1", "-storeRaw", "-quiet");
    index("-collection", "JsonVectorCollection", "-input", vectors.toString(), "-index", impact.toString(),
        "-generator", "DefaultLuceneDocumentGenerator", "-threads", "1", "-impact", "-pretokenized", "-quiet");
    encodedTopics = dir.resolve("topics.encoded.tsv");
    StringBuilder t = new StringBuilder();
    for (Map.Entry<String, String> q : queries.entrySet()) {
      t.append(q.getKey()).append('\t').append(String.join(" ", encoded(q.getValue()))).append('\n');
    }
    Files.writeString(encodedTopics, t, StandardCharsets.UTF_8);
  }

  private static void index(String... argv) throws Exception {
    IndexCollection.Args args = new IndexCollection.Args();
    new CmdLineParser(args).parseArgument(argv);
    new IndexCollection(args).run();
  }

  /** Lower-cased alphanumeric words and their counts. */
  static Map<String, Integer> weights(String text) {
    Map<String, Integer> w = new TreeMap<>();
    for (String word : text.toLowerCase(Locale.ROOT).split("[^a-z0-9]+")) {
      if (!word.isEmpty()) {
        w.merge(word, 1, Integer::sum);
      }
    }
    return w;
  }

  /** A query as pre-encoded impact tokens: each word repeated once per unit of weight. */
  static List<String> encoded(String text) {
    List<String> out = new ArrayList<>();
    weights(text).forEach((word, n) -> {
      for (int i = 0; i < n; i++) {
        out.add(word);
      }
    });
    return out;
  }

  Path file(String name) {
    return dir.resolve(name);
  }

  static String read(Path p) throws IOException {
    return Files.readString(p, StandardCharsets.UTF_8);
  }
}
