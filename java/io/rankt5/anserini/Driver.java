package io.rankt5.anserini;

import io.anserini.index.IndexReaderUtils;
import io.anserini.search.topicreader.TopicReader;
import io.anserini.search.topicreader.Topics;
import io.rankt5.RankT5;
import io.rankt5.RankT5Exception;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.atomic.LongAdder;
import org.kohsuke.args4j.CmdLineException;
import org.kohsuke.args4j.CmdLineParser;
import org.kohsuke.args4j.ParserProperties;

/**
 * What the drivers share: option parsing, opening the model, topics, progress with ETA, the time split. Public for
 * io.rankt5.spark.SparkRerank, which takes RerankRun's options; not meant for other callers.
 */
public final class Driver {
  public static final int EXIT_OK = 0;
  public static final int EXIT_ERROR = 1;
  public static final int EXIT_USAGE = 2;

  /** A failure with a message for the user (no stack trace). */
  public static final class Failure extends Exception {
    private static final long serialVersionUID = 1L;
    final int exit;

    public Failure(int exit, String message) {
      super(message);
      this.exit = exit;
    }
  }

  private Driver() {}

  /** Parses args into {@code args}; throws a usage Failure (with the usage text) on bad options. */
  public static void parse(String name, String summary, Object args, String[] argv, PrintStream err) throws Failure {
    CmdLineParser parser = new CmdLineParser(args, ParserProperties.defaults().withUsageWidth(110));
    try {
      parser.parseArgument(argv);
    } catch (CmdLineException e) {
      err.println(name + ": " + e.getMessage());
      err.println("usage: " + name + parser.printExample(org.kohsuke.args4j.OptionHandlerFilter.REQUIRED)
          + " [options]");
      err.println(summary);
      parser.printUsage(err);
      throw new Failure(EXIT_USAGE, null);
    }
  }

  public static void check(boolean ok, String message) throws Failure {
    if (!ok) {
      throw new Failure(EXIT_USAGE, message);
    }
  }

  public static void checkCommon(DriverArgs a) throws Failure {
    check(a.hits >= 1, "-hits must be at least 1");
    check(a.rerankCutoff >= 1, "-rerankcutoff must be at least 1");
    check(a.threads >= 1, "-threads must be at least 1");
  }

  static RankT5 openModel(DriverArgs a) throws Failure {
    RankT5.Options o = new RankT5.Options().dtype(a.dtype).template(a.template);
    try {
      o.threads(a.modelThreads).maxLength(a.maxLength).batchTokens(a.batchTokens);
      if (a.tokenizer != null) {
        o.tokenizer(Paths.get(a.tokenizer));
      }
      return RankT5.open(Paths.get(a.model), o);
    } catch (IllegalArgumentException e) {
      throw new Failure(EXIT_USAGE, e.getMessage());
    } catch (RankT5Exception e) {
      throw new Failure(EXIT_ERROR, "cannot load the model: " + e.getMessage());
    }
  }

  /**
   * Topics by query id (as text, in the topics' order), read as SearchCollection reads them: a file with Anserini's
   * {@code -topicReader}, or the name of a topic set Anserini knows; the text is the {@code -topicField}.
   */
  public static Map<String, String> topics(DriverArgs a) throws Failure {
    SortedMap<Object, Map<String, String>> raw = new TreeMap<>();
    for (String t : a.topics) {
      raw.putAll(readTopics(t, a.topicReader));
    }
    Map<String, String> out = new LinkedHashMap<>();
    for (Map.Entry<Object, Map<String, String>> e : raw.entrySet()) {
      out.put(e.getKey().toString(), e.getValue().get(a.topicField));
    }
    if (out.isEmpty()) {
      throw new Failure(EXIT_ERROR, "no topics in " + String.join(",", a.topics));
    }
    return out;
  }

  /** Plain-text queries by id from {@code -queries}: a TSV file ({@code qid \t text}) or Anserini topics by name. */
  static Map<String, String> plainQueries(String queries) throws Failure {
    Map<String, String> out = new LinkedHashMap<>();
    for (Map.Entry<Object, Map<String, String>> e : readTopics(queries, "TsvString").entrySet()) {
      out.put(e.getKey().toString(), e.getValue().get("title"));
    }
    return out;
  }

  /**
   * An index folder, or the label of an Anserini prebuilt index (e.g. {@code msmarco-v1-passage}), which Anserini
   * downloads into its cache on first use, as SearchCollection does.
   */
  static Path index(String index) throws Failure {
    Path p = Paths.get(index);
    if (Files.isDirectory(p)) {
      return p;
    }
    try {
      Path resolved = IndexReaderUtils.getIndex(index);
      if (resolved != null && Files.isDirectory(resolved)) {
        return resolved;
      }
    } catch (RuntimeException e) {
      throw new Failure(EXIT_ERROR, "index " + index + ": " + e.getMessage());
    }
    throw new Failure(EXIT_ERROR, "index " + index + " does not exist (neither a folder nor a prebuilt index label)");
  }

  @SuppressWarnings("unchecked")
  private static SortedMap<Object, Map<String, String>> readTopics(String topics, String reader) throws Failure {
    Path file = Paths.get(topics);
    try {
      if (!Files.isRegularFile(file)) {
        Topics ref = Topics.getByName(topics);
        if (ref == null) {
          throw new Failure(EXIT_ERROR, "topics " + topics + ": no such file, nor topics Anserini knows by that name");
        }
        return TopicReader.getTopics(ref);
      }
      if (reader == null) {
        throw new Failure(EXIT_USAGE, "topics file " + topics + " needs -topicReader (e.g. TsvString, TsvInt)");
      }
      if (reader.equals("TsvString") || reader.equals("TsvInt")) {
        return readTsvTopics(file, reader.equals("TsvInt"));
      }
      Class<?> cls;
      try {
        cls = Class.forName("io.anserini.search.topicreader." + reader + "TopicReader");
      } catch (ClassNotFoundException e) {
        throw new Failure(EXIT_USAGE, "-topicReader " + reader + ": Anserini has no " + reader + "TopicReader");
      }
      return ((TopicReader<Object>) cls.getConstructor(Path.class).newInstance(file)).read();
    } catch (Failure f) {
      throw f;
    } catch (Exception e) {
      throw new Failure(EXIT_ERROR, "cannot read topics " + topics + " with " + reader + "TopicReader: " + e);
    }
  }

  /**
   * TsvString / TsvInt topics read as Anserini's readers read them ({@code qid \t text}, text trimmed, into "title"),
   * without loading Anserini's TopicReader, whose class initialization costs seconds.
   */
  private static SortedMap<Object, Map<String, String>> readTsvTopics(Path file, boolean intIds) throws IOException,
      Failure {
    SortedMap<Object, Map<String, String>> out = new TreeMap<>();
    int lineNo = 0;
    for (String line : Files.readAllLines(file, java.nio.charset.StandardCharsets.UTF_8)) {
      lineNo++;
      String[] f = line.split("\t");
      if (f.length < 2) {
        throw new Failure(EXIT_ERROR, "topics " + file + ": line " + lineNo + ": expected 'qid<TAB>text'");
      }
      Object qid = f[0].trim();
      if (intIds) {
        try {
          qid = Integer.parseInt(f[0].trim());
        } catch (NumberFormatException e) {
          throw new Failure(EXIT_ERROR, "topics " + file + ": line " + lineNo + ": '" + f[0] + "' is not an integer"
              + " id (use -topicReader TsvString)");
        }
      }
      out.put(qid, Map.of("title", f[1].trim()));
    }
    return out;
  }

  /** The query text of one topic, or a Failure naming it. */
  public static String queryText(Map<String, String> queries, String qid, String where) throws Failure {
    String q = queries.get(qid);
    if (q == null) {
      throw new Failure(EXIT_ERROR, "query " + qid + " has no text in " + where);
    }
    return q;
  }

  /** Runs body, mapping every failure to a message on err and an exit status. */
  public static int main(String name, PrintStream err, Body body) {
    try {
      body.run();
      return EXIT_OK;
    } catch (Failure f) {
      if (f.getMessage() != null) {
        err.println(name + ": " + f.getMessage());
      }
      return f.exit;
    } catch (PassageText.MissingTextException | RankT5Exception | IllegalStateException e) {
      err.println(name + ": " + e.getMessage());
      return EXIT_ERROR;
    } catch (IOException | UncheckedIOException e) {
      err.println(name + ": " + e.getMessage());
      return EXIT_ERROR;
    } catch (Exception e) {
      err.println(name + ": " + e);
      return EXIT_ERROR;
    }
  }

  public interface Body {
    void run() throws Exception;
  }

  public static Path path(String s) {
    return Paths.get(s);
  }

  /** CPU time of the whole process (Java and native threads), or 0 where the JVM does not report it. */
  static long processCpuNanos() {
    if (java.lang.management.ManagementFactory.getOperatingSystemMXBean()
        instanceof com.sun.management.OperatingSystemMXBean os) {
      return Math.max(0, os.getProcessCpuTime());
    }
    return 0;
  }

  /** A progress line with rate and ETA on stderr, at most every 2 seconds, and the time split at the end. */
  static final class Progress {
    private final String name;
    private final PrintStream err;
    private final boolean quiet;
    private final long total;
    private final long start = System.nanoTime();
    private final long cpuStart = processCpuNanos();
    private final LongAdder done = new LongAdder();
    private long lastPrint = start;
    final LongAdder firstStageNanos = new LongAdder();
    final LongAdder textNanos = new LongAdder();
    final LongAdder writeNanos = new LongAdder();

    Progress(String name, PrintStream err, boolean quiet, long total) {
      this.name = name;
      this.err = err;
      this.quiet = quiet;
      this.total = total;
    }

    synchronized void advance(int queries) {
      done.add(queries);
      long now = System.nanoTime();
      if (quiet || now - lastPrint < 2_000_000_000L) {
        return;
      }
      lastPrint = now;
      long d = done.sum();
      double secs = (now - start) / 1e9;
      double rate = d / secs;
      long eta = rate > 0 ? Math.round((total - d) / rate) : 0;
      err.printf("%s: %d/%d queries, %.1f queries/s, ETA %dh%02dm%02ds%n", name, d, total, rate, eta / 3600,
          eta / 60 % 60, eta % 60);
    }

    /** first stage, text fetch, tokenize, forward, as summed over threads; and wall time. */
    void summary(RankT5 model, long pairs) {
      RankT5.Stats s = model.stats();
      double wall = (System.nanoTime() - start) / 1e9;
      double cpu = (processCpuNanos() - cpuStart) / 1e9;
      err.printf("%s: %d queries, %d pairs in %.2f s (%.1f pairs/s; %.2f s of CPU, all threads)%n", name,
          done.sum(), pairs, wall, pairs / wall, cpu);
      long first = firstStageNanos.sum();
      err.printf("%s: time split (summed over threads): first stage %s, text fetch %.2f s, tokenize %.2f s, "
              + "forward %.2f s, waiting for the engine %.2f s, writing %.2f s%n", name,
          first == 0 ? "none (input run)" : String.format("%.2f s", first / 1e9), textNanos.sum() / 1e9, s.encodeNanos() / 1e9, s.forwardNanos() / 1e9, s.waitNanos() / 1e9,
          writeNanos.sum() / 1e9);
    }
  }
}
