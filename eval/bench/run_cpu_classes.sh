#!/usr/bin/env bash
# eval/bench/run_cpu_classes.sh -- rankt5 against PyTorch (the model card's
# code), ONNX Runtime and OpenVINO, per CPU class, side by side in one run:
# the same checkpoint, the same batches of MS MARCO-like pairs (rankt5 bench's
# generator, --dump-pairs), the same thread count. Classes on one machine:
#   native  the CPU as it is (here AVX-512 + VNNI + BF16 + AMX)
#   avx2    capped to AVX2 + FMA (an AVX2-only CPU such as Zen 3):
#           RT5_MAX_ISA=avx2 (rankt5's kernels and its oneDNN),
#           ONEDNN_MAX_CPU_ISA=AVX2 (every oneDNN: rankt5's, PyTorch's,
#           OpenVINO's), ATEN_CPU_CAPABILITY=avx2 and MKL_ENABLE_INSTRUCTIONS=AVX2
#           (PyTorch's ATen kernels and MKL), OV_CPU_MAX_ISA=AVX2 (OpenVINO's own kernels;
#           honoured only by builds with its debug caps, so the kernels OpenVINO
#           chose are read back and printed). ONNX Runtime's MLAS has no cap:
#           its rows are native ISA, not capped.
# Per class, rounds interleave the runners (A B C ... A B C ...) so that load
# from other processes on a shared machine hits all alike; medians over
# rounds. One Python process per class (bench_runtimes.py interleave) keeps
# PyTorch, ONNX Runtime and OpenVINO loaded and runs rankt5 bench as a child
# in its turns; every turn has a warm-up pass on its first batch.
#
#   PYTHON=/work/venv-bench/bin/python bash eval/bench/run_cpu_classes.sh \
#       [--checkpoint /work/bench-data/t5-3b-4layer.bin] [--layers 4] [--pairs 4]
#       [--threads 2] [--rounds 3] [--classes native,avx2]
#       [--runtimes rankt5,pytorch,ort,openvino] [--build build] [--out DIR]
#
# PYTHON needs torch, transformers, onnx, onnxruntime and openvino
# (pip install torch transformers onnx onnxruntime openvino). A missing
# checkpoint is made (pytorch_baseline.py make-checkpoint --layers N), the
# ONNX files once beside it (bench_runtimes.py export). Also measured: oneDNN's
# standalone GEMM rate per class (bench_gemm), a batch of 2 pairs (rankt5 f32
# vs PyTorch fp32) and int8 against f32 at the accuracy gate (rankt5 compare
# on 4 queries x 12 documents). The report (report.md in --out) is printed.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PYTHON=${PYTHON:-python3}
CKPT=/work/bench-data/t5-3b-4layer.bin LAYERS=4 PAIRS=4 THREADS=2 ROUNDS=3
CLASSES=native,avx2 RUNTIMES=rankt5,pytorch,ort,openvino BUILD=$ROOT/build OUT=$(mktemp -d /tmp/rt5-classes.XXXXXX)
while [ $# -gt 0 ]; do
    case $1 in
    --checkpoint) CKPT=$2; shift ;;
    --layers) LAYERS=$2; shift ;;
    --pairs) PAIRS=$2; shift ;;
    --threads) THREADS=$2; shift ;;
    --rounds) ROUNDS=$2; shift ;;
    --classes) CLASSES=$2; shift ;;
    --runtimes) RUNTIMES=$2; shift ;;
    --build) BUILD=$2; shift ;;
    --out) OUT=$2; shift ;;
    -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
    *) echo "run_cpu_classes.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
mkdir -p "$OUT"
for b in rankt5 bench_gemm; do
    [ -x "$BUILD/$b" ] || { echo "run_cpu_classes.sh: $BUILD/$b missing: bash native/build.sh release" >&2; exit 1; }
done
has() { case ",$RUNTIMES," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }
if [ ! -f "$CKPT" ]; then
    mkdir -p "$(dirname "$CKPT")"
    "$PYTHON" "$HERE/pytorch_baseline.py" make-checkpoint --layers "$LAYERS" --out "$CKPT"
fi
ONNX=${CKPT%.*}-onnx
if has ort || has openvino; then
    "$PYTHON" "$HERE/bench_runtimes.py" export --checkpoint "$CKPT" --out "$ONNX"
fi

# The batches every runner scores, and a batch of 2 pairs.
"$BUILD/rankt5" bench --model "$CKPT" --pairs "$PAIRS" --threads "$THREADS" --repeat 1 --dump-pairs "$OUT/pairs.txt" \
    > /dev/null
"$BUILD/rankt5" bench --model "$CKPT" --pairs 2 --threads "$THREADS" --repeat 1 --dump-pairs "$OUT/pairs2.txt" > /dev/null
# 4 queries x 12 documents (query 6-12 ids, passage 40-200) for rankt5 compare
"$PYTHON" - "$OUT/gate.jsonl" <<'PY'
import json, random, sys
rng = random.Random(7)
with open(sys.argv[1], "w") as f:
    for q in range(4):
        query = [rng.randrange(3, 32000) for _ in range(rng.randint(6, 12))]
        for _ in range(12):
            doc = [rng.randrange(3, 32000) for _ in range(rng.randint(40, 200))]
            f.write(json.dumps({"qid": f"q{q}", "ids": query + [1] + doc + [1]}) + "\n")
PY

class_env() { # the environment of a CPU class, as env(1) arguments
    case $1 in
    native) echo "RT5_BENCH_CLASS=native" ;;
    avx2) echo "RT5_MAX_ISA=avx2 ONEDNN_MAX_CPU_ISA=AVX2 OV_CPU_MAX_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2 MKL_ENABLE_INSTRUCTIONS=AVX2" ;;
    *) echo "run_cpu_classes.sh: unknown class $1 (native, avx2)" >&2; exit 2 ;;
    esac
}
IFS=, read -r -a classes <<< "$CLASSES"
names=()
has rankt5 && names+=(rankt5-f32 rankt5-bf16 rankt5-int8)
has pytorch && names+=(pytorch-fp32 pytorch-bf16-autocast)
has ort && names+=(ort-fp32 ort-int8)
has openvino && names+=(openvino-fp32)
has rankt5 && has pytorch && names+=(rankt5-f32-b2 pytorch-fp32-b2)
{
    echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-); flags: $(grep -m1 flags /proc/cpuinfo |
        tr ' ' '\n' | grep -E '^(avx2|avx512f|avx512_vnni|avx512_bf16|amx_bf16|amx_int8)$' | tr '\n' ' ')"
    echo "rankt5: $(git -C "$ROOT" log -1 --format='%h %s' | cut -c1-80)"
    echo "checkpoint: $CKPT; pairs $PAIRS; threads $THREADS; rounds $ROUNDS"
} > "$OUT/machine.txt"
"$PYTHON" - >> "$OUT/machine.txt" <<'PY' || true
import importlib
for m in ("torch", "transformers", "onnx", "onnxruntime", "openvino"):
    try:
        print(f"{m}: {importlib.import_module(m).__version__}")
    except Exception as e:  # noqa: BLE001 (report whatever is missing)
        print(f"{m}: not available ({e})")
PY
for cls in "${classes[@]}"; do
    list=()
    for name in "${names[@]}"; do
        case $cls/$name in # native-only: bf16 on AVX2 would be emulated (PyTorch) or not bf16 at all (OpenVINO)
        avx2/pytorch-bf16-autocast | avx2/openvino-bf16) continue ;;
        native/*-b2) continue ;; # the batch of 2 is an AVX2 target
        esac
        list+=("$name")
    done
    echo "run_cpu_classes: $cls: $ROUNDS rounds of ${list[*]}" >&2
    # shellcheck disable=SC2046
    for r in $(seq 1 "$ROUNDS"); do
        env $(class_env "$cls") "$BUILD/bench_gemm" --threads "$THREADS" --json > "$OUT/$cls.gemm.$r.json" || true
    done
    # shellcheck disable=SC2046
    env $(class_env "$cls") "$PYTHON" "$HERE/bench_runtimes.py" interleave --runners "$(IFS=,; echo "${list[*]}")" \
        --rankt5 "$BUILD/rankt5" --checkpoint "$CKPT" --onnx-dir "$ONNX" --pairs "$OUT/pairs.txt" \
        --pairs2 "$OUT/pairs2.txt" --out "$OUT/$cls" --threads "$THREADS" --rounds "$ROUNDS"
done
for cls in "${classes[@]}"; do # int8 against f32 at the accuracy gate
    # shellcheck disable=SC2046
    env $(class_env "$cls") "$BUILD/rankt5" compare --model "$CKPT" --dtype int8 --input "$OUT/gate.jsonl" \
        --tokenizer "${RT5_SHARED_DIR:-$ROOT/../shared}/tokenizer/t5-spiece.model" \
        --threads "$THREADS" --workers 1 --json > "$OUT/$cls.compare_int8.json" 2> "$OUT/$cls.compare_int8.err" ||
        echo "{\"failed\": \"see $cls.compare_int8.err\"}" > "$OUT/$cls.compare_int8.json"
done
"$PYTHON" "$HERE/report_cpu_classes.py" "$OUT" | tee "$OUT/report.md"
