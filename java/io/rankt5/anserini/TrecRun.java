package io.rankt5.anserini;

import java.io.BufferedReader;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** TREC run files: {@code qid Q0 docid rank score tag}, read grouped by query in file order. */
public final class TrecRun {
  /** One query's documents, in the order of the file. */
  public record Query(String qid, List<String> docids, float[] scores) {}

  private TrecRun() {}

  /** The queries of a run file in file order; an IOException names the file and line of a malformed line. */
  public static List<Query> read(Path run) throws IOException {
    Map<String, List<String>> docs = new LinkedHashMap<>();
    Map<String, List<Float>> scores = new LinkedHashMap<>();
    try (BufferedReader in = Files.newBufferedReader(run, StandardCharsets.UTF_8)) {
      String line;
      int lineNo = 0;
      String last = null;
      while ((line = in.readLine()) != null) {
        lineNo++;
        if (line.isBlank()) {
          continue;
        }
        String[] f = line.trim().split("\\s+");
        if (f.length != 6) {
          throw new IOException(run + ": line " + lineNo + ": expected 6 fields 'qid Q0 docid rank score tag', found "
              + f.length);
        }
        float score;
        try {
          score = Float.parseFloat(f[4]);
        } catch (NumberFormatException e) {
          throw new IOException(run + ": line " + lineNo + ": score '" + f[4] + "' is not a number");
        }
        if (!f[0].equals(last) && docs.containsKey(f[0])) {
          throw new IOException(run + ": line " + lineNo + ": query " + f[0] + " appears in two separate blocks");
        }
        last = f[0];
        docs.computeIfAbsent(f[0], k -> new ArrayList<>()).add(f[2]);
        scores.computeIfAbsent(f[0], k -> new ArrayList<>()).add(score);
      }
    }
    List<Query> out = new ArrayList<>();
    for (Map.Entry<String, List<String>> e : docs.entrySet()) {
      List<Float> s = scores.get(e.getKey());
      float[] a = new float[s.size()];
      for (int i = 0; i < a.length; i++) {
        a[i] = s.get(i);
      }
      out.add(new Query(e.getKey(), e.getValue(), a));
    }
    return out;
  }

  /** A score as the shortest decimal that reads back as the same float, without exponent. */
  static String formatScore(float score) {
    if (Float.isNaN(score) || Float.isInfinite(score)) {
      return Float.toString(score);
    }
    return new BigDecimal(Float.toString(score)).toPlainString();
  }

  /** The lines of one query's ranking. */
  static String block(String qid, String[] docids, float[] scores, int n, String tag) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < n; i++) {
      b.append(qid).append(" Q0 ").append(docids[i]).append(' ').append(i + 1).append(' ')
          .append(formatScore(scores[i])).append(' ').append(tag).append('\n');
    }
    return b.toString();
  }
}
