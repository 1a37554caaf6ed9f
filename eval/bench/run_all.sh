#!/usr/bin/env bash
# eval/bench/run_all.sh -- the combined speed/memory/accuracy report of issue 5,
# in one run on one machine: rankt5 in f32, bf16 and int8 (rankt5 bench) and
# the model card's PyTorch code in float32 and with bfloat16 autocast
# (bench_lowp_pytorch.py) on the same checkpoint, the same batches of
# MS MARCO-like pairs and the same thread count, plus oneDNN's standalone
# GEMM rate at the model's shapes (bench_gemm). Prints the ratios.
#
#   bash eval/bench/run_all.sh [--checkpoint PATH] [--pairs 16] [--threads 2]
#                         [--repeat 3] [--build DIR] [--out DIR] [--skip-pytorch]
#
# PYTHON (default python3) runs the PyTorch scripts: an interpreter with
# torch and transformers (torch >= 2.1 maps the checkpoint; older torch
# copies it, see pytorch_baseline.py). A dtype this CPU cannot run natively
# (bf16 without AVX512_BF16/AMX, e.g. under RT5_MAX_ISA=avx2) is reported
# as refused, with rankt5's reason, and the run goes on; PyTorch's bf16
# autocast is then skipped too (it would run emulated).
# eval/bench/run_cpu_classes.sh adds ONNX Runtime and OpenVINO and runs
# the whole set natively and capped to AVX2.
#
# The checkpoint defaults to /work/bench-data/t5-3b-random.bin, a random
# t5-3b-shaped RankT5 written by real torch.save; it is made on demand by
# eval/bench/pytorch_baseline.py make-checkpoint (4.97 GB, never committed).
# The machine is shared and noisy: repeat the run and quote medians.
set -euo pipefail
PYTHON=${PYTHON:-python3}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CKPT=/work/bench-data/t5-3b-random.bin
PAIRS=16 THREADS=2 REPEAT=3 BUILD=$ROOT/build OUT=$(mktemp -d /tmp/rt5-bench.XXXXXX) PYTORCH=1
while [ $# -gt 0 ]; do
    case $1 in
    --checkpoint) CKPT=$2; shift ;;
    --pairs) PAIRS=$2; shift ;;
    --threads) THREADS=$2; shift ;;
    --repeat) REPEAT=$2; shift ;;
    --build) BUILD=$2; shift ;;
    --out) OUT=$2; shift ;;
    --skip-pytorch) PYTORCH=0 ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    *) echo "run_all.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
mkdir -p "$OUT"
for b in rankt5 bench_gemm; do
    [ -x "$BUILD/$b" ] || { echo "run_all.sh: $BUILD/$b missing: bash native/build.sh release" >&2; exit 1; }
done
if [ ! -f "$CKPT" ]; then
    mkdir -p "$(dirname "$CKPT")"
    "$PYTHON" "$HERE/pytorch_baseline.py" make-checkpoint --out "$CKPT"
fi
echo "run_all: checkpoint $CKPT, $PAIRS pairs, $THREADS threads, $REPEAT runs; results in $OUT" >&2
"$BUILD/bench_gemm" --threads "$THREADS" --json > "$OUT/gemm.json"
# only the dtypes this CPU computes (`rankt5 info`): bf16 needs AVX512_BF16 or AMX
DTYPES=$("$BUILD/rankt5" info --json | python3 -c 'import json,sys; print(" ".join(json.load(sys.stdin)["cpu"]["dtypes"]))')
for dt in f32 bf16 int8; do
    case " $DTYPES " in *" $dt "*) ;; *) echo "run_all: rankt5 $dt skipped: not computed on this CPU (rankt5 info)" >&2
                                           rm -f "$OUT/rankt5_$dt.json" "$OUT/scores_$dt.txt"; continue ;; esac
    echo "run_all: rankt5 $dt" >&2
    if ! "$BUILD/rankt5" bench --model "$CKPT" --dtype "$dt" --pairs "$PAIRS" --threads "$THREADS" --repeat "$REPEAT" \
        --dump-pairs "$OUT/pairs.txt" --scores "$OUT/scores_$dt.txt" --json > "$OUT/rankt5_$dt.json" \
        2> "$OUT/rankt5_$dt.err"; then
        # a dtype this CPU cannot run (bf16 without AVX512_BF16/AMX): keep its reason, go on
        cat "$OUT/rankt5_$dt.err" >&2
        "$PYTHON" -c 'import json, sys; print(json.dumps({"dtype": sys.argv[1], "refused": sys.argv[2].strip()}))' \
            "$dt" "$(tail -n 3 "$OUT/rankt5_$dt.err")" > "$OUT/rankt5_$dt.json"
        rm -f "$OUT/scores_$dt.txt"
    fi
done
if [ "$PYTORCH" = 1 ]; then
    for mode in fp32 bf16-autocast; do
        if [ "$mode" = bf16-autocast ] && { [ ! -f "$OUT/rankt5_bf16.json" ] || grep -q '"refused"' "$OUT/rankt5_bf16.json"; }; then
            echo "run_all: pytorch bf16-autocast skipped: no native bf16 on this CPU (it would run emulated)" >&2
            continue
        fi
        echo "run_all: pytorch $mode" >&2
        "$PYTHON" "$HERE/bench_lowp_pytorch.py" --checkpoint "$CKPT" --pairs "$OUT/pairs.txt" --mode "$mode" \
            --threads "$THREADS" --repeat "$REPEAT" --scores "$OUT/scores_pytorch_$mode.txt" > "$OUT/pytorch_$mode.json"
    done
fi
"$PYTHON" - "$OUT" <<'PY'
import json, os, sys
out = sys.argv[1]
load = lambda name: json.load(open(os.path.join(out, name))) if os.path.exists(os.path.join(out, name)) else None
gemm = load("gemm.json")
ours = {dt: load(f"rankt5_{dt}.json") for dt in ("f32", "bf16", "int8")}
for dt, r in list(ours.items()):
    if r and "refused" in r:
        print(f"rankt5 {dt}: refused on this CPU (not native): {r['refused']}")
    elif not r:
        print(f"rankt5 {dt}: skipped, not computed natively on this CPU (rankt5 info)")
ours = {dt: r for dt, r in ours.items() if r and "refused" not in r}
pt = {m: load(f"pytorch_{m}.json") for m in ("fp32", "bf16-autocast")}
scores = lambda name: [float(x) for x in open(os.path.join(out, name))] if os.path.exists(os.path.join(out, name)) else None
# bytes of the weights in each dtype (rankt5 bench computes them: GEMM weights in the dtype, the rest f32)
wbytes = {dt: r["weights_mib"] * 1048576 for dt, r in ours.items()}
base = pt["fp32"]["pairs_per_s"] if pt["fp32"] else None
auto = pt["bf16-autocast"]["pairs_per_s"] if pt["bf16-autocast"] else None
print(f"{'':22s}{'pairs/s':>9s}{'tokens/s':>10s}{'x PT fp32':>10s}{'x PT bf16':>10s}{'GEMM %':>8s}{'cvt %':>7s}"
      f"{'GFLOP/s':>9s}{'oneDNN':>8s}{'peak MiB':>10s}{'x weights':>10s}{'1st score s':>12s}")
for dt, r in ours.items():
    g = gemm.get(dt) or float("nan")
    print(f"{'rankt5 ' + dt:22s}{r['pairs_per_s']:9.2f}{r['tokens_per_s']:10.0f}"
          f"{(r['pairs_per_s'] / base if base else float('nan')):10.2f}{(r['pairs_per_s'] / auto if auto else float('nan')):10.2f}"
          f"{100 * r['split']['gemm']:7.1f}%{100 * r['split']['convert']:6.1f}%{r['gemm_gflops']:9.1f}{g:8.1f}{r['peak_rss_mib']:10.0f}"
          f"{r['peak_rss_mib'] * 1048576 / wbytes[dt]:10.2f}{r['first_score_s']:12.1f}")
for m, r in pt.items():
    if r:
        w = wbytes["f32"]
        print(f"{'pytorch ' + m:22s}{r['pairs_per_s']:9.2f}{r['tokens_per_s']:10.0f}{r['pairs_per_s'] / base:10.2f}"
              f"{(r['pairs_per_s'] / auto if auto else float('nan')):10.2f}{'':8s}{'':7s}{'':9s}{'':8s}{r['peak_rss_mib']:10.0f}"
              f"{r['peak_rss_mib'] * 1048576 / w:10.2f}{r['first_score_s']:12.1f}")
print()
for dt, r in ours.items():
    s = r["split"]
    print(f"rankt5 {dt:5s} time split: gemm {100 * s['gemm']:.1f}%  convert {100 * s['convert']:.1f}%  "
          f"attention {100 * s['attention']:.1f}%  norms {100 * s['norm']:.1f}%  other {100 * s['other']:.1f}%  "
          f"glue {100 * s['glue']:.1f}%;  GEMM rate {r['gemm_gflops']:.1f} GFLOP/s = "
          + (f"{100 * r['gemm_gflops'] / gemm[dt]:.0f}% of oneDNN standalone ({gemm[dt]:.1f})" if gemm.get(dt)
             else "n/a of oneDNN standalone"))
ref = scores("scores_f32.txt")
ptf = scores("scores_pytorch_fp32.txt")
if ref and ptf:
    print(f"\nrankt5 f32 vs PyTorch fp32 scores: max |a-b|/max(1,|b|) = "
          f"{max(abs(a - b) / max(1, abs(b)) for a, b in zip(ref, ptf)):.2e} over {len(ref)} pairs")
for dt in ("bf16", "int8"):
    got = scores(f"scores_{dt}.txt")
    if ref and got and dt in ours:
        print(f"rankt5 {dt} vs rankt5 f32 scores: max |a-b|/max(1,|b|) = "
              f"{max(abs(a - b) / max(1, abs(b)) for a, b in zip(got, ref)):.2e}")
PY
