package io.rankt5.spark;

import io.rankt5.anserini.Driver;
import io.rankt5.anserini.TrecRun;
import java.io.IOException;
import java.io.Serializable;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;
import java.util.zip.CRC32;

/**
 * The parts of a SparkRerank job and their files: which queries each part holds, its id, where its finished lines
 * live, and the final run assembled from them.
 *
 * <p>The run's query ids are sorted and cut into chunks of {@code queriesPerPart}; part {@code i} is named
 * {@code part-<i>-<crc32 of its query ids>}, so the same run and chunk size give the same names on every rerun. A
 * part's file ({@code OUTPUT.parts/<id>.trec}) appears by an atomic rename once all its queries are written, so a
 * part is either finished or absent. {@code OUTPUT.parts/plan.txt} records what the parts were computed from; a rerun
 * with other inputs is refused instead of mixing two jobs' lines.
 */
final class RerankPlan {
  static final String PLAN_FILE = "plan.txt";

  /** One query as a task needs it: its text and the first stage's documents and scores, in run order. */
  record PartQuery(String qid, String text, List<String> docids, float[] scores) implements Serializable {
    TrecRun.Query toRunQuery() {
      return new TrecRun.Query(qid, docids, scores);
    }
  }

  /** One unit of work and of restart: a few whole queries, identified by {@code id}. */
  record Part(int index, String id, List<PartQuery> queries) implements Serializable {
    long pairs(int rerankCutoff) {
      return queries.stream().mapToLong(q -> Math.min(rerankCutoff, q.docids().size())).sum();
    }
  }

  private RerankPlan() {}

  /** Cuts the run, by sorted query id, into parts of {@code queriesPerPart} queries. */
  static List<Part> parts(List<TrecRun.Query> run, Map<String, String> topics, int queriesPerPart) {
    List<TrecRun.Query> sorted = new ArrayList<>(run);
    sorted.sort(Comparator.comparing(TrecRun.Query::qid));
    List<Part> parts = new ArrayList<>();
    for (int start = 0; start < sorted.size(); start += queriesPerPart) {
      List<TrecRun.Query> chunk = sorted.subList(start, Math.min(sorted.size(), start + queriesPerPart));
      CRC32 crc = new CRC32();
      List<PartQuery> queries = new ArrayList<>();
      for (TrecRun.Query q : chunk) {
        crc.update((q.qid() + "\n").getBytes(StandardCharsets.UTF_8));
        queries.add(new PartQuery(q.qid(), topics.get(q.qid()), List.copyOf(q.docids()), q.scores()));
      }
      int index = parts.size();
      parts.add(new Part(index, String.format("part-%05d-%08x", index, crc.getValue()), queries));
    }
    return parts;
  }

  static Path partsDir(Path output) {
    return output.resolveSibling(output.getFileName() + ".parts");
  }

  static Path partFile(Path partsDir, Part part) {
    return partsDir.resolve(part.id() + ".trec");
  }

  /** A digest of everything that decides the lines of a run: the run's documents and scores and the topics used. */
  static String runDigest(List<TrecRun.Query> run, Map<String, String> topics) {
    CRC32 crc = new CRC32();
    for (TrecRun.Query q : run) {
      StringBuilder b = new StringBuilder(q.qid()).append('\t').append(topics.get(q.qid()));
      for (int i = 0; i < q.docids().size(); i++) {
        b.append('\t').append(q.docids().get(i)).append(' ').append(Float.floatToIntBits(q.scores()[i]));
      }
      crc.update(b.append('\n').toString().getBytes(StandardCharsets.UTF_8));
    }
    return String.format("%08x/%d", crc.getValue(), run.size());
  }

  /**
   * Writes {@code plan} into the parts folder, or checks that the one there is the same: parts of a job with other
   * inputs or settings must not be mixed into this one.
   */
  static void checkPlan(Path partsDir, String plan) throws IOException, Driver.Failure {
    Path file = partsDir.resolve(PLAN_FILE);
    if (Files.exists(file)) {
      String old = Files.readString(file, StandardCharsets.UTF_8);
      if (!old.equals(plan)) {
        throw new Driver.Failure(Driver.EXIT_ERROR, partsDir + " holds parts of a job with other inputs or settings ("
            + firstDifference(old, plan) + "): rerun with the same arguments, or remove " + partsDir
            + " to start over");
      }
      return;
    }
    Files.createDirectories(partsDir);
    writeAtomically(file, plan.getBytes(StandardCharsets.UTF_8));
  }

  private static String firstDifference(String old, String now) {
    String[] a = old.split("\n");
    String[] b = now.split("\n");
    for (int i = 0; i < Math.min(a.length, b.length); i++) {
      if (!a[i].equals(b[i])) {
        return "was '" + a[i] + "', now '" + b[i] + "'";
      }
    }
    return "was " + a.length + " lines, now " + b.length;
  }

  static boolean finished(Path partsDir, Part part) {
    return Files.isRegularFile(partFile(partsDir, part));
  }

  /**
   * Writes OUTPUT from the finished parts, in the run's query order, after checking that every query has exactly the
   * lines it should ({@code min(hits, documents)}) and nothing else is there.
   *
   * @return the number of lines written
   */
  static long assemble(List<TrecRun.Query> run, List<Part> parts, Path partsDir, Path output, int hits)
      throws IOException {
    Map<String, String> blocks = new HashMap<>();
    for (Part part : parts) {
      Path file = partFile(partsDir, part);
      Map<String, StringBuilder> byQuery = new LinkedHashMap<>();
      part.queries().forEach(q -> byQuery.put(q.qid(), new StringBuilder()));
      int lineNo = 0;
      for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
        lineNo++;
        int space = line.indexOf(' ');
        StringBuilder b = space > 0 ? byQuery.get(line.substring(0, space)) : null;
        if (b == null) {
          throw new IOException(file + ": line " + lineNo + ": not a line of this part's queries: remove the file"
              + " and rerun");
        }
        b.append(line).append('\n');
      }
      for (PartQuery q : part.queries()) {
        String block = byQuery.get(q.qid()).toString();
        long lines = block.chars().filter(c -> c == '\n').count();
        if (lines != Math.min(hits, q.docids().size())) {
          throw new IOException(file + ": query " + q.qid() + " has " + lines + " lines, not "
              + Math.min(hits, q.docids().size()) + ": remove the file and rerun");
        }
        blocks.put(q.qid(), block);
      }
    }
    StringBuilder out = new StringBuilder();
    long lines = 0;
    for (TrecRun.Query q : run) {
      out.append(blocks.get(q.qid()));
      lines += Math.min(hits, q.docids().size());
    }
    writeAtomically(output, out.toString().getBytes(StandardCharsets.UTF_8));
    return lines;
  }

  /** Writes a file under a temporary name beside it, forces it to disk and renames it into place. */
  static void writeAtomically(Path file, byte[] bytes) throws IOException {
    Path parent = file.toAbsolutePath().getParent();
    Files.createDirectories(parent);
    Path tmp = parent.resolve(file.getFileName() + ".tmp-" + UUID.randomUUID());
    try {
      try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
        ByteBuffer buf = ByteBuffer.wrap(bytes);
        while (buf.hasRemaining()) {
          ch.write(buf);
        }
        ch.force(true);
      }
      try {
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
      }
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  /** Removes the parts folder once the run is assembled. */
  static void removeParts(Path partsDir) throws IOException {
    if (!Files.isDirectory(partsDir)) {
      return;
    }
    try (Stream<Path> files = Files.list(partsDir)) {
      for (Path f : files.toList()) {
        Files.deleteIfExists(f);
      }
    }
    Files.deleteIfExists(partsDir);
  }
}
