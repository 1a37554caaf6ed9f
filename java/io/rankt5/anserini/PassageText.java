package io.rankt5.anserini;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.Closeable;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.apache.lucene.document.Document;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexReader;
import org.apache.lucene.index.Term;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.TermQuery;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.store.FSDirectory;

/**
 * Where the reranker reads passage text: a Lucene index (Anserini's: the {@code id} field names the document) or an
 * MS MARCO-style TSV collection ({@code docid \t text}).
 *
 * <p>From a Lucene document the text is, in order: the stored field (default {@code contents}); else that key of the
 * stored {@code raw} JSON (Anserini's prebuilt MS MARCO indexes store only {@code raw}, as
 * {@code {"id": ..., "contents": ...}}); else {@code raw} itself.
 */
public abstract class PassageText implements Closeable {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** Thrown when a document has no text to rerank, or is not in the text source. */
  public static final class MissingTextException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    MissingTextException(String message) {
      super(message);
    }
  }

  /** The text of a document; {@code doc} is the first stage's stored document when it has one, else null. */
  public abstract String text(String docid, Document doc) throws IOException;

  /** Text from a Lucene document's stored fields, as described in the class comment. */
  public static String fromDocument(Document doc, String field) {
    String text = doc.get(field);
    if (text != null) {
      return text;
    }
    String raw = doc.get("raw");
    if (raw == null) {
      return null;
    }
    if (raw.startsWith("{")) {
      try {
        JsonNode node = JSON.readTree(raw);
        JsonNode value = node.get(field);
        if (value != null && value.isTextual()) {
          return value.asText();
        }
      } catch (IOException notJson) {
        // plain text that happens to start with '{'
      }
    }
    return raw;
  }

  /** Text of the documents the first stage hands over, fetched from their own index when not stored with them. */
  public static PassageText ofSearchedIndex(String field) {
    return new PassageText() {
      @Override
      public String text(String docid, Document doc) {
        String text = doc == null ? null : fromDocument(doc, field);
        if (text == null) {
          throw new MissingTextException("document " + docid + " has no stored '" + field + "' or 'raw' field"
              + " (index with -storeContents or -storeRaw, or give a text index)");
        }
        return text;
      }

      @Override
      public void close() {}
    };
  }

  /** Text looked up by docid in another Lucene index (e.g. the BM25 index beside an impact index). */
  public static PassageText ofIndex(Path index, String field) throws IOException {
    if (!Files.isDirectory(index)) {
      throw new IOException("text index " + index + " does not exist");
    }
    IndexReader reader = DirectoryReader.open(FSDirectory.open(index));
    IndexSearcher searcher = new IndexSearcher(reader);
    return new PassageText() {
      @Override
      public String text(String docid, Document ignored) throws IOException {
        TopDocs hit = searcher.search(new TermQuery(new Term("id", docid)), 1);
        if (hit.scoreDocs.length == 0) {
          throw new MissingTextException("document " + docid + " is not in the text index " + index);
        }
        Document doc = searcher.storedFields().document(hit.scoreDocs[0].doc);
        String text = fromDocument(doc, field);
        if (text == null) {
          throw new MissingTextException("document " + docid + " in " + index + " has no stored '" + field
              + "' or 'raw' field");
        }
        return text;
      }

      @Override
      public void close() throws IOException {
        reader.close();
      }
    };
  }

  /** Text from a TSV collection {@code docid \t text} (MS MARCO's collection.tsv), read into memory. */
  public static PassageText ofTsv(Path tsv) throws IOException {
    Map<String, String> texts = new HashMap<>();
    try (BufferedReader in = Files.newBufferedReader(tsv, StandardCharsets.UTF_8)) {
      String line;
      int lineNo = 0;
      while ((line = in.readLine()) != null) {
        lineNo++;
        int tab = line.indexOf('\t');
        if (tab <= 0) {
          throw new IOException(tsv + ": line " + lineNo + ": expected 'docid<TAB>text'");
        }
        texts.put(line.substring(0, tab), line.substring(tab + 1));
      }
    }
    return new PassageText() {
      @Override
      public String text(String docid, Document ignored) {
        String text = texts.get(docid);
        if (text == null) {
          throw new MissingTextException("document " + docid + " is not in the collection " + tsv);
        }
        return text;
      }

      @Override
      public void close() {}
    };
  }
}
