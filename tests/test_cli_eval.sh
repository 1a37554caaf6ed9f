#!/usr/bin/env bash
# test_cli_eval.sh -- rankt5 eval on a hand-made run and qrels whose metric
# values were worked out by hand from the definitions (trec_eval's
# conventions: gain = grade, discount log2(rank + 1), mean over queries in
# both files unless --all-queries); bad qrels lines name file:line.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

cat > "$T/qrels" <<'Q'
q1 0 d1 1
q1 0 d3 2
q1 0 d9 1
q2 0 x1 0
q3 0 a 1
Q
# q1 is listed out of score order on purpose: eval ranks by score.
cat > "$T/run" <<'R'
q1 Q0 d3 3 1.0 t
q1 Q0 d2 1 3.0 t
q1 Q0 d1 2 2.0 t
q2 Q0 x1 1 5.0 t
q4 Q0 z 1 1.0 t
R
# q1 ranked d2 d1 d3: first relevant at rank 2 -> RR 0.5;
#   DCG@10 = 1/log2(3) + 2/log2(4) = 1.630930, IDCG = 2 + 1/log2(3) + 1/log2(4) = 3.130930
#   -> nDCG 0.520912; recall@2 = 1/3; P@2 = 1/2. q2: nothing relevant -> all 0.
# Means over q1, q2: 0.25, 0.260456, 0.166667, 0.25.
"$CLI" eval --run "$T/run" --qrels "$T/qrels" --metrics mrr@10,ndcg@10,recall@2,p@2 > "$T/out"
cat > "$T/want" <<W
$T/run: 2 queries evaluated (1 unjudged skipped)
mrr@10       0.2500
ndcg@10      0.2605
recall@2     0.1667
p@2          0.2500
W
diff "$T/want" "$T/out" || fail "metrics differ from the hand-computed values"

# --all-queries counts q3 (judged, not in the run) as 0: means over 3.
"$CLI" eval --run "$T/run" --qrels "$T/qrels" --metrics mrr@10,ndcg@10 --all-queries > "$T/out"
grep -q "^mrr@10       0.1667$" "$T/out" && grep -q "^ndcg@10      0.1736$" "$T/out" ||
  { cat "$T/out" >&2; fail "--all-queries means"; }

# --rel-level 2: only d3 is relevant for RR and recall: RR 1/3, recall@2 0.
"$CLI" eval --run "$T/run" --qrels "$T/qrels" --metrics mrr@10,recall@2 --rel-level 2 --per-query > "$T/out"
grep -q "^q1	mrr@10=0.3333	recall@2=0.0000$" "$T/out" || { cat "$T/out" >&2; fail "--rel-level 2"; }

printf 'q1 0 d1 1\nq1 0 d2\n' > "$T/bad_qrels"
if "$CLI" eval --run "$T/run" --qrels "$T/bad_qrels" 2> "$T/err"; then fail "bad qrels accepted"; fi
grep -q "bad_qrels:2: expected 4 fields" "$T/err" || { cat "$T/err" >&2; fail "bad qrels error"; }
if "$CLI" eval --run "$T/run" --qrels "$T/qrels" --metrics map 2> "$T/err"; then fail "unknown metric accepted"; fi
grep -q "unknown metric 'map'" "$T/err" || fail "unknown metric error"
echo "ok: eval metrics equal hand-computed values; errors name file:line"
