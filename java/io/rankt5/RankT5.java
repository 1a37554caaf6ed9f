package io.rankt5;

import java.lang.ref.Cleaner;
import java.lang.ref.Reference;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * One loaded RankT5 cross-encoder: tokenizer, weights and scoring engine of the native rankt5 library, behind one
 * handle.
 *
 * <pre>{@code
 * try (RankT5 model = RankT5.open(Path.of("models/rankt5-3b"), new RankT5.Options().dtype("bf16"))) {
 *   float[] logits = model.score("what is rankt5", List.of("RankT5 is a T5 reranker.", "Rust is a language."));
 * }
 * }</pre>
 *
 * <p>Scores are the model's logits: they rank documents within one query and are not comparable across queries.
 * They are bit-identical to {@code rankt5 score} with the same model, dtype and options.
 *
 * <p><b>Threads.</b> Every method is thread-safe. Pairs are encoded on the calling threads in parallel; the forward
 * passes of concurrent calls take turns on the engine, which batches each call's pairs by token budget and spreads
 * them over its own threads ({@link Options#threads}). Passing many pairs per call is what makes batching effective.
 *
 * <p><b>Lifetime.</b> {@link #close()} frees the native memory. Calls running when it is called either finish or
 * throw {@link IllegalStateException}; close() returns once none is left. Any call after close() throws
 * {@link IllegalStateException}. A handle that is never closed is freed by a {@link Cleaner} after it becomes
 * unreachable, but closing is the reliable way to give back gigabytes of weights.
 *
 * <p>Text crosses into native code as UTF-8 ({@link String#getBytes(java.nio.charset.Charset)}): an unpaired
 * surrogate becomes {@code '?'}, as Java's encoder does; U+0000 and characters beyond the BMP pass unchanged.
 */
public final class RankT5 implements AutoCloseable {
  private static final Cleaner CLEANER = Cleaner.create();

  static {
    NativeLibrary.load();
  }

  /**
   * How to load and run a model. Setters return {@code this}; an Options object is copied by {@link #open}, so it may
   * be reused.
   */
  public static final class Options {
    private Path tokenizer;
    private Path config;
    private String dtype = "f32";
    private int threads;
    private int workers;
    private int maxLength = 512;
    private int batchTokens = 4096;
    private String template;
    private boolean verbose;

    /**
     * The tokenizer: t5-3b's {@code spiece.model} or a T5 {@code tokenizer.json}, or a folder holding one. Default:
     * the model's folder (the model path itself when it is a folder), where {@code tokenizer.json} is preferred.
     */
    public Options tokenizer(Path tokenizer) {
      this.tokenizer = tokenizer;
      return this;
    }

    /** A {@code config.json}; default: the one beside the checkpoint if any, else inferred from tensor shapes. */
    public Options config(Path config) {
      this.config = config;
      return this;
    }

    /**
     * The compute dtype: {@code f32} (default), {@code bf16} or {@code int8}; any name the native library accepts is
     * passed through (so {@code auto} works with a library that has it). A converted file computes in its own dtype.
     */
    public Options dtype(String dtype) {
      this.dtype = Objects.requireNonNull(dtype, "dtype");
      return this;
    }

    /** Threads of the engine in all; 0 (default) = every core. */
    public Options threads(int threads) {
      this.threads = checkRange("threads", threads, 0, 1024);
      return this;
    }

    /** Batches scored concurrently, the threads split among them; 0 (default) = the engine's measured choice. */
    public Options workers(int workers) {
      this.workers = checkRange("workers", workers, 0, 256);
      return this;
    }

    /** Tokens per pair, specials included (default 512); longer pairs are cut longest-first like Hugging Face. */
    public Options maxLength(int maxLength) {
      this.maxLength = checkRange("maxLength", maxLength, 2, 1 << 16);
      return this;
    }

    /** Token budget of one packed batch (default 4096). */
    public Options batchTokens(int batchTokens) {
      this.batchTokens = checkRange("batchTokens", batchTokens, 1, 1 << 24);
      return this;
    }

    /**
     * A text template with {@code {query}} and {@code {document}}, encoded as one sequence followed by
     * {@code </s>}, instead of the pair encoding {@code query </s> document </s>} (null = the pair encoding).
     */
    public Options template(String template) {
      this.template = template;
      return this;
    }

    /** Print the native library's load steps to stderr. */
    public Options verbose(boolean verbose) {
      this.verbose = verbose;
      return this;
    }

    private Options copy() {
      Options o = new Options();
      o.tokenizer = tokenizer;
      o.config = config;
      o.dtype = dtype;
      o.threads = threads;
      o.workers = workers;
      o.maxLength = maxLength;
      o.batchTokens = batchTokens;
      o.template = template;
      o.verbose = verbose;
      return o;
    }

    private static int checkRange(String name, int value, int min, int max) {
      if (value < min || value > max) {
        throw new IllegalArgumentException(name + " must be in [" + min + ", " + max + "], not " + value);
      }
      return value;
    }
  }

  /** What a loaded model is: its configuration, dtypes, memory and the engine's resolved parameters. */
  public record Info(int dModel, int dFf, int nHeads, int dKv, int nLayers, int vocabSize, int numBuckets,
      int maxDistance, boolean gatedGelu, float layerNormEpsilon, String fileDtype, String computeDtype,
      long nParams, long bytesMapped, double loadSeconds, int nWarnings, boolean converted, int linearsInPlace,
      int threads, int workers, int batchTokens, int maxLength, int tokenizerVocabSize, String libraryVersion,
      String libraryLoadedFrom) {
  }

  /** Time spent by all calls so far, in nanoseconds summed over calls (calls on several threads overlap). */
  public record Stats(long calls, long pairs, long encodeNanos, long waitNanos, long forwardNanos) {
  }

  /** Holds the native pointer; run() frees it once, from close() or from the Cleaner. */
  private static final class Handle implements Runnable {
    private long ptr;

    Handle(long ptr) {
      this.ptr = ptr;
    }

    @Override
    public synchronized void run() {
      long p = ptr;
      ptr = 0;
      if (p != 0) {
        nativeFree(p);
      }
    }
  }

  private final Handle handle;
  private final long ptr;
  private final Cleaner.Cleanable cleanable;
  private final ReentrantReadWriteLock lifetime = new ReentrantReadWriteLock();
  private final AtomicBoolean closed = new AtomicBoolean();
  private final String name;
  private final Options options;
  private final LongAdder calls = new LongAdder();
  private final LongAdder pairs = new LongAdder();
  private final LongAdder encodeNanos = new LongAdder();
  private final LongAdder waitNanos = new LongAdder();
  private final LongAdder forwardNanos = new LongAdder();

  private RankT5(long ptr, String name, Options options) {
    this.ptr = ptr;
    this.handle = new Handle(ptr);
    this.cleanable = CLEANER.register(this, handle);
    this.name = name;
    this.options = options;
  }

  /** Opens a model with the default options; see {@link #open(Path, Options)}. */
  public static RankT5 open(Path model) {
    return open(model, new Options());
  }

  /**
   * Loads a model. {@code model} is anything {@code rankt5 --model} takes: a {@code pytorch_model.bin}, a
   * {@code .safetensors} file (also one written by {@code rankt5 convert}), a sharded index, or a folder holding one
   * of them (a {@code models/<name>/} folder). The tokenizer is {@link Options#tokenizer} or is found in the model's
   * folder.
   *
   * @throws RankT5Exception if the model, tokenizer or options are rejected (message names the file and the fault)
   */
  public static RankT5 open(Path model, Options options) {
    Objects.requireNonNull(model, "model");
    Options o = Objects.requireNonNull(options, "options").copy();
    Path tokenizer = o.tokenizer != null ? o.tokenizer : defaultTokenizer(model);
    long ptr = nativeOpen(utf8(model.toString()), utf8(tokenizer.toString()),
        o.config == null ? null : utf8(o.config.toString()), utf8(o.dtype),
        o.template == null ? null : utf8(o.template), o.threads, o.workers, o.maxLength, o.batchTokens, o.verbose);
    Path fileName = model.toAbsolutePath().normalize().getFileName();
    return new RankT5(ptr, fileName == null ? model.toString() : fileName.toString(), o);
  }

  private static Path defaultTokenizer(Path model) {
    if (Files.isDirectory(model)) {
      return model;
    }
    Path parent = model.toAbsolutePath().getParent();
    return parent == null ? model : parent;
  }

  /**
   * Scores documents against one query.
   *
   * @return one logit per document, in the order of {@code docs}
   * @throws NullPointerException if the query or a document is null
   * @throws IllegalStateException if this handle is closed (or closed during the call)
   * @throws RankT5Exception if the native library fails (the message says which pair)
   */
  public float[] score(String query, List<String> docs) {
    Objects.requireNonNull(query, "query");
    Objects.requireNonNull(docs, "docs");
    return score(List.of(query), List.of(docs))[0];
  }

  /**
   * Scores many queries' documents in one call, so that the engine batches all pairs together.
   * {@code docs.get(i)} are scored against {@code queries.get(i)}.
   *
   * @return {@code result[i][j]}: the logit of {@code docs.get(i).get(j)} for {@code queries.get(i)}
   * @throws IllegalArgumentException if the two lists differ in size
   */
  public float[][] score(List<String> queries, List<? extends List<String>> docs) {
    Objects.requireNonNull(queries, "queries");
    Objects.requireNonNull(docs, "docs");
    if (queries.size() != docs.size()) {
      throw new IllegalArgumentException(queries.size() + " queries but " + docs.size() + " document lists");
    }
    Packed q = new Packed(queries.size());
    int nDocs = 0;
    for (int i = 0; i < queries.size(); i++) {
      final int qi = i;
      q.add(Objects.requireNonNull(queries.get(i), () -> "query " + qi));
      nDocs += Objects.requireNonNull(docs.get(i), () -> "document list of query " + qi).size();
    }
    Packed d = new Packed(nDocs);
    int[] docQuery = new int[nDocs];
    int k = 0;
    for (int i = 0; i < docs.size(); i++) {
      List<String> list = docs.get(i);
      for (int j = 0; j < list.size(); j++) {
        final int qi = i;
        final int dj = j;
        d.add(Objects.requireNonNull(list.get(j), () -> "document " + dj + " of query " + qi));
        docQuery[k++] = i;
      }
    }
    float[] flat = scorePacked(q, d, docQuery);
    float[][] out = new float[docs.size()][];
    k = 0;
    for (int i = 0; i < docs.size(); i++) {
      out[i] = new float[docs.get(i).size()];
      System.arraycopy(flat, k, out[i], 0, out[i].length);
      k += out[i].length;
    }
    return out;
  }

  private float[] scorePacked(Packed queries, Packed docs, int[] docQuery) {
    long[] nanos = new long[3];
    Lock lock = lifetime.readLock();
    lock.lock();
    try {
      ensureOpen();
      float[] scores = nativeScore(ptr, queries.bytes(), queries.ends, docs.bytes(), docs.ends, docQuery, nanos);
      calls.increment();
      pairs.add(docQuery.length);
      encodeNanos.add(nanos[0]);
      waitNanos.add(nanos[1]);
      forwardNanos.add(nanos[2]);
      return scores;
    } catch (RankT5Exception e) {
      if (e.status() == RankT5Exception.Status.CANCELLED && closed.get()) {
        throw new IllegalStateException("RankT5 " + name + " was closed during the call", e);
      }
      throw e;
    } finally {
      lock.unlock();
      Reference.reachabilityFence(this);
    }
  }

  /** The model's configuration, dtypes, memory mapped and the engine's threads, workers and budgets. */
  public Info info() {
    Lock lock = lifetime.readLock();
    lock.lock();
    try {
      ensureOpen();
      long[] v = nativeInfo(ptr);
      return new Info((int) v[0], (int) v[1], (int) v[2], (int) v[3], (int) v[4], (int) v[5], (int) v[6],
          (int) v[7], v[8] != 0, Float.intBitsToFloat((int) v[9]), nativeDtypeName((int) v[10]),
          nativeDtypeName((int) v[11]), v[12], v[13], v[14] / 1e9, (int) v[15], v[16] != 0, (int) v[17],
          (int) v[18], (int) v[19], (int) v[20], (int) v[21], (int) v[22], nativeVersion(),
          NativeLibrary.loadedFrom());
    } finally {
      lock.unlock();
      Reference.reachabilityFence(this);
    }
  }

  /** Cumulative timings of the calls so far. */
  public Stats stats() {
    return new Stats(calls.sum(), pairs.sum(), encodeNanos.sum(), waitNanos.sum(), forwardNanos.sum());
  }

  /** The model's file or folder name, e.g. {@code pytorch_model.bin} or {@code rankt5-3b}. */
  public String name() {
    return name;
  }

  /** The dtype asked for in the options (as given, e.g. {@code bf16}); {@link Info#computeDtype} is what runs. */
  public String dtype() {
    return options.dtype;
  }

  /** The version of the native library, e.g. {@code 0.1.0}. */
  public static String libraryVersion() {
    return nativeVersion();
  }

  /** Native handles opened and not yet freed in this JVM (by close() or the Cleaner); for tests. */
  static long liveHandles() {
    return nativeLiveHandles();
  }

  /** True once {@link #close()} has been called. */
  public boolean isClosed() {
    return closed.get();
  }

  /**
   * Frees the model. Calls in flight stop between batches and throw {@link IllegalStateException}, or finish; this
   * method returns after the last of them. Calling it again does nothing.
   */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    nativeCancel(ptr); // the pointer is freed only below, by this thread
    Lock lock = lifetime.writeLock();
    lock.lock();
    try {
      cleanable.clean();
    } finally {
      lock.unlock();
    }
  }

  private void ensureOpen() {
    if (closed.get()) {
      throw new IllegalStateException("RankT5 " + name + " is closed");
    }
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** Strings as one UTF-8 byte array and the end offset of each. */
  private static final class Packed {
    final int[] ends;
    private byte[] buf = new byte[256];
    private int length;
    private int count;

    Packed(int n) {
      ends = new int[n];
    }

    void add(String s) {
      byte[] b = utf8(s);
      if (b.length > Integer.MAX_VALUE - 16 - length) {
        throw new IllegalArgumentException("more than 2 GB of text in one call");
      }
      if (length + b.length > buf.length) {
        buf = java.util.Arrays.copyOf(buf, (int) Math.min(Integer.MAX_VALUE - 16,
            Math.max(2L * buf.length, (long) length + b.length)));
      }
      System.arraycopy(b, 0, buf, length, b.length);
      length += b.length;
      ends[count++] = length;
    }

    byte[] bytes() {
      return buf;
    }
  }

  private static native long nativeOpen(byte[] model, byte[] tokenizer, byte[] config, byte[] dtype,
      byte[] template, int threads, int workers, int maxLength, int batchTokens, boolean verbose);

  private static native float[] nativeScore(long handle, byte[] queries, int[] queryEnds, byte[] docs,
      int[] docEnds, int[] docQuery, long[] nanos);

  private static native long[] nativeInfo(long handle);

  private static native String nativeDtypeName(int dtype);

  private static native String nativeVersion();

  private static native void nativeCancel(long handle);

  private static native void nativeFree(long handle);

  private static native long nativeLiveHandles();
}
