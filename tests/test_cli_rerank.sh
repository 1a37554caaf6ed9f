#!/usr/bin/env bash
# test_cli_rerank.sh -- rankt5 rerank end to end on the demo data (a tiny
# random-weight model with t5's vocabulary, tests/fixtures/demo):
#  - the output is a valid TREC run: per query the run's top K documents,
#    ranks 1..K, scores descending, the tag;
#  - its scores are the Hugging Face scores of the same pairs (hf_scores.jsonl,
#    made by models/demo/gen_demo_model.py with transformers), within 1e-4;
#  - the same scores for other thread counts, worker counts and batch budgets
#    (a budget of 1 token = one pair per batch);
#  - JSON Lines mode gives the same scores, best first;
#  - a missing passage is an error naming it (nothing written), or skipped and
#    counted with --skip-missing; bad run/TSV lines are errors naming file:line.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

rerank() {
  "$CLI" rerank --model "$D/model" --tokenizer "$SPM" --queries "$D/queries.tsv" "$@"
}

# ---------------------------------------------------------------- a run
rerank --run "$D/run.bm25.trec" --collection "$D/collection.tsv" --top 4 -o "$T/out.trec" 2> "$T/err"
grep -q "rankt5: 20 pairs in" "$T/err" || { cat "$T/err" >&2; fail "no one-line summary on stderr"; }
python3 - "$D" "$T/out.trec" 4 <<'EOF'
import json, sys
d, out, k = sys.argv[1], sys.argv[2], int(sys.argv[3])
run = {}
for line in open(f"{d}/run.bm25.trec"):
    qid, _, docid, rank, score, _ = line.split()
    run.setdefault(qid, []).append((-float(score), int(rank), docid))
hf = {}
for line in list(open(f"{d}/hf_scores.jsonl"))[1:]:
    e = json.loads(line)
    if "qid" in e:
        hf[(e["qid"], e["docid"])] = e["score"]
got = {}
for line in open(out):
    f = line.split()
    assert len(f) == 6 and f[1] == "Q0" and f[5] == "rankt5", line
    got.setdefault(f[0], []).append((f[2], int(f[3]), float(f[4])))
assert list(got) == list(run), "queries missing or out of order"
worst = 0.0
for qid, rows in got.items():
    top = {doc for _, _, doc in sorted(run[qid])[:k]}
    assert {doc for doc, _, _ in rows} == top, f"{qid}: not the run's top {k}"
    assert [r for _, r, _ in rows] == list(range(1, len(rows) + 1)), f"{qid}: ranks"
    scores = [s for _, _, s in rows]
    assert scores == sorted(scores, reverse=True), f"{qid}: not sorted by score"
    for doc, _, s in rows:
        ref = hf[(qid, doc)]
        worst = max(worst, abs(s - ref) / max(1.0, abs(ref)))
assert worst <= 1e-4, f"scores differ from Hugging Face by {worst:.2e}"
print(f"ok: TREC output valid, top {k} of the run, max deviation from HF {worst:.2e}")
EOF

# ---------------------------------------------------------------- same scores
# for every thread/worker split and batch budget (one pair per batch included)
same_scores() {
  python3 - "$1" "$2" "$3" <<'EOF'
import sys
def load(p):
    return {(f[0], f[2]): float(f[4]) for f in (l.split() for l in open(p))}
a, b = load(sys.argv[1]), load(sys.argv[2])
assert a.keys() == b.keys()
worst = max(abs(a[k] - b[k]) / max(1.0, abs(a[k])) for k in a)
assert worst <= 1e-5, f"{sys.argv[3]}: scores move by {worst:.2e}"
print(f"ok: {sys.argv[3]}: max relative change {worst:.1e}")
EOF
}
rerank --run "$D/run.bm25.trec" --collection "$D/collection.tsv" -o "$T/base.trec" --quiet \
  --threads 1 --workers 1
for variant in "--threads 2 --workers 1" "--threads 2 --workers 2" "--threads 1 --batch-tokens 1" \
               "--threads 2 --workers 2 --batch-tokens 60" "--threads 2 --group-pairs 1000"; do
  # shellcheck disable=SC2086
  rerank --run "$D/run.bm25.trec" --collection "$D/collection.tsv" -o "$T/v.trec" --quiet $variant
  same_scores "$T/base.trec" "$T/v.trec" "$variant"
done

# ---------------------------------------------------------------- JSON Lines
python3 - "$D" > "$T/req.jsonl" <<'EOF'
import json, sys
d = sys.argv[1]
q = dict(l.rstrip("\n").split("\t", 1) for l in open(f"{d}/queries.tsv"))
c = dict(l.rstrip("\n").split("\t", 1) for l in open(f"{d}/collection.tsv"))
print(json.dumps({"query": q["1003"], "documents": [c["p13"], {"text": c["p16"]}, c["p14"]]}))
print(json.dumps({"query": q["1001"], "documents": []}))
print(json.dumps({"query": q["1004"], "documents": [c["p19"]]}))
EOF
"$CLI" rerank --model "$D/model" --tokenizer "$SPM" < "$T/req.jsonl" > "$T/res.jsonl" 2>/dev/null
python3 - "$D" "$T/res.jsonl" <<'EOF'
import json, sys
d, res = sys.argv[1:]
hf = {(e["qid"], e["docid"]): e["score"] for e in map(json.loads, list(open(f"{d}/hf_scores.jsonl"))[1:]) if "qid" in e}
want = [[("1003", "p13"), ("1003", "p16"), ("1003", "p14")], [], [("1004", "p19")]]
lines = [json.loads(l) for l in open(res)]
assert len(lines) == 3, lines
for got, keys in zip(lines, want):
    r = got["results"]
    assert sorted(x["index"] for x in r) == list(range(len(keys))), got
    assert [x["score"] for x in r] == sorted((x["score"] for x in r), reverse=True), got
    for x in r:
        ref = hf[keys[x["index"]]]
        assert abs(x["score"] - ref) <= 1e-4 * max(1, abs(ref)), (x, ref)
print("ok: JSON Lines rerank sorted, indices complete, scores equal HF")
EOF
printf '{"query": "q", "documents": [1]}\n' > "$T/bad.jsonl"
if "$CLI" rerank --model "$D/model" --tokenizer "$SPM" < "$T/bad.jsonl" 2> "$T/err" > /dev/null; then
  fail "a bad JSON Lines request was accepted"
fi
grep -q 'line 1: "documents"\[0\] is neither a string' "$T/err" || { cat "$T/err" >&2; fail "bad JSONL error"; }

# ---------------------------------------------------------------- missing docs
grep -v '^p05	' "$D/collection.tsv" > "$T/partial_collection.tsv"
if rerank --run "$D/run.bm25.trec" --collection "$T/partial_collection.tsv" -o "$T/m.trec" 2> "$T/err"; then
  fail "a missing passage was not an error"
fi
grep -q "document 'p05' (query '1001', .*run.bm25.trec:4) is not in" "$T/err" || { cat "$T/err" >&2; fail "missing-doc error"; }
[ ! -e "$T/m.trec" ] && [ ! -e "$T/m.trec.partial" ] || fail "output written despite the error"
rerank --run "$D/run.bm25.trec" --collection "$T/partial_collection.tsv" -o "$T/m.trec" --skip-missing 2> "$T/err"
grep -q "skipped 1 document(s) missing" "$T/err" || { cat "$T/err" >&2; fail "--skip-missing count"; }
[ "$(wc -l < "$T/m.trec")" -eq 29 ] || fail "--skip-missing should leave 29 lines"
grep -q " p05 " "$T/m.trec" && fail "the missing passage appears in the output"
echo "ok: missing passage named; --skip-missing skips and counts it"

# ---------------------------------------------------------------- bad input
{ head -2 "$D/run.bm25.trec"; echo "1001 Q0 p01 x 1.5 bm25"; } > "$T/bad_run.trec"
if rerank --run "$T/bad_run.trec" --collection "$D/collection.tsv" -o "$T/b.trec" 2> "$T/err"; then
  fail "a bad run line was accepted"
fi
grep -q "bad_run.trec:3: rank 'x' is not an integer" "$T/err" || { cat "$T/err" >&2; fail "bad run error"; }
{ head -3 "$D/collection.tsv"; echo "p99 no tab here"; } > "$T/bad_collection.tsv"
if rerank --run "$D/run.bm25.trec" --collection "$T/bad_collection.tsv" -o "$T/b.trec" 2> "$T/err"; then
  fail "a bad collection line was accepted"
fi
grep -q "bad_collection.tsv:4: expected 'id<TAB>text' (no tab found)" "$T/err" || { cat "$T/err" >&2; fail "bad TSV error"; }
echo "9999 Q0 p01 1 1.0 bm25" > "$T/unknown_query.trec"
if rerank --run "$T/unknown_query.trec" --collection "$D/collection.tsv" -o "$T/b.trec" 2> "$T/err"; then
  fail "a query missing from the queries file was accepted"
fi
grep -q "query '9999' of .*unknown_query.trec (line 1) is not in" "$T/err" || { cat "$T/err" >&2; fail "unknown query error"; }
[ ! -e "$T/b.trec" ] || fail "output written despite bad input"
echo "ok: bad run, TSV and query lines are errors naming file:line"
