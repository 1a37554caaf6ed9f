package io.rankt5.anserini;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.anserini.rerank.RerankerCascade;
import io.anserini.rerank.RerankerContext;
import io.anserini.search.ScoredDocs;
import io.rankt5.RankT5;
import io.rankt5.TestFiles;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.StoredField;
import org.apache.lucene.document.StringField;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** RankT5Reranker through Anserini's RerankerCascade, on documents as Anserini's indexes store them. */
class RankT5RerankerTest {
  private static RankT5 model;

  @BeforeAll
  static void open() {
    model = TestFiles.openDemo(new RankT5.Options().threads(2));
  }

  @AfterAll
  static void close() {
    model.close();
  }

  private static Document doc(String id, String field, String value) {
    Document d = new Document();
    d.add(new StringField("id", id, Field.Store.YES));
    if (field != null) {
      d.add(new StoredField(field, value));
    }
    return d;
  }

  private static ScoredDocs docs(Document... documents) {
    ScoredDocs s = new ScoredDocs();
    int n = documents.length;
    s.lucene_documents = documents;
    s.docids = new String[n];
    s.lucene_docids = new int[n];
    s.scores = new float[n];
    for (int i = 0; i < n; i++) {
      s.docids[i] = documents[i].get("id");
      s.lucene_docids[i] = 100 + i;
      s.scores[i] = 20 - i;
    }
    return s;
  }

  private static RerankerContext<String> context(String qid, String query) throws Exception {
    return new RerankerContext<>(null, qid, null, null, query, null, null, null);
  }

  @Test
  void textComesFromContentsThenRawJsonThenRaw() throws Exception {
    String query = "how do bees make honey";
    ScoredDocs in = docs(doc("a", "contents", "Worker bees collect nectar."),
        doc("b", "raw", "{\"id\": \"b\", \"contents\": \"Bees fan nectar until it thickens into honey.\"}"),
        doc("c", "raw", "plain raw text about honey"), doc("d", "contents", "not reranked: past the cutoff"),
        doc("e", "contents", "not reranked either"));
    RankT5Reranker<String> reranker = new RankT5Reranker<>(model, 3);
    ScoredDocs out = new RerankerCascade<String>("rankt5").add(reranker).run(in, context("q1", query));
    float[] expected = model.score(query, List.of("Worker bees collect nectar.",
        "Bees fan nectar until it thickens into honey.", "plain raw text about honey"));
    // the head sorted by logit, the tail in its order below the lowest logit
    List<String> head = new ArrayList<>(List.of("a", "b", "c"));
    head.sort((x, y) -> Float.compare(expected[y.charAt(0) - 'a'], expected[x.charAt(0) - 'a']));
    assertEquals(List.of(head.get(0), head.get(1), head.get(2), "d", "e"), List.of(out.docids));
    for (int i = 0; i < 3; i++) {
      int from = out.docids[i].charAt(0) - 'a';
      assertEquals(Float.floatToIntBits(expected[from]), Float.floatToIntBits(out.scores[i]));
      assertEquals(100 + from, out.lucene_docids[i]);
      assertEquals(out.docids[i], out.lucene_documents[i].get("id"));
    }
    assertTrue(out.scores[3] < out.scores[2] && out.scores[4] < out.scores[3]);
    assertEquals("rankt5(model=model,dtype=f32,cutoff=3)", reranker.tag());
    assertEquals(3, reranker.pairs());
  }

  @Test
  void aConfiguredFieldAndQueryMapAreUsed() throws Exception {
    ScoredDocs in = docs(doc("a", "body", "Bees make honey."), doc("b", "body", "Water boils."));
    RankT5Reranker<String> reranker = new RankT5Reranker<>(model, 10, PassageText.ofSearchedIndex("body"),
        Map.of("q7", "how do bees make honey"));
    ScoredDocs out = reranker.rerank(in, context("q7", "bees:3 honey:2 (pre-encoded, not text)"));
    float[] expected = model.score("how do bees make honey", List.of("Bees make honey.", "Water boils."));
    float[] got = new float[2];
    for (int i = 0; i < 2; i++) {
      got[out.docids[i].equals("a") ? 0 : 1] = out.scores[i];
    }
    assertArrayEquals(expected, got);
    assertThrows(PassageText.MissingTextException.class, () -> reranker.rerank(in, context("q8", "x")));
    ScoredDocs noText = docs(doc("z", null, null));
    PassageText.MissingTextException e = assertThrows(PassageText.MissingTextException.class,
        () -> new RankT5Reranker<String>(model, 5).rerank(noText, context("q", "x")));
    assertTrue(e.getMessage().contains("document z"), e.getMessage());
  }

  @Test
  void sharedByEightSearchThreads() throws Exception {
    RankT5Reranker<String> reranker = new RankT5Reranker<>(model, 4);
    ExecutorService pool = Executors.newFixedThreadPool(8);
    List<Future<ScoredDocs>> futures = new ArrayList<>();
    List<ScoredDocs> expected = new ArrayList<>();
    for (int t = 0; t < 8; t++) {
      ScoredDocs in = docs(doc("a" + t, "contents", "bees " + t), doc("b" + t, "contents", "honey " + t),
          doc("c" + t, "contents", "nectar " + t), doc("d" + t, "contents", "hive " + t),
          doc("e" + t, "contents", "water " + t));
      expected.add(reranker.rerank(in, context("q" + t, "query " + t)));
      final int id = t;
      futures.add(pool.submit(() -> reranker.rerank(in, context("q" + id, "query " + id))));
    }
    for (int t = 0; t < 8; t++) {
      ScoredDocs got = futures.get(t).get();
      assertArrayEquals(expected.get(t).docids, got.docids);
      assertArrayEquals(expected.get(t).scores, got.scores);
    }
    pool.shutdown();
  }
}
