package io.rankt5.anserini;

import io.anserini.rerank.Reranker;
import io.anserini.rerank.RerankerContext;
import io.anserini.search.ScoredDocs;
import io.rankt5.RankT5;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.LongAdder;
import org.apache.lucene.document.Document;

/**
 * An Anserini {@link Reranker} that rescores the first {@code cutoff} documents of a ranking with a RankT5
 * cross-encoder and puts them in the order of its logits.
 *
 * <pre>{@code
 * RankT5 model = RankT5.open(Path.of("models/rankt5-3b"));
 * RerankerCascade<String> cascade = new RerankerCascade<String>("rankt5").add(new RankT5Reranker<>(model, 100));
 * ScoredDocs reranked = cascade.run(bm25Docs, context);
 * }</pre>
 *
 * <ul>
 *   <li>The query is {@link RerankerContext#getQueryText()}, or the text {@link #queries} gives for the query id (for
 *       impact search, where the context holds the pre-encoded query).
 *   <li>Passage text comes from {@link PassageText}: by default the first stage's stored {@code contents}, else the
 *       {@code contents} of its stored {@code raw} JSON, else {@code raw}.
 *   <li>The first {@code cutoff} documents come back sorted by logit (ties keep the first stage's order) with the
 *       logits as scores. The documents past the cutoff follow in their original order, with scores below the
 *       lowest logit ({@code lowest - 1}, {@code lowest - 2}, ...) so that tools that sort by score, as
 *       {@code trec_eval} does, keep that order.
 *   <li>Thread-safe: Anserini's search threads may share one instance (and one model).
 * </ul>
 *
 * @param <T> the query id type of the Anserini topics
 */
public final class RankT5Reranker<T> implements Reranker<T> {
  private final RankT5 model;
  private final int cutoff;
  private final PassageText text;
  private final Map<String, String> queries;
  private final LongAdder textNanos = new LongAdder();
  private final LongAdder pairs = new LongAdder();

  /** Reranks the top {@code cutoff} with text from the searched index's {@code contents} or {@code raw}. */
  public RankT5Reranker(RankT5 model, int cutoff) {
    this(model, cutoff, PassageText.ofSearchedIndex("contents"), null);
  }

  /**
   * @param model the cross-encoder (not closed by this reranker)
   * @param cutoff how many of the top documents to rescore, at least 1
   * @param text where passage text comes from
   * @param queries query text by query id ({@code toString()} of the id); null = the context's query text
   */
  public RankT5Reranker(RankT5 model, int cutoff, PassageText text, Map<String, String> queries) {
    this.model = Objects.requireNonNull(model, "model");
    if (cutoff < 1) {
      throw new IllegalArgumentException("cutoff must be at least 1, not " + cutoff);
    }
    this.cutoff = cutoff;
    this.text = Objects.requireNonNull(text, "text");
    this.queries = queries;
  }

  /** The query text this reranker uses for a context. */
  public String queryText(RerankerContext<T> context) {
    if (queries != null) {
      String q = queries.get(String.valueOf(context.getQueryId()));
      if (q == null) {
        throw new PassageText.MissingTextException("query " + context.getQueryId() + " has no text in the queries");
      }
      return q;
    }
    String q = context.getQueryText();
    if (q == null) {
      throw new PassageText.MissingTextException("query " + context.getQueryId() + " has no text");
    }
    return q;
  }

  @Override
  public ScoredDocs rerank(ScoredDocs docs, RerankerContext<T> context) {
    int n = Math.min(cutoff, docs.docids.length);
    if (n == 0) {
      return docs;
    }
    String query = queryText(context);
    List<String> passages = passages(docs, n);
    float[] logits = model.score(query, passages);
    pairs.add(n);
    return reorder(docs, logits);
  }

  private List<String> passages(ScoredDocs docs, int n) {
    long t0 = System.nanoTime();
    List<String> out = new ArrayList<>(n);
    try {
      for (int i = 0; i < n; i++) {
        Document doc = docs.lucene_documents == null ? null : docs.lucene_documents[i];
        out.add(text.text(docs.docids[i], doc));
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read passage text: " + e.getMessage(), e);
    }
    textNanos.add(System.nanoTime() - t0);
    return out;
  }

  /** The reranked head by logit (stable), then the tail in its order with scores below the head's. */
  static ScoredDocs reorder(ScoredDocs docs, float[] logits) {
    int n = logits.length;
    int total = docs.docids.length;
    Integer[] order = new Integer[n];
    Arrays.setAll(order, i -> i);
    Arrays.sort(order, Comparator.comparingDouble((Integer i) -> -logits[i])); // stable: ties keep their order
    ScoredDocs out = new ScoredDocs();
    out.docids = new String[total];
    out.scores = new float[total];
    out.lucene_docids = docs.lucene_docids == null ? null : new int[total];
    out.lucene_documents = docs.lucene_documents == null ? null : new Document[total];
    float lowest = Float.POSITIVE_INFINITY;
    for (int r = 0; r < total; r++) {
      int from = r < n ? order[r] : r;
      out.docids[r] = docs.docids[from];
      if (r < n) {
        out.scores[r] = logits[from];
        lowest = Math.min(lowest, logits[from]);
      } else {
        out.scores[r] = lowest - (r - n + 1);
      }
      if (out.lucene_docids != null) {
        out.lucene_docids[r] = docs.lucene_docids[from];
      }
      if (out.lucene_documents != null) {
        out.lucene_documents[r] = docs.lucene_documents[from];
      }
    }
    return out;
  }

  /** {@code rankt5(model=NAME,dtype=DTYPE,cutoff=N)}. */
  @Override
  public String tag() {
    return "rankt5(model=" + model.name() + ",dtype=" + model.dtype() + ",cutoff=" + cutoff + ")";
  }

  /** The model this reranker scores with. */
  public RankT5 model() {
    return model;
  }

  /** Nanoseconds spent reading passage text so far (summed over threads). */
  public long textNanos() {
    return textNanos.sum();
  }

  /** Pairs scored so far. */
  public long pairs() {
    return pairs.sum();
  }
}
