#!/usr/bin/env bash
# test_cli_eval.sh -- rankt5 eval on a hand-made run and qrels whose metric
# values were worked out by hand from trec_eval's definitions (gain = grade,
# discount log2(rank + 1); the mean over every judged query as trec_eval -c,
# or over the queries in both with --run-queries-only; ties ranked by docid,
# descending); presets print the matching trec_eval flags; bad qrels lines
# and repeated documents are errors naming file:line. The differential test
# against trec_eval itself is test_cli_eval_trec.sh.
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
"$CLI" eval --run "$T/run" --qrels "$T/qrels" --metrics mrr@10,ndcg@10,recall@2,p@2 --run-queries-only > "$T/out"
cat > "$T/want" <<W
$T/run: 2 queries evaluated (1 not in the qrels, skipped)
mrr@10       0.2500   trec_eval -M 10 -m recip_rank
ndcg@10      0.2605   trec_eval -m ndcg_cut.10
recall@2     0.1667   trec_eval -m recall.2
p@2          0.2500   trec_eval -m P.2
W
diff "$T/want" "$T/out" || fail "metrics differ from the hand-computed values"

# The default (trec_eval -c) counts q3 (judged, not in the run) as 0: means over 3.
# MAP: q1's relevant d1, d3 at ranks 2, 3 -> (1/2 + 2/3) / 3 judged relevant = 0.388889.
"$CLI" eval --run "$T/run" --qrels "$T/qrels" --metrics mrr@10,ndcg@10,map > "$T/out"
grep -q "^mrr@10       0.1667   trec_eval -c -M 10 -m recip_rank$" "$T/out" &&
  grep -q "^ndcg@10      0.1736   trec_eval -c -m ndcg_cut.10$" "$T/out" &&
  grep -q "^map          0.1296   trec_eval -c -m map$" "$T/out" ||
  { cat "$T/out" >&2; fail "-c means"; }

# --rel-level 2: only d3 is relevant for RR and recall: RR 1/3, recall@2 0.
"$CLI" eval --run "$T/run" --qrels "$T/qrels" --metrics mrr@10,recall@2 --rel-level 2 --per-query > "$T/out"
grep -q "^q1	mrr@10=0.3333	recall@2=0.0000$" "$T/out" || { cat "$T/out" >&2; fail "--rel-level 2"; }

# Ties: trec_eval ranks equal scores by docid in descending strcmp order,
# whatever the rank column says: b10 > b1 > a9, so the order is b10 b1 a9 and
# a9 (the relevant one) comes 3rd -> RR 1/3; 2.0 and 2.00000001 are equal as
# float (trec_eval 9's score type), so c2 > a2 puts the relevant a2 2nd.
printf 't 0 a9 1\nu 0 a2 1\n' > "$T/tie_qrels"
printf 't Q0 a9 1 5 x\nt Q0 b1 2 5 x\nt Q0 b10 3 5 x\nu Q0 a2 1 2.00000001 x\nu Q0 c2 2 2.0 x\n' > "$T/tie_run"
"$CLI" eval --run "$T/tie_run" --qrels "$T/tie_qrels" --metrics mrr --per-query > "$T/out"
grep -q "^t	mrr=0.3333$" "$T/out" && grep -q "^u	mrr=0.5000$" "$T/out" ||
  { cat "$T/out" >&2; fail "ties ranked as trec_eval does"; }

# Presets print the trec_eval flags Anserini's regressions use.
"$CLI" eval --run "$T/run" --qrels "$T/qrels" --preset dl > "$T/out"
for want in "ndcg@10 .* trec_eval -c -m ndcg_cut.10" "mrr@10 .* trec_eval -c -l 2 -M 10 -m recip_rank" \
            "map .* trec_eval -c -l 2 -m map" "recall@1000 .* trec_eval -c -l 2 -m recall.1000"; do
  grep -q "^$want$" "$T/out" || { cat "$T/out" >&2; fail "--preset dl: no line '$want'"; }
done
"$CLI" eval --run "$T/run" --qrels "$T/qrels" --preset msmarco > "$T/out"
grep -q "^mrr@10 .* trec_eval -c -M 10 -m recip_rank$" "$T/out" && [ "$(grep -c trec_eval "$T/out")" = 2 ] ||
  { cat "$T/out" >&2; fail "--preset msmarco"; }

# A document twice in a query (trec_eval: "duplicate docs") and a pair judged twice are errors.
printf 'q1 Q0 d1 1 2.0 t\nq1 Q0 d2 2 1.0 t\nq1 Q0 d1 3 0.5 t\n' > "$T/dup_run"
if "$CLI" eval --run "$T/dup_run" --qrels "$T/qrels" 2> "$T/err"; then fail "repeated document accepted"; fi
grep -q "dup_run:3: document 'd1' repeats line 1 of query 'q1'" "$T/err" || { cat "$T/err" >&2; fail "repeat error"; }
printf 'q1 0 d1 1\nq1 0 d2 0\nq1 0 d1 2\n' > "$T/dup_qrels"
if "$CLI" eval --run "$T/run" --qrels "$T/dup_qrels" 2> "$T/err"; then fail "repeated judgment accepted"; fi
grep -q "dup_qrels:3: document 'd1' of query 'q1' is judged a second time" "$T/err" ||
  { cat "$T/err" >&2; fail "repeated judgment error"; }

printf 'q1 0 d1 1\nq1 0 d2\n' > "$T/bad_qrels"
if "$CLI" eval --run "$T/run" --qrels "$T/bad_qrels" 2> "$T/err"; then fail "bad qrels accepted"; fi
grep -q "bad_qrels:2: expected 4 fields" "$T/err" || { cat "$T/err" >&2; fail "bad qrels error"; }
if "$CLI" eval --run "$T/run" --qrels "$T/qrels" --metrics ndcg 2> "$T/err"; then fail "unknown metric accepted"; fi
grep -q "unknown metric 'ndcg'" "$T/err" || fail "unknown metric error"
if "$CLI" eval --run "$T/run" --qrels "$T/qrels" --preset dl20 2> "$T/err"; then fail "unknown preset accepted"; fi
grep -q "unknown preset 'dl20'" "$T/err" || fail "unknown preset error"
echo "ok: eval metrics equal hand-computed values; ties as trec_eval; presets; errors name file:line"
