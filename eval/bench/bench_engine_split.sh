#!/usr/bin/env bash
# eval/bench/bench_engine_split.sh -- how should the engine split the cores: one
# worker running each batch with every thread (W=1 x T threads), or one
# worker per core (W=T x 1 thread)? Measures `rankt5 score` pairs/s for each
# split and batch budget on the same pairs, interleaving the runs so that
# machine noise hits every configuration alike; prints the median of REPEAT
# runs per configuration and the ratio to the first. docs/engine.md quotes
# the result behind the engine's default.
#
# Usage: bash eval/bench/bench_engine_split.sh [MODEL] [N_PAIRS] [REPEAT]
#   MODEL    a t5-3b-shaped checkpoint; the default is the 2-layer one made by
#            python3 eval/bench/pytorch_baseline.py make-checkpoint --layers 2
#            (same GEMM shapes per layer as t5-3b, so the split ratio carries)
#   N_PAIRS  pairs per run (default 96, from the demo queries and passages)
#   REPEAT   runs per configuration (default 3)
# Environment: RT5_BUILD (default build), RANKT5_T5_SPIECE, THREADS (default 2).
set -euo pipefail
cd "$(dirname "$0")/../.."
model=${1:-/work/bench-data/t5-3b-2layer.bin}
n_pairs=${2:-96}
repeat=${3:-3}
threads=${THREADS:-2}
cli=${RT5_BUILD:-build}/rankt5
spm=${RANKT5_T5_SPIECE:-${RT5_SHARED_DIR:-../shared}/tokenizer/t5-spiece.model}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Pairs: each demo query with two demo passages joined (~60-90 tokens, the
# length of an MS MARCO passage pair).
python3 - "$n_pairs" > "$tmp/pairs.jsonl" <<'PY'
import json, sys
n = int(sys.argv[1])
q = [l.rstrip("\n").split("\t", 1)[1] for l in open("tests/fixtures/demo/queries.tsv")]
c = [l.rstrip("\n").split("\t", 1)[1] for l in open("tests/fixtures/demo/collection.tsv")]
for i in range(n):
    print(json.dumps({"query": q[i % len(q)], "document": c[i % len(c)] + " " + c[(7 * i + 3) % len(c)]}))
PY

configs=("1 4096" "$threads 4096" "1 1024" "$threads 1024")
declare -A rates
for r in $(seq "$repeat"); do
  for cfg in "${configs[@]}"; do
    read -r workers budget <<< "$cfg"
    "$cli" score --model "$model" --tokenizer "$spm" --threads "$threads" --workers "$workers" \
      --batch-tokens "$budget" < "$tmp/pairs.jsonl" > /dev/null 2> "$tmp/err"
    rate=$(sed -n 's/.* (\([0-9.]*\) s, \([0-9.]*\) pairs\/s)$/\2/p' "$tmp/err" | tail -n 1)
    rates[$cfg]="${rates[$cfg]:-} $rate"
    echo "run $r: workers $workers x $((threads / workers)) thread(s), batch $budget tokens: $rate pairs/s" >&2
  done
done

echo "model $model, $n_pairs pairs, $threads threads, median of $repeat runs:"
base=""
for cfg in "${configs[@]}"; do
  read -r workers budget <<< "$cfg"
  # shellcheck disable=SC2086
  med=$(printf '%s\n' ${rates[$cfg]} | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  base=${base:-$med}
  printf '  %d worker(s) x %d thread(s), batch %5d tokens: %8.2f pairs/s  (x%.2f)\n' \
    "$workers" "$((threads / workers))" "$budget" "$med" "$(echo "$med / $base" | bc -l)"
done
