package io.rankt5.spark;

import io.rankt5.RankT5;
import io.rankt5.anserini.PassageText;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What an executor JVM loads once and shares between all its tasks: the model (one {@link RankT5} per model path and
 * options, its weights memory-mapped once) and the passage text (one open index or TSV per source). Both live for
 * the JVM's lifetime: Spark reuses executors across tasks and jobs, and a 3B model is worth keeping loaded. The
 * handles are thread-safe, so the executor's task threads score on one model concurrently.
 */
final class ExecutorResources {
  private static final Map<ModelSpec, RankT5> MODELS = new ConcurrentHashMap<>();
  private static final Map<TextSpec, PassageText> TEXTS = new ConcurrentHashMap<>();

  private ExecutorResources() {}

  /** The model and the options it is opened with; the key of the executor's model cache. */
  record ModelSpec(String model, String tokenizer, String dtype, int threads, int maxLength, int batchTokens,
      String template) implements Serializable {
    RankT5.Options options() {
      RankT5.Options o = new RankT5.Options().dtype(dtype).template(template).threads(threads)
          .maxLength(maxLength).batchTokens(batchTokens);
      if (tokenizer != null) {
        o.tokenizer(Path.of(tokenizer));
      }
      return o;
    }
  }

  /** Where passage text comes from: an Anserini index (with the field holding text) or a TSV collection. */
  record TextSpec(String index, String collection, String field) implements Serializable {
    PassageText open() throws IOException {
      return index != null ? PassageText.ofIndex(Path.of(index), field) : PassageText.ofTsv(Path.of(collection));
    }
  }

  /** The executor's model for spec, opened by the first task that asks (the others wait for it). */
  static RankT5 model(ModelSpec spec) {
    return MODELS.computeIfAbsent(spec, s -> RankT5.open(Path.of(s.model()), s.options()));
  }

  /** The executor's passage text for spec, opened by the first task that asks. */
  static PassageText text(TextSpec spec) {
    return TEXTS.computeIfAbsent(spec, s -> {
      try {
        return s.open();
      } catch (IOException e) {
        throw new UncheckedIOException(e.getMessage(), e);
      }
    });
  }

  /** How many models this JVM holds (for tests: one per executor, however many tasks ran). */
  static int modelsLoaded() {
    return MODELS.size();
  }
}
