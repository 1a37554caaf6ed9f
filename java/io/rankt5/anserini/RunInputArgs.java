package io.rankt5.anserini;

import org.kohsuke.args4j.Option;

/**
 * The options of the drivers that rerank an existing TREC run (RerankRun, and SparkRerank on a cluster): the run,
 * where its passages' text is, and how many pairs one model call scores. Paths must be readable wherever the
 * reranking runs (for SparkRerank: on shared storage, from every executor).
 */
public class RunInputArgs extends DriverArgs {
  @Option(name = "-run", metaVar = "[file]", required = true, usage = "TREC run to rerank")
  public String run;

  @Option(name = "-index", metaVar = "[path]", forbids = "-collection",
      usage = "Anserini index holding passage text (stored contents, or raw): a folder or a prebuilt label")
  public String index;

  @Option(name = "-collection", metaVar = "[file]", forbids = "-index",
      usage = "TSV collection 'docid<TAB>text' (MS MARCO collection.tsv)")
  public String collection;

  @Option(name = "-groupPairs", metaVar = "[int]",
      usage = "pairs scored per model call, in whole queries, as rankt5 rerank --group-pairs")
  public int groupPairs = 64;
}
