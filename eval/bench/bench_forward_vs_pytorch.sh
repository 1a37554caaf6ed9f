#!/usr/bin/env bash
# eval/bench/bench_forward_vs_pytorch.sh -- rankt5's forward pass and the model card's
# PyTorch code, side by side: same checkpoint, same pairs and batches, same
# thread count, runs alternated (C, PyTorch, C, PyTorch, ...) so that load from
# other processes on a shared machine hits both alike. Prints each run, the
# medians and the ratio.
#
#   bash eval/bench/bench_forward_vs_pytorch.sh BUILD_DIR CHECKPOINT [PAIRS] [THREADS] [ROUNDS]
#   e.g. bash eval/bench/bench_forward_vs_pytorch.sh build /work/bench-data/t5-3b-random.bin 8 2 3
set -euo pipefail
build=${1:?build dir}; ckpt=${2:?checkpoint}; pairs=${3:-8}; threads=${4:-2}; rounds=${5:-3}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
c_times=(); py_times=()
for r in $(seq 1 "$rounds"); do
  "$build/rankt5" bench --model "$ckpt" --pairs "$pairs" --threads "$threads" --repeat 1 \
      --dump-pairs "$tmp/pairs.txt" --scores "$tmp/c.txt" > "$tmp/c.log"
  sed 's/^/  rankt5:  /' "$tmp/c.log"
  c_times+=("$(sed -n 's/.*median \([0-9.]*\) s$/\1/p' "$tmp/c.log")")
  python3 "$here/pytorch_baseline.py" run --checkpoint "$ckpt" --pairs "$tmp/pairs.txt" --threads "$threads" \
      --repeat 1 --compare "$tmp/c.txt" > "$tmp/py.log"
  sed 's/^/  pytorch: /' "$tmp/py.log"
  py_times+=("$(sed -n 's/.*(median \([0-9.]*\) s)$/\1/p' "$tmp/py.log")")
done
python3 - "$pairs" "${c_times[*]}" "${py_times[*]}" <<'PY'
import statistics, sys
pairs = int(sys.argv[1]); c = [float(x) for x in sys.argv[2].split()]; p = [float(x) for x in sys.argv[3].split()]
mc, mp = statistics.median(c), statistics.median(p)
print(f"rankt5  runs {c} s: median {mc:.2f} s = {pairs / mc:.3f} pairs/s")
print(f"pytorch runs {p} s: median {mp:.2f} s = {pairs / mp:.3f} pairs/s")
print(f"speed-up rankt5 / pytorch: {mp / mc:.2f}x (per-round ratios {[round(b / a, 2) for a, b in zip(c, p)]})")
PY
