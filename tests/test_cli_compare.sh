#!/usr/bin/env bash
# test_cli_compare.sh -- rankt5 compare on the outlier fixture model
# (tests/fixtures/lowp, scores from transformers): its figures must agree
# with the accuracy gates of test_quant, --json must be valid, and bad input
# and bad options must fail clearly.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
FIX=$SRC/tests/fixtures/lowp
[ -f "$SPM" ] || { echo "skipped: $SPM missing"; exit 0; }
python3 - "$FIX/scores.json" > "$T/pairs.jsonl" <<'PY'
import json, sys
for p in json.load(open(sys.argv[1]))["pairs"]:
    print(json.dumps({"qid": p["qid"], "ids": p["ids"]}))
PY
run() { "$CLI" compare --model "$FIX/outlier.safetensors" --config "$FIX/outlier.config.json" --tokenizer "$SPM" \
        --threads 2 "$@"; }

# int8 and bf16: the issue's gates (int8: tau and top-10 overlap >= 0.95 on average; bf16: error <= 1e-2)
# (the same gates on every CPU: without VNNI, int8 computes the same s32 products)
run --dtype int8 --input "$T/pairs.jsonl" --json > "$T/int8.json"
python3 - "$T/int8.json" <<'PY'
import json, sys
i8 = json.load(open(sys.argv[1]))
assert i8["pairs"] == 128 and i8["queries"] == 8 and i8["top_k"] == 10, i8
print("int8:", i8)
assert i8["dtype"] == "int8"
assert i8["kendall_tau_mean"] >= 0.95 and i8["top_k_overlap_mean"] >= 0.95, i8
PY
if dtype_runs bf16; then
  run --dtype bf16 --input "$T/pairs.jsonl" --json > "$T/bf16.json"
  python3 - "$T/bf16.json" <<'PY'
import json, sys
bf = json.load(open(sys.argv[1]))
assert bf["pairs"] == 128 and bf["queries"] == 8 and bf["top_k"] == 10, bf
print("bf16:", bf)
assert bf["dtype"] == "bf16"
assert bf["max_rel_error"] <= 1e-2 and bf["top_k_overlap_min"] >= 0.95, bf
assert 0 < bf["mean_abs_error"] <= bf["max_abs_error"], bf
PY
fi

# text output and per-query lines
run --dtype int8 --input "$T/pairs.jsonl" --per-query > "$T/text.txt"
grep -q "^query q0: 16 documents, Kendall tau" "$T/text.txt"
grep -q "Kendall tau      mean" "$T/text.txt"
grep -q "top-10 overlap" "$T/text.txt"

# without qid, the query text groups documents (two queries here)
printf '%s\n' '{"query": "a b", "document": "x"}' '{"query": "a b", "document": "y z"}' \
    '{"query": "c", "document": "x"}' > "$T/text.jsonl"
run --dtype int8 --input "$T/text.jsonl" --json > "$T/t.json"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["queries"] == 2 and r["pairs"] == 3, r' "$T/t.json"

# bad input: a broken line names its number and exits 1
printf '%s\n' '{"qid": "q", "ids": [5, 1]}' 'not json' > "$T/bad.jsonl"
set +e
run --dtype int8 --input "$T/bad.jsonl" 2> "$T/err.txt"; rc=$?
set -e
[ $rc -eq 1 ] && grep -q "line 2" "$T/err.txt"
# f32 against f32 is a usage error (exit 2); so is an unknown option
set +e
run --dtype f32 --input "$T/pairs.jsonl" 2> /dev/null; rc=$?
[ $rc -eq 2 ] || { echo "f32: rc $rc"; exit 1; }
run --dtype int8 --bogus 2> /dev/null; rc=$?
[ $rc -eq 2 ] || { echo "bogus: rc $rc"; exit 1; }
set -e
"$CLI" compare --help | grep -q "Kendall tau"

# a converted int8 file: compared against the original with --reference, the figures are the
# on-the-fly int8 ones exactly; without --reference it is refused (it would be compared with itself)
"$CLI" convert --model "$FIX/outlier.safetensors" --config "$FIX/outlier.config.json" --dtype int8 \
    -o "$T/outlier-int8.safetensors" 2> /dev/null
"$CLI" compare --model "$T/outlier-int8.safetensors" --reference "$FIX/outlier.safetensors" \
    --config "$FIX/outlier.config.json" --tokenizer "$SPM" --threads 2 --dtype int8 --input "$T/pairs.jsonl" \
    --json > "$T/conv.json"
python3 - "$T/int8.json" "$T/conv.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for k in ("max_abs_error", "mean_abs_error", "kendall_tau_mean", "top_k_overlap_mean", "pairs"):
    assert a[k] == b[k], (k, a[k], b[k])
print("converted int8 vs --reference: same figures as --dtype int8")
PY
set +e
"$CLI" compare --model "$T/outlier-int8.safetensors" --tokenizer "$SPM" --dtype int8 --input "$T/pairs.jsonl" \
    2> "$T/err.txt"; rc=$?
set -e
[ $rc -eq 1 ] && grep -q -- "--reference" "$T/err.txt" || { echo "converted without --reference: rc $rc"; exit 1; }
echo "test_cli_compare: ok"
