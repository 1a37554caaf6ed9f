#!/usr/bin/env bash
# test_formats_hostile.sh -- `rankt5 info` on every file of the hostile
# corpus (tests/fixtures/hostile/EXPECTED.tsv): each must exit 1 with an
# error naming the file and the problem, never crash, never run a payload;
# and on the good fixtures it must print the inferred configuration.
set -u
cli=${RT5_CLI:?RT5_CLI must point at the rankt5 binary}
src=${RT5_SOURCE_DIR:-.}
hostile=$src/tests/fixtures/hostile
marker=/tmp/rankt5-hostile-pwned
rm -f "$marker"
fail=0
n=0
while IFS=$'\t' read -r file status fragment; do
  case "$file" in '#'*|'') continue ;; esac
  n=$((n + 1))
  err=$("$cli" info --model "$hostile/$file" 2>&1 >/dev/null)
  rc=$?
  if [ $rc -ne 1 ]; then
    echo "FAIL $file: exit $rc (want 1): $err"; fail=1; continue
  fi
  case "$err" in
    *"$fragment"*) ;;
    *) echo "FAIL $file: message lacks '$fragment': $err"; fail=1 ;;
  esac
  case "$err" in
    *"$file"*) ;;
    *) echo "FAIL $file: message does not name the file: $err"; fail=1 ;;
  esac
done < "$hostile/EXPECTED.tsv"
if [ -e "$marker" ]; then
  echo "FAIL: a hostile payload ran ($marker exists)"; fail=1
fi
[ $n -ge 50 ] || { echo "FAIL: only $n hostile cases"; fail=1; }

# Good fixtures: the text and JSON reports.
fix=$src/tests/fixtures/checkpoints
out=$("$cli" info --model "$fix/gated_bf16.bin") || { echo "FAIL info gated_bf16.bin"; fail=1; }
for want in "d_model          16" "d_ff             32" "heads            2 x d_kv 4" \
            "layers           2" "vocab            40" "relative buckets 8 (max distance 128)" \
            "feed-forward     gated-gelu" "file dtype       bf16" "warnings         0"; do
  case "$out" in *"$want"*) ;; *) echo "FAIL info text lacks '$want'"; fail=1 ;; esac
done
json=$("$cli" info --json --model "$fix/relu_f32_sharded") || { echo "FAIL info --json"; fail=1; }
python3 - "$json" <<'PY' || fail=1
import json, sys
info = json.loads(sys.argv[1])
want = {"d_model": 16, "num_layers": 2, "relative_attention_max_distance": 64,
        "feed_forward_proj": "relu", "file_dtype": "f32", "n_params": 4129}
bad = {k: info.get(k) for k, v in want.items() if info.get(k) != v}
if bad or abs(info["layer_norm_epsilon"] - 1e-5) > 1e-9:
    print("FAIL info --json:", bad, info["layer_norm_epsilon"]); sys.exit(1)
PY
# without --model, info describes the CPU only (exit 0); an unknown option is still a usage error
cpu_text=$("$cli" info 2>&1) && grep -q "^cpu isa" <<< "$cpu_text" && grep -q "^dtypes native" <<< "$cpu_text" \
    || { echo "FAIL: info without --model should print the CPU"; fail=1; }
"$cli" info --bogus >/dev/null 2>&1; [ $? -eq 2 ] || { echo "FAIL: info --bogus should exit 2"; fail=1; }
"$cli" info --help | grep -q "Usage: rankt5 info" || { echo "FAIL: info --help"; fail=1; }
[ $fail -eq 0 ] && echo "ok: $n hostile files refused, info reports checked"
exit $fail
