package io.rankt5.anserini;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Writes a run as {@code OUT.partial}, one whole query at a time, and renames it to {@code OUT} when the last query
 * is written: nothing half-written ever carries the final name.
 *
 * <p>Resuming: the partial file only grows by whole queries (each written and forced to disk in one piece), so a
 * killed run leaves whole queries plus at most one cut one. {@link #resume} keeps the leading queries whose line
 * count is the expected one and cuts the file after them; the caller then skips those queries.
 */
final class RunWriter implements AutoCloseable {
  private final Path output;
  private final Path partial;
  private final FileChannel channel;
  private boolean committed;

  private RunWriter(Path output, FileChannel channel) {
    this.output = output;
    this.partial = partialOf(output);
    this.channel = channel;
  }

  static Path partialOf(Path output) {
    return output.resolveSibling(output.getFileName() + ".partial");
  }

  /** Starts OUT.partial afresh. */
  static RunWriter create(Path output) throws IOException {
    Path parent = output.toAbsolutePath().getParent();
    if (parent != null) {
      Files.createDirectories(parent);
    }
    return new RunWriter(output, FileChannel.open(partialOf(output), StandardOpenOption.CREATE,
        StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING));
  }

  /**
   * Reopens OUT.partial, keeping the whole queries at its start. {@code expected} maps each query id to its number of
   * lines in a finished run, in the run's query order; the partial file must hold a prefix of that order.
   *
   * @param done receives the query ids kept
   */
  static RunWriter resume(Path output, Map<String, Integer> expected, Set<String> done) throws IOException {
    Path partial = partialOf(output);
    if (!Files.exists(partial)) {
      return create(output);
    }
    byte[] bytes = Files.readAllBytes(partial);
    String text = new String(bytes, StandardCharsets.UTF_8);
    List<String> order = List.copyOf(expected.keySet());
    long keep = 0;
    int pos = 0;
    int query = 0;
    Set<String> kept = new LinkedHashSet<>();
    while (pos < text.length() && query < order.size()) {
      String qid = order.get(query);
      int lines = expected.get(qid);
      int end = pos;
      boolean whole = true;
      for (int i = 0; i < lines; i++) {
        int nl = text.indexOf('\n', end);
        if (nl < 0 || !text.startsWith(qid + " ", end)) {
          whole = false;
          break;
        }
        end = nl + 1;
      }
      if (!whole) {
        break;
      }
      kept.add(qid);
      keep += text.substring(pos, end).getBytes(StandardCharsets.UTF_8).length;
      pos = end;
      query++;
    }
    if (pos < text.length() && query < order.size() && kept.isEmpty() && !text.startsWith(order.get(0) + " ")) {
      throw new IOException(partial + " does not start with this run's first query " + order.get(0)
          + ": remove it, or run without -resume to start over");
    }
    FileChannel ch = FileChannel.open(partial, StandardOpenOption.WRITE);
    ch.truncate(keep);
    ch.position(keep);
    done.addAll(kept);
    return new RunWriter(output, ch);
  }

  /** Appends one query's lines and forces them to disk. */
  void write(String block) throws IOException {
    ByteBuffer buf = ByteBuffer.wrap(block.getBytes(StandardCharsets.UTF_8));
    while (buf.hasRemaining()) {
      channel.write(buf);
    }
    channel.force(false);
  }

  /** Renames OUT.partial to OUT. */
  void commit() throws IOException {
    channel.force(true);
    channel.close();
    try {
      Files.move(partial, output, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(partial, output, StandardCopyOption.REPLACE_EXISTING);
    }
    committed = true;
  }

  /** Closes and deletes OUT.partial (for runs that cannot be resumed). */
  void discard() throws IOException {
    close();
    committed = true;
    Files.deleteIfExists(partial);
  }

  /** Closes without renaming: OUT.partial stays for -resume. */
  @Override
  public void close() throws IOException {
    if (!committed) {
      channel.close();
    }
  }
}
