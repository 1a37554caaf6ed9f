#!/usr/bin/env bash
# test_eval_trec_run.sh -- eval/trec/run.sh end to end on the tiny demo model
# (tests/fixtures/demo): it counts the pairs as rerank --top takes them,
# prints a measured pairs/s and the expected time, reranks, evaluates the
# first stage and the rerank with the preset (numbers equal to rankt5 eval's
# on the same files), resumes a killed rerank to the same bytes, and names
# every missing or bad input at once; the real DL19 topics and qrels go
# through it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ -f "$SPM" ] || fail "t5's spiece.model is missing: $SPM"
SCRIPT=$SRC/eval/trec/run.sh
args=(--run "$D/run.bm25.trec" --topics "$D/queries.tsv" --collection "$D/collection.tsv"
      --qrels "$D/qrels.txt" --model "$D/model" --tokenizer "$SPM" --rankt5 "$CLI" --threads 1)

# The demo run: 5 queries x 6 passages. Depth 4 -> 20 pairs.
bash "$SCRIPT" "${args[@]}" --depth 4 --bench-pairs 2 --out "$T/a" > "$T/log" 2> "$T/err" ||
  { cat "$T/log" "$T/err" >&2; fail "run.sh failed"; }
grep -q "^== 5 queries x depth 4: 20 pairs to score (f32, 1 threads)$" "$T/log" || { cat "$T/log" >&2; fail "pair count"; }
grep -Eq "^== measured [0-9.e+]+ pairs/s -> expected [0-9.]+ s = [0-9.]+ h for 20 pairs$" "$T/log" ||
  { cat "$T/log" >&2; fail "expected-time line"; }
out=$T/a/rankt5.f32.depth4.trec
[ "$(wc -l < "$out")" = 20 ] || fail "the rerank should hold 20 lines"
"$CLI" eval --run "$D/run.bm25.trec" --qrels "$D/qrels.txt" --preset dl > "$T/first"
"$CLI" eval --run "$out" --qrels "$D/qrels.txt" --preset dl > "$T/second"
cat "$T/first" "$T/second" > "$T/want"
grep -v "^==" "$T/log" > "$T/have"
diff "$T/want" "$T/have" || fail "run.sh's eval output differs from rankt5 eval's"
grep -q "ndcg@10 .* trec_eval -c -m ndcg_cut.10$" "$T/have" || fail "preset dl not used"

# Depth 0 takes every document: 30 pairs; --preset msmarco; no bench.
bash "$SCRIPT" "${args[@]}" --depth 0 --bench-pairs 0 --preset msmarco --out "$T/b" > "$T/log" 2>/dev/null
grep -q "30 pairs to score" "$T/log" && grep -q "^mrr@10 .* trec_eval -c -M 10 -m recip_rank$" "$T/log" &&
  ! grep -q "measured" "$T/log" || { cat "$T/log" >&2; fail "--depth 0 / --preset msmarco / --bench-pairs 0"; }

# A rerank killed after 2 queries fails the script; the same command resumes
# it to the bytes of the uninterrupted run.
if RANKT5_TEST_KILL_AFTER_QUERIES=2 bash "$SCRIPT" "${args[@]}" --depth 4 --bench-pairs 0 --out "$T/c" \
    > /dev/null 2>&1; then
  fail "a killed rerank should fail run.sh"
fi
[ -f "$T/c/rankt5.f32.depth4.trec.partial" ] || fail "no partial output after the kill"
bash "$SCRIPT" "${args[@]}" --depth 4 --bench-pairs 0 --out "$T/c" > /dev/null 2> "$T/err"
grep -q "resuming after 2 complete queries" "$T/err" || { cat "$T/err" >&2; fail "not resumed"; }
cmp "$out" "$T/c/rankt5.f32.depth4.trec" || fail "the resumed rerank differs from the uninterrupted one"
bash "$SCRIPT" "${args[@]}" --depth 4 --bench-pairs 0 --out "$T/c" > /dev/null 2> "$T/err"
grep -q "is complete; nothing to resume" "$T/err" || { cat "$T/err" >&2; fail "a finished run was redone"; }

# The real TREC DL 2019 topics and qrels (../shared/data/trec): a run of the
# 43 judged queries x 2 demo passages reranks (every query text found) and
# evaluates over all 43 queries.
TREC=$SHARED/data/trec
[ -f "$TREC/topics.dl19-passage.txt" ] || fail "the DL19 topics are missing: $TREC (set RT5_SHARED_DIR)"
awk -F'\t' '{ printf "%s Q0 p01 1 2.0 bm25\n%s Q0 p02 2 1.0 bm25\n", $1, $1 }' "$TREC/topics.dl19-passage.txt" > "$T/dl19.trec"
bash "$SCRIPT" --run "$T/dl19.trec" --topics "$TREC/topics.dl19-passage.txt" --collection "$D/collection.tsv" \
  --qrels "$TREC/qrels.dl19-passage.txt" --model "$D/model" --tokenizer "$SPM" --rankt5 "$CLI" --threads 1 \
  --bench-pairs 0 --out "$T/d" > "$T/log" 2> "$T/err" || { cat "$T/log" "$T/err" >&2; fail "run.sh on the DL19 topics"; }
grep -q "^== 43 queries x depth 100: 86 pairs to score" "$T/log" && [ "$(wc -l < "$T/d/rankt5.f32.depth100.trec")" = 86 ] &&
  [ "$(grep -c ": 43 queries evaluated$" "$T/log")" = 2 ] || { cat "$T/log" >&2; fail "DL19 topics: pairs, output or eval"; }

# Bad inputs: all named at once, exit 2, nothing run.
if bash "$SCRIPT" --run "$T/nope.trec" --topics "$D/queries.tsv" --model "$D/model" --dtype f16 \
    --depth ten --rankt5 "$CLI" > /dev/null 2> "$T/err"; then
  fail "bad inputs accepted"
fi
for want in "--run $T/nope.trec: no such file or directory" "--collection is required" "--qrels is required" \
            "--tokenizer is required" "--dtype f16: use f32, bf16 or int8" "--depth ten: want a whole number"; do
  grep -qF -- "$want" "$T/err" || { cat "$T/err" >&2; fail "no error '$want'"; }
done
echo "ok: eval/trec/run.sh counts pairs, times, reranks, resumes and evaluates on the demo model"
