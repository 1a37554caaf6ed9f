#!/usr/bin/env bash
# eval/demo.sh -- the README's first command: set up (native/setup.sh), build
# (native/build.sh), then run the main job end to end on a small sample:
# rerank a TREC-style BM25 run of 5 queries x 6 passages
# (tests/fixtures/demo) with `rankt5 rerank`, print the top of the reranked
# run, and (if `rankt5 eval` is built) compare BM25 and the rerank on the
# sample's qrels.
#
# The model is tests/fixtures/demo/model: a tiny RANDOM-WEIGHT RankT5-shaped
# reranker (t5's 32128-token vocabulary, d_model 16, 2 layers) made by
# models/demo/gen_demo_model.py. Its scores are meaningless; it shows the whole
# pipeline (spiece tokenizer, safetensors loader, forward pass, engine,
# resumable TREC output) in seconds. The same command on the real model is in
# the README.
#
# Needs t5's spiece.model: $RANKT5_T5_SPIECE, or ../shared/tokenizer/t5-spiece.model.
set -euo pipefail
cd "$(dirname "$0")/.."
bash native/setup.sh
build=$(bash native/build.sh release)

shared=${RT5_SHARED_DIR:-$(cd .. && pwd)/shared}
spm=${RANKT5_T5_SPIECE:-$shared/tokenizer/t5-spiece.model}
if [ ! -f "$spm" ]; then
  echo "demo: t5's spiece.model not found at $spm; set RANKT5_T5_SPIECE=/path/to/spiece.model" >&2
  exit 1
fi

demo=tests/fixtures/demo
out=$build/demo
mkdir -p "$out"
echo
echo "== rankt5 rerank: 5 queries x top 6 BM25 passages, tiny RANDOM-WEIGHT demo model"
echo "   (the ranking it produces is meaningless; run the real checkpoint for real scores)"
set -x
"$build/rankt5" rerank --model "$demo/model" --tokenizer "$spm" \
  --run "$demo/run.bm25.trec" --queries "$demo/queries.tsv" --collection "$demo/collection.tsv" \
  --top 100 -o "$out/rankt5.trec"
{ set +x; } 2>/dev/null
echo
echo "== top of $out/rankt5.trec (qid Q0 docid rank score tag)"
head -n 12 "$out/rankt5.trec"

if "$build/rankt5" eval --help >/dev/null 2>&1; then
  echo
  echo "== rankt5 eval on the sample's qrels (BM25, then the random-weight rerank)"
  "$build/rankt5" eval --run "$demo/run.bm25.trec" --qrels "$demo/qrels.txt"
  "$build/rankt5" eval --run "$out/rankt5.trec" --qrels "$demo/qrels.txt"
fi
