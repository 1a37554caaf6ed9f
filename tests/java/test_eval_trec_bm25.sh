#!/usr/bin/env bash
# tests/java/test_eval_trec_bm25.sh -- eval/trec/run.sh with Anserini BM25 as
# its first stage (--bm25-index), run by tests/java/run.sh after `mvn package`:
# an index of the demo collection built by Anserini's IndexCollection; the
# script's BM25 run must equal Anserini's SearchCollection run made here
# directly, its rerank must equal `rankt5 rerank` on that run byte for byte,
# and a second invocation reuses both (nothing rescored). Also: --run and
# --bm25-index together are refused.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/java/find_jdk.sh
SHARED=${RT5_SHARED_DIR:-$(cd .. && pwd)/shared}
SPM=${RANKT5_T5_SPIECE:-$SHARED/tokenizer/t5-spiece.model}
CLI=target/native/rankt5
D=tests/fixtures/demo
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

mvn -B -q -ntp dependency:build-classpath -Dmdep.includeScope=provided -Dmdep.outputFile="$T/cp" >&2
export ANSERINI_JAR=$(cat "$T/cp")
java=("$JAVA_HOME/bin/java" -cp "$ANSERINI_JAR")
mkdir -p "$T/json"
python3 -c '
import json, sys
for line in open(sys.argv[1]):
    docid, text = line.rstrip("\n").split("\t", 1)
    print(json.dumps({"id": docid, "contents": text}))' "$D/collection.tsv" > "$T/json/docs.jsonl"
"${java[@]}" io.anserini.index.IndexCollection -collection JsonCollection -input "$T/json" -index "$T/index" \
  -generator DefaultLuceneDocumentGenerator -threads 1 -storeRaw -quiet >/dev/null 2>&1
"${java[@]}" io.anserini.search.SearchCollection -index "$T/index" -topics "$D/queries.tsv" \
  -topicReader TsvString -bm25 -hits 1000 -output "$T/direct.trec" >/dev/null 2>&1

args=(--bm25-index "$T/index" --topics "$D/queries.tsv" --collection "$D/collection.tsv" --qrels "$D/qrels.txt"
  --model "$D/model" --tokenizer "$SPM" --depth 4 --threads 1 --bench-pairs 0 --rankt5 "$CLI" --out "$T/out")
bash eval/trec/run.sh "${args[@]}" > "$T/log1" 2>&1 || { cat "$T/log1"; fail "eval/trec/run.sh --bm25-index failed"; }
cmp "$T/out/bm25.trec" "$T/direct.trec" || fail "the script's BM25 run differs from SearchCollection's"
"$CLI" rerank --model "$D/model" --tokenizer "$SPM" --threads 1 --run "$T/direct.trec" --queries "$D/queries.tsv" \
  --collection "$D/collection.tsv" --top 4 --quiet -o "$T/want.trec"
cmp "$T/out/rankt5.f32.depth4.trec" "$T/want.trec" || fail "the rerank differs from rankt5 rerank on the same run"
grep -q "ndcg@10" "$T/log1" || fail "no metrics printed"
echo "ok: --bm25-index: Anserini's BM25 run, then the same rerank as rankt5 rerank, then metrics"

bash eval/trec/run.sh "${args[@]}" > "$T/log2" 2>&1 || fail "a second run failed"
grep -q "SearchCollection" "$T/log2" && fail "the second run searched again"
echo "ok: a second run reuses the BM25 run and resumes the finished rerank"

set +e
bash eval/trec/run.sh "${args[@]}" --run "$T/direct.trec" > "$T/log3" 2>&1
rc=$?
set -e
[ "$rc" = 2 ] && grep -q -- "--run and --bm25-index: give one first stage" "$T/log3" || fail "--run with --bm25-index: exit $rc: $(cat "$T/log3")"
echo "ok: --run with --bm25-index is refused"
