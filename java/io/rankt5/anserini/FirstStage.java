package io.rankt5.anserini;

import io.anserini.analysis.DefaultEnglishAnalyzer;
import io.anserini.encoder.sparse.SparseEncoder;
import io.anserini.index.Constants;
import io.anserini.search.ScoredDocs;
import io.anserini.search.query.BagOfWordsQueryGenerator;
import io.anserini.search.similarity.ImpactSimilarity;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.core.WhitespaceAnalyzer;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexReader;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.Sort;
import org.apache.lucene.search.SortField;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.search.similarities.BM25Similarity;
import org.apache.lucene.store.FSDirectory;

/**
 * The first stage of SearchRerank, done as Anserini's SearchCollection does it: a bag-of-words query on
 * {@code contents} ({@link BagOfWordsQueryGenerator}), BM25 with Anserini's analyzer, or impact scoring
 * ({@link ImpactSimilarity}) of pre-encoded queries (repeated tokens = weights, whitespace-split) or of queries
 * encoded by an Anserini sparse query encoder; score ties broken by docid.
 */
final class FirstStage implements Closeable {
  private static final Sort BREAK_SCORE_TIES_BY_DOCID =
      new Sort(SortField.FIELD_SCORE, new SortField(Constants.ID, SortField.Type.STRING_VAL));

  private final IndexReader reader;
  private final IndexSearcher searcher;
  private final Analyzer analyzer;
  private final SparseEncoder encoder;
  private final BagOfWordsQueryGenerator generator = new BagOfWordsQueryGenerator();
  final String description;

  private FirstStage(IndexReader reader, IndexSearcher searcher, Analyzer analyzer, SparseEncoder encoder,
      String description) {
    this.reader = reader;
    this.searcher = searcher;
    this.analyzer = analyzer;
    this.encoder = encoder;
    this.description = description;
  }

  /**
   * @param impact impact scoring (SPLADE, uniCOIL indexes) instead of BM25
   * @param pretokenized queries are already tokens (whitespace-split), as pre-encoded impact topics are
   * @param encoderName an Anserini sparse encoder ({@code io.anserini.encoder.sparse.<name>Encoder}) or null
   */
  static FirstStage open(Path index, boolean impact, boolean pretokenized, float k1, float b, String encoderName)
      throws IOException {
    if (!Files.isDirectory(index)) {
      throw new IOException("index " + index + " does not exist");
    }
    IndexReader reader = DirectoryReader.open(FSDirectory.open(index));
    IndexSearcher searcher = new IndexSearcher(reader);
    searcher.setSimilarity(impact ? new ImpactSimilarity() : new BM25Similarity(k1, b));
    Analyzer analyzer = pretokenized || encoderName != null ? new WhitespaceAnalyzer()
        : DefaultEnglishAnalyzer.newDefaultInstance();
    SparseEncoder encoder = null;
    if (encoderName != null) {
      try {
        encoder = (SparseEncoder) Class.forName("io.anserini.encoder.sparse." + encoderName + "Encoder")
            .getConstructor().newInstance();
      } catch (ReflectiveOperationException | RuntimeException e) {
        reader.close();
        throw new IOException("cannot load the Anserini query encoder " + encoderName + ": " + e, e);
      }
    }
    String what = impact ? "impact" : String.format("bm25(k1=%s,b=%s)", k1, b);
    return new FirstStage(reader, searcher, analyzer, encoder, what + (encoder != null ? "+" + encoderName : ""));
  }

  /** The top {@code hits} documents for one query, with their stored fields. Thread-safe. */
  ScoredDocs search(String queryString, int hits) throws IOException {
    String q = queryString;
    if (encoder != null) {
      try {
        synchronized (encoder) {
          q = SparseEncoder.flatten(encoder.encode(queryString));
        }
      } catch (Exception e) {
        throw new IOException("query encoder failed: " + e, e);
      }
    }
    Query query = generator.buildQuery(Constants.CONTENTS, analyzer, q);
    TopDocs rs = searcher.search(query, hits, BREAK_SCORE_TIES_BY_DOCID, true);
    return ScoredDocs.fromTopDocs(rs, searcher);
  }

  IndexSearcher searcher() {
    return searcher;
  }

  @Override
  public void close() throws IOException {
    reader.close();
  }
}
