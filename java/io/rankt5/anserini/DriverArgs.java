package io.rankt5.anserini;

import org.kohsuke.args4j.Option;
import org.kohsuke.args4j.spi.StringArrayOptionHandler;

/**
 * The options SearchRerank and RerankRun share. Names follow Anserini's SearchCollection where the meaning is the
 * same ({@code -index -topics -topicReader -topicField -output -hits -threads -runtag}); the model's options are
 * the rankt5 CLI's, single-dashed.
 */
public class DriverArgs {
  @Option(name = "-topics", metaVar = "[file]", handler = StringArrayOptionHandler.class, required = true,
      usage = "topics: files, or names of Anserini's bundled topics (e.g. msmarco-passage-dev-subset)")
  public String[] topics;

  @Option(name = "-topicReader", metaVar = "[class]",
      usage = "Anserini topic reader for topic files (e.g. TsvInt, TsvString, JsonIntVector)")
  public String topicReader;

  @Option(name = "-topicField", metaVar = "[field]", usage = "topic field holding the query")
  public String topicField = "title";

  @Option(name = "-output", metaVar = "[file]", required = true,
      usage = "TREC run to write (as FILE.partial, renamed at the end)")
  public String output;

  @Option(name = "-hits", metaVar = "[number]", usage = "documents per query in the output")
  public int hits = 1000;

  @Option(name = "-threads", metaVar = "[int]",
      usage = "queries handled in parallel: first stage, text and tokenizing; the model's own "
          + "threads are -modelThreads")
  public int threads = 1;

  @Option(name = "-runtag", metaVar = "[tag]", usage = "run tag")
  public String runtag = "rankt5";

  @Option(name = "-model", metaVar = "[path]", required = true,
      usage = "RankT5 checkpoint: pytorch_model.bin, .safetensors, a converted file, or a folder holding one")
  public String model;

  @Option(name = "-tokenizer", metaVar = "[file]",
      usage = "t5-3b's spiece.model or a T5 tokenizer.json (default: found in the model's folder)")
  public String tokenizer;

  @Option(name = "-dtype", metaVar = "[type]", usage = "compute dtype: f32, bf16, int8")
  public String dtype = "f32";

  @Option(name = "-rerankcutoff", metaVar = "[number]", usage = "documents reranked per query")
  public int rerankCutoff = 100;

  @Option(name = "-modelThreads", metaVar = "[int]", usage = "the model's threads in all (default: every core)")
  public int modelThreads = 0;

  @Option(name = "-maxLength", metaVar = "[int]", usage = "tokens per pair, specials included")
  public int maxLength = 512;

  @Option(name = "-batchTokens", metaVar = "[int]", usage = "token budget of one batch")
  public int batchTokens = 4096;

  @Option(name = "-template", metaVar = "[text]",
      usage = "text template with {query} and {document} instead of the pair encoding")
  public String template;

  @Option(name = "-field", metaVar = "[name]",
      usage = "stored field (or key of the stored raw JSON) holding passage text")
  public String field = "contents";

  @Option(name = "-quiet", usage = "no progress line")
  public boolean quiet = false;
}
