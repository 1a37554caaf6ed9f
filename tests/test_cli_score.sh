#!/usr/bin/env bash
# test_cli_score.sh -- rankt5 score against Hugging Face:
#  - {"ids": [...]} lines for every golden pair of every tiny model in
#    tests/fixtures/golden (torch .bin and safetensors) give transformers'
#    float64 scores within 1e-4 relative (a single </s> token, empty texts and
#    inputs over 512 tokens included), in input order, for 1 and 2 threads;
#  - {"query", "document"} text lines on the demo model (t5's real vocabulary)
#    give HF's scores: tokenizer + truncation + model end to end, with an empty
#    document, a query longer than the 512-token limit and a long document;
#  - malformed lines are errors naming the line, with nothing written to -o.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
G=$SRC/tests/fixtures/golden

# compare EXPECTED.json-lines GOT.jsonl LABEL: scores within 1e-4 relative
compare() {
  python3 - "$1" "$2" "$3" <<'EOF'
import json, sys
want = [float(l) for l in open(sys.argv[1])]
got = [json.loads(l)["score"] for l in open(sys.argv[2])]
assert len(got) == len(want), f"{sys.argv[3]}: {len(got)} lines out for {len(want)} in"
worst = max(abs(g - w) / max(1.0, abs(w)) for g, w in zip(got, want))
assert worst <= 1e-4, f"{sys.argv[3]}: max relative error {worst:.2e} > 1e-4"
print(f"ok: {sys.argv[3]}: {len(got)} scores, max relative error vs HF {worst:.1e}")
EOF
}

# ---------------------------------------------------------------- golden ids
for model in $(python3 -c "import json;print(' '.join(m['name'] for m in json.load(open('$G/golden.json'))['models']))"); do
  python3 - "$G/golden.json" "$model" "$T/in.jsonl" "$T/want.txt" <<'EOF'
import json, sys
g = json.load(open(sys.argv[1]))
m = next(m for m in g["models"] if m["name"] == sys.argv[2])
with open(sys.argv[3], "w") as i, open(sys.argv[4], "w") as w:
    for p in m["pairs"]:
        i.write(json.dumps({"ids": p["ids"]}) + "\n")
        w.write(repr(p["score_f64"]) + "\n")
EOF
  for ext in bin safetensors; do
    for threads in 1 2; do
      "$CLI" score --model "$G/$model.$ext" --config "$G/$model.config.json" --tokenizer "$SPM" \
        --max-length 1024 --threads "$threads" --quiet < "$T/in.jsonl" > "$T/out.jsonl"
      compare "$T/want.txt" "$T/out.jsonl" "$model.$ext, $threads thread(s)"
    done
  done
done

# ---------------------------------------------------------------- demo text
python3 - "$D/hf_scores.jsonl" "$T/text.jsonl" "$T/ids.jsonl" "$T/want.txt" <<'EOF'
import json, sys
rows = [json.loads(l) for l in list(open(sys.argv[1]))[1:]]
with open(sys.argv[2], "w") as t, open(sys.argv[3], "w") as i, open(sys.argv[4], "w") as w:
    for r in rows:
        t.write(json.dumps({"query": r["query"], "document": r["document"]}) + "\n")
        i.write(json.dumps({"ids": r["ids"]}) + "\n")
        w.write(repr(r["score"]) + "\n")
EOF
"$CLI" score --model "$D/model" --tokenizer "$SPM" < "$T/text.jsonl" > "$T/out.jsonl" 2> "$T/err"
compare "$T/want.txt" "$T/out.jsonl" "demo model, text pairs (empty, over-long query and document included)"
grep -q "pair(s) were cut to --max-length 512" "$T/err" || { cat "$T/err" >&2; fail "no truncation note"; }
"$CLI" score --model "$D/model" --tokenizer "$SPM" --quiet < "$T/ids.jsonl" > "$T/out_ids.jsonl"
cmp "$T/out.jsonl" "$T/out_ids.jsonl" || fail "text and pre-tokenized ids score differently"
echo "ok: text and pre-tokenized input give identical output"
# Streaming in chunks of 5 lines (order across chunk boundaries), from a file, to a file.
"$CLI" score --model "$D/model" --tokenizer "$SPM" --quiet --chunk 5 --input "$T/text.jsonl" -o "$T/out_chunked.jsonl"
cmp "$T/out.jsonl" "$T/out_chunked.jsonl" || fail "chunked input scores differently"
echo "ok: chunks of 5 lines give the same output in the same order"

# ---------------------------------------------------------------- bad lines
check_bad() { # INPUT EXPECTED-MESSAGE
  printf '%b' "$1" > "$T/bad.jsonl"
  if "$CLI" score --model "$D/model" --tokenizer "$SPM" -o "$T/bad_out.jsonl" < "$T/bad.jsonl" 2> "$T/err"; then
    fail "accepted: $1"
  fi
  grep -qF "$2" "$T/err" || { cat "$T/err" >&2; fail "expected '$2'"; }
  [ ! -e "$T/bad_out.jsonl" ] || fail "output written despite a bad line"
}
good='{"query": "a", "document": "b"}\n'
check_bad "$good$good{\"query\": \"a\"}\n" 'line 3: expected {"query": string, "document": string}'
check_bad "$good{\"query\": \"a\", \"document\": 3}\n" 'line 2: expected'
check_bad "${good}not json\n" "line 2: not valid JSON"
check_bad '{"ids": [5, 6]}\n' 'line 1: "ids" must end with </s> (id 1)'
check_bad '{"ids": [40000, 1]}\n' 'line 1: id 40000 at position 0 is outside the vocabulary'
check_bad '{"ids": [1.5, 1]}\n' 'line 1: "ids"[0] is not a non-negative integer'
check_bad "$good\n" "line 2: not valid JSON"
echo "ok: malformed lines are errors naming the line; -o is not written"

printf '{"ids": [1]}\n{"query": "", "document": ""}\n' | "$CLI" score --model "$D/model" --tokenizer "$SPM" --quiet > "$T/edge.jsonl"
[ "$(wc -l < "$T/edge.jsonl")" -eq 2 ] || fail "single-token and empty inputs"
echo "ok: a single </s> token and an empty pair score"
