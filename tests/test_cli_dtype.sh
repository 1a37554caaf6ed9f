#!/usr/bin/env bash
# test_cli_dtype.sh -- rankt5 score --dtype bf16|int8 end to end (text ->
# tokenizer -> reduced-precision model -> score) on the demo model (t5's real
# vocabulary, random weights; tests/fixtures/demo/hf_scores.jsonl holds
# transformers' scores): every score within the dtype's error budget of HF
# (|a-b| / max(1,|b|): bf16 1e-2, int8 3e-2), the per-query ranking close
# (mean Kendall tau >= 0.9 over the demo's queries), and f32 still exact.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
[ -f "$SPM" ] || { echo "skipped: $SPM missing"; exit 0; }
demo_pairs "$T/in.jsonl" "$T/want.txt"
for dt in f32 bf16 int8 auto; do
  if ! dtype_runs "$dt"; then
    # refused up front, naming the missing feature: exit 1, no "internal error", no output file
    set +e
    "$CLI" score --model "$D/model/model.safetensors" --tokenizer "$SPM" --dtype "$dt" --quiet \
        --input "$T/in.jsonl" -o "$T/refused.jsonl" 2> "$T/err.txt"; rc=$?
    set -e
    [ $rc -eq 1 ] || fail "--dtype $dt on a CPU without it: rc $rc"
    grep -q "AVX512_BF16 or AMX" "$T/err.txt" || fail "no reason given: $(cat "$T/err.txt")"
    ! grep -qi "internal error" "$T/err.txt" || fail "refusal reads as an internal error: $(cat "$T/err.txt")"
    [ ! -e "$T/refused.jsonl" ] || fail "output written on refusal"
    echo "ok: --dtype $dt refused with: $(cat "$T/err.txt")"
    continue
  fi
  "$CLI" score --model "$D/model/model.safetensors" --config "$D/model/config.json" --tokenizer "$SPM" \
      --dtype "$dt" --threads 2 --quiet --input "$T/in.jsonl" -o "$T/out_$dt.jsonl"
  python3 - "$T/want.txt" "$T/out_$dt.jsonl" "$dt" <<'PY'
import json, sys
want = [l.split() for l in open(sys.argv[1])]
got = [json.loads(l)["score"] for l in open(sys.argv[2])]
dt = sys.argv[3]
budget = {"f32": 1e-4, "bf16": 1e-2, "int8": 3e-2, "auto": 3e-2}[dt]
assert len(got) == len(want)
worst = max(abs(g - float(w)) / max(1.0, abs(float(w))) for g, (_, w) in zip(got, want))
taus = []
for q in sorted({q for q, _ in want}):
    idx = [i for i, (qq, _) in enumerate(want) if qq == q]
    c = d = 0
    for a in idx:
        for b in idx:
            if a < b:
                s = (float(want[a][1]) - float(want[b][1])) * (got[a] - got[b])
                c, d = c + (s > 0), d + (s < 0)
    taus.append((c - d) / (c + d) if c + d else 1.0)
mean_tau = sum(taus) / len(taus)
print(f"ok: score --dtype {dt}: {len(got)} pairs, max error vs HF {worst:.2e} (budget {budget:g}), "
      f"per-query Kendall tau mean {mean_tau:.3f} min {min(taus):.3f}")
assert worst <= budget, f"{dt}: {worst:.2e} > {budget}"
assert mean_tau >= 0.9, f"{dt}: tau {mean_tau}"
PY
done
"$CLI" score --help | grep -q -- "--dtype"
"$CLI" rerank --help | grep -q -- "--dtype"

# rankt5 bench: every dtype runs and reports a time split that adds up
for dt in f32 bf16 int8; do
  dtype_runs "$dt" || continue
  "$CLI" bench --model "$SRC/tests/fixtures/lowp/outlier.safetensors" \
      --config "$SRC/tests/fixtures/lowp/outlier.config.json" --dtype "$dt" --pairs 4 --repeat 1 --json > "$T/bench.json"
  python3 - "$T/bench.json" "$dt" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["dtype"] == sys.argv[2] and r["pairs"] == 4 and r["pairs_per_s"] > 0, r
split = sum(r["split"].values())
assert abs(split - 1) < 1e-3 and min(r["split"].values()) >= 0, r["split"]
assert (r["split"]["convert"] > 0) == (sys.argv[2] != "f32"), r["split"]
assert r["peak_rss_mib"] > 0 and r["first_score_s"] > 0 and r["n_layers"] == 3, r
print(f"ok: bench --dtype {sys.argv[2]}: {r['pairs_per_s']} pairs/s, split {r['split']}")
PY
done
set +e
"$CLI" bench --model "$SRC/tests/fixtures/lowp/outlier.safetensors" --dtype f16 2> /dev/null; rc=$?
set -e
[ $rc -eq 2 ] || { echo "bench --dtype f16: rc $rc, want 2"; exit 1; }
