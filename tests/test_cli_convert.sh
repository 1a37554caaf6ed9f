#!/usr/bin/env bash
# test_cli_convert.sh -- rankt5 convert end to end on the demo model (t5's
# vocabulary, random weights): for each dtype and layout, `score` with the
# converted file gives byte-identical output to `score --dtype` on the
# original checkpoint, and that output is within the dtype's budget of
# transformers' scores (tests/fixtures/demo/hf_scores.jsonl); `info` reports
# the file as converted and used in place; bad invocations exit non-zero
# with a message and leave no file behind.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
[ -f "$SPM" ] || { echo "skipped: $SPM missing"; exit 0; }
M=$D/model/model.safetensors
demo_pairs "$T/in.jsonl" "$T/want.txt"
score() { "$CLI" score --tokenizer "$SPM" --threads 2 --quiet --input "$T/in.jsonl" "$@"; }

for dt in f32 bf16 int8; do
  dtype_runs "$dt" || continue
  for layout in packed portable; do
    flag=; [ "$layout" = portable ] && flag=--portable
    "$CLI" convert --model "$M" --dtype "$dt" $flag -o "$T/$dt-$layout.safetensors" 2> "$T/convert.log" \
        || { cat "$T/convert.log"; fail "convert $dt $layout"; }
    grep -q "scores 3 probe inputs identically" "$T/convert.log" || fail "convert $dt $layout did not verify"
    score --model "$M" --dtype "$dt" -o "$T/orig.jsonl"
    score --model "$T/$dt-$layout.safetensors" -o "$T/conv.jsonl"
    cmp -s "$T/orig.jsonl" "$T/conv.jsonl" || fail "$dt $layout: converted scores differ from --dtype $dt"
    "$CLI" info --model "$T/$dt-$layout.safetensors" --json > "$T/info.json"
    python3 - "$T/info.json" "$dt" "$layout" "$T/want.txt" "$T/conv.jsonl" <<'PY'
import json, sys
info = json.load(open(sys.argv[1]))
dt, layout = sys.argv[2], sys.argv[3]
assert info["converted"] is True and info["compute_dtype"] == dt and info["file_dtype"] == dt, info
want_in_place = 4 * info["num_layers"] if layout == "packed" else 0
assert info["linears_in_place"] == want_in_place, info
assert info["warnings"] == [], info
want = [float(l.split()[1]) for l in open(sys.argv[4])]
got = [json.loads(l)["score"] for l in open(sys.argv[5])]
budget = {"f32": 1e-4, "bf16": 1e-2, "int8": 3e-2}[dt]
worst = max(abs(g - w) / max(1.0, abs(w)) for g, w in zip(got, want))
assert len(got) == len(want) and worst <= budget, (dt, worst)
print(f"ok: convert --dtype {dt} ({layout}): {len(got)} scores identical to --dtype {dt}, "
      f"max error vs HF {worst:.2e}, {info['linears_in_place']} products in place")
PY
  done
done

# a converted file computes in its own dtype only
if score --model "$T/int8-packed.safetensors" --dtype bf16 -o "$T/x.jsonl" 2> "$T/err.txt"; then
  fail "int8 file scored with --dtype bf16"
fi
grep -q "converted to int8" "$T/err.txt" || fail "no reason given: $(cat "$T/err.txt")"
[ ! -e "$T/x.jsonl" ] || fail "output written on failure"

# usage errors: exit 2 with a hint
set +e
"$CLI" convert --model "$M" -o "$T/a.safetensors" 2> "$T/err.txt"; rc=$?
set -e
[ "$rc" = 2 ] && grep -q -- "--dtype is required" "$T/err.txt" || fail "missing --dtype: rc $rc"
set +e
"$CLI" convert --model "$M" --dtype int8 2> "$T/err.txt"; rc=$?
set -e
[ "$rc" = 2 ] && grep -q -- "-o OUT.safetensors is required" "$T/err.txt" || fail "missing -o: rc $rc"
set +e
"$CLI" convert --model "$M" --dtype fp8 -o "$T/a.safetensors" 2> "$T/err.txt"; rc=$?
set -e
[ "$rc" = 2 ] || fail "bad dtype: rc $rc"

# runtime errors: exit 1, the input untouched, nothing left behind
cp "$M" "$T/copy.safetensors"
set +e
"$CLI" convert --model "$T/copy.safetensors" --dtype int8 -o "$T/copy.safetensors" 2> "$T/err.txt"; rc=$?
set -e
[ "$rc" = 1 ] && grep -q "is the input file" "$T/err.txt" || fail "converting onto the input: rc $rc"
cmp -s "$M" "$T/copy.safetensors" || fail "input file changed"
mkdir "$T/outdir"
set +e
"$CLI" convert --model "$M" --dtype int8 -o "$T/outdir" 2> "$T/err.txt"; rc=$?
set -e
[ "$rc" = 1 ] || fail "output onto a directory: rc $rc"
[ -z "$(ls -A "$T/outdir")" ] && ! ls "$T" | grep -q "\.tmp\." || fail "temporary file left behind: $(ls "$T")"
set +e
"$CLI" convert --model "$T/missing.bin" --dtype int8 -o "$T/b.safetensors" 2> "$T/err.txt"; rc=$?
set -e
[ "$rc" = 1 ] && grep -q "missing.bin" "$T/err.txt" && [ ! -e "$T/b.safetensors" ] || fail "missing input: rc $rc"
"$CLI" convert --help | grep -q -- "--portable" || fail "help does not teach --portable"
echo "ok: convert usage and error paths"
