#!/usr/bin/env bash
# eval/demo_anserini.sh -- the Anserini demo: build the plugin jar (mvn package:
# CMake builds librankt5jni into it), index the demo collection with Anserini's
# IndexCollection, retrieve with Anserini's BM25 (SearchCollection), retrieve
# again with BM25 -> RankT5 through the Java stage (io.rankt5.anserini.SearchRerank),
# print the top of the run and evaluate both runs with `rankt5 eval`.
#
# The model is tests/fixtures/demo/model, a tiny RANDOM-WEIGHT RankT5-shaped
# reranker: its ranking is meaningless; the demo shows the pipeline. The
# commands for the real checkpoint and Anserini's prebuilt MS MARCO indexes are
# in docs/anserini.md.
#
# Needs: the native build's Debian packages (native/setup.sh), a JDK >= 21
# (Anserini 1.x), Maven (dependencies come from Maven Central), and t5's
# spiece.model ($RANKT5_T5_SPIECE or ../shared/tokenizer/t5-spiece.model).
set -euo pipefail
cd "$(dirname "$0")/.."
bash native/setup.sh
source tests/java/find_jdk.sh
command -v mvn >/dev/null || { echo "demo_anserini: Maven (mvn) is needed: apt-get install maven" >&2; exit 1; }
shared=${RT5_SHARED_DIR:-$(cd .. && pwd)/shared}
spm=${RANKT5_T5_SPIECE:-$shared/tokenizer/t5-spiece.model}
[ -f "$spm" ] || { echo "demo_anserini: t5's spiece.model not found at $spm; set RANKT5_T5_SPIECE" >&2; exit 1; }

echo "== mvn package: native build (CMake) + rankt5-anserini jar" >&2
mvn -B -q -ntp -DskipTests package >&2
jar=$(ls target/rankt5-anserini-*.jar)
out=target/demo-anserini
rm -rf "$out" && mkdir -p "$out/json"
mvn -B -q -ntp dependency:build-classpath -Dmdep.outputFile="$out/anserini.cp" -Dmdep.includeScope=provided >&2
cp="$jar:$(cat "$out/anserini.cp")"
java=("$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED)
# Lucene 9 (Anserini 1.x) uses sun.misc.Unsafe, which Java 24+ warns about: allow it quietly
if "$JAVA_HOME/bin/java" --sun-misc-unsafe-memory-access=allow -version >/dev/null 2>&1; then
  java+=(--sun-misc-unsafe-memory-access=allow)
fi
java+=(-cp "$cp")
demo=tests/fixtures/demo

echo "== Anserini IndexCollection: the demo collection (30 passages) as JsonCollection, -storeRaw" >&2
python3 -c '
import json, sys
for line in open(sys.argv[1]):
    docid, text = line.rstrip("\n").split("\t", 1)
    print(json.dumps({"id": docid, "contents": text}))' "$demo/collection.tsv" > "$out/json/docs.jsonl"
"${java[@]}" io.anserini.index.IndexCollection -collection JsonCollection -input "$out/json" \
  -index "$out/index" -generator DefaultLuceneDocumentGenerator -threads 1 -storeRaw -quiet >/dev/null 2>&1

echo "== Anserini SearchCollection: BM25, top 6 per query" >&2
"${java[@]}" io.anserini.search.SearchCollection -index "$out/index" -topics "$demo/queries.tsv" \
  -topicReader TsvString -bm25 -hits 6 -output "$out/bm25.trec" >/dev/null 2>&1

echo "== SearchRerank: BM25 top 6 -> RankT5 (tiny RANDOM-WEIGHT demo model, meaningless ranking)" >&2
args=(-index "$out/index" -topics "$demo/queries.tsv" -topicReader TsvString -bm25 -hits 6 -rerankcutoff 6
  -model "$demo/model" -tokenizer "$spm" -output "$out/bm25-rankt5.trec")
echo "+ java -cp $jar:<anserini> io.rankt5.anserini.SearchRerank ${args[*]}" >&2
"${java[@]}" io.rankt5.anserini.SearchRerank "${args[@]}"
echo
echo "== top of $out/bm25-rankt5.trec (qid Q0 docid rank score tag)"
head -n 12 "$out/bm25-rankt5.trec"
echo
echo "== rankt5 eval on the sample's qrels: Anserini BM25, then BM25 -> RankT5 (random weights)"
target/native/rankt5 eval --run "$out/bm25.trec" --qrels "$demo/qrels.txt"
target/native/rankt5 eval --run "$out/bm25-rankt5.trec" --qrels "$demo/qrels.txt"
