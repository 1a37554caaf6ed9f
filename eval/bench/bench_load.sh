#!/usr/bin/env bash
# bench_load.sh -- process start to "model ready", and the memory it adds:
# rankt5 vs PyTorch, side by side on one full-size checkpoint, warm cache.
#
#   bash eval/bench/bench_load.sh [CHECKPOINT] [RUNS] [CONVERTED_DIR]
#
# CHECKPOINT defaults to /work/bench-data/rankt5-3b-random/pytorch_model.bin,
# generated on demand by eval/bench/gen_big_checkpoint.py (t5-3b shapes, fp32,
# real torch.save, ~4.97 GB; never committed). Each configuration runs RUNS
# times (default 3) in a fresh process after one warm-up read of the file;
# the medians are printed. Needs a release build (native/build.sh) and, for
# the PyTorch rows (RT5_BENCH_NO_TORCH=1 skips them), python3 with torch and
# transformers. With CONVERTED_DIR,
# the same is measured for files written by `rankt5 convert` from
# CHECKPOINT (CONVERTED_DIR/<name>-{f32,bf16,int8}.safetensors and
# -int8-portable, made on demand): loaded in place, and, portable, reordered.
# "first score" adds a session and one 128-token forward pass, where a file
# used in place has its weight pages touched.
set -euo pipefail
cd "$(dirname "$0")/../.."
ckpt=${1:-/work/bench-data/rankt5-3b-random/pytorch_model.bin}
runs=${2:-3}
conv_dir=${3:-}
if [ ! -f "$ckpt" ]; then
  echo "generating $ckpt (a few minutes)" >&2
  python3 eval/bench/gen_big_checkpoint.py "$(dirname "$ckpt")" >&2
fi
build=${RT5_BUILD_DIR:-$(bash native/build.sh release)}
bin=$build/bench_load
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cat "$ckpt" > /dev/null  # warm page cache

run() {  # run NAME command...
  local name=$1; shift
  for i in $(seq "$runs"); do
    "$@" > "$out/$name.$i.json"
  done
}
run rankt5_bound "$bin" "$ckpt" --bound-only
run rankt5_ready_f32 "$bin" "$ckpt" --dtype f32
run rankt5_ready_bf16 "$bin" "$ckpt" --dtype bf16
run rankt5_ready_int8 "$bin" "$ckpt" --dtype int8
if [ -n "$conv_dir" ]; then
  mkdir -p "$conv_dir"
  stem=$conv_dir/$(basename "$(dirname "$ckpt")")
  for v in f32 bf16 int8 int8-portable; do
    f=$stem-$v.safetensors
    if [ ! -f "$f" ]; then
      flag=; [ "$v" = int8-portable ] && flag=--portable
      "$build/rankt5" convert --model "$ckpt" --dtype "${v%-portable}" $flag -o "$f" >&2
    fi
    cat "$f" > /dev/null
    run "converted_${v/-/_}" "$bin" "$f"
  done
fi
if [ -z "${RT5_BENCH_NO_TORCH:-}" ] && python3 -c "import torch, transformers" 2>/dev/null; then
  run torch_default python3 eval/bench/bench_load_torch.py "$ckpt" default
  run torch_mmap python3 eval/bench/bench_load_torch.py "$ckpt" mmap
fi

python3 - "$out" "$ckpt" <<'PY'
import glob, json, os, statistics, sys
out, ckpt = sys.argv[1], sys.argv[2]
rows = {}
for f in sorted(glob.glob(os.path.join(out, "*.json"))):
    name = os.path.basename(f).rsplit(".", 2)[0]
    rows.setdefault(name, []).append(json.load(open(f)))
def med(name, get):
    vals = [get(r) for r in rows.get(name, [])]
    return statistics.median(vals) if vals else float("nan")
print(f"checkpoint: {ckpt} ({os.path.getsize(ckpt):,} bytes), {os.cpu_count()} CPUs, "
      f"median of {len(next(iter(rows.values())))} runs, warm page cache")
print(f"{'configuration':38} {'start->ready s':>14} {'load s':>8} {'+RSS MB':>9} {'+anon MB':>9} {'peak RSS MB':>11} {'start->1st score s':>18}")
spec = [
    ("rankt5_bound", "rankt5: tensors bound", "process_start_to_bound_s", "bound_s", "bound"),
    ("rankt5_ready_f32", "rankt5: ready, f32 packed", "process_start_to_ready_s", "ready_s", "ready"),
    ("rankt5_ready_bf16", "rankt5: ready, bf16 packed", "process_start_to_ready_s", "ready_s", "ready"),
    ("rankt5_ready_int8", "rankt5: ready, int8 quantized+packed", "process_start_to_ready_s", "ready_s", "ready"),
    ("converted_f32", "rankt5 convert f32: in place", "process_start_to_ready_s", "ready_s", "ready"),
    ("converted_bf16", "rankt5 convert bf16: in place", "process_start_to_ready_s", "ready_s", "ready"),
    ("converted_int8", "rankt5 convert int8: in place", "process_start_to_ready_s", "ready_s", "ready"),
    ("converted_int8_portable", "rankt5 convert int8 --portable", "process_start_to_ready_s", "ready_s", "ready"),
    ("torch_default", "torch.load + load_state_dict", "process_start_to_ready_s", "load_s", "ready"),
    ("torch_mmap", "torch.load(mmap) + assign=True", "process_start_to_ready_s", "load_s", "ready"),
]
for key, label, start, load, memkey in spec:
    if key not in rows:
        continue
    first = med(key, lambda r: r.get("process_start_to_first_score_s", float("nan")))
    print(f"{label:38} {med(key, lambda r: r[start]):14.3f} {med(key, lambda r: r[load]):8.3f} "
          f"{med(key, lambda r: r[memkey]['added_rss_mb']):9.0f} "
          f"{med(key, lambda r: r[memkey]['added_anon_mb']):9.0f} "
          f"{med(key, lambda r: r[memkey]['peak_rss_mb']):11.0f} {first:18.3f}")
if "rankt5_ready_f32" in rows and "torch_default" in rows:
    a = med("rankt5_ready_f32", lambda r: r["process_start_to_ready_s"])
    b = med("torch_default", lambda r: r["process_start_to_ready_s"])
    print(f"ratio torch_default / rankt5_ready_f32 (start->ready): {b / a:.1f}x")
for dt in ("f32", "bf16", "int8"):
    if f"converted_{dt}" in rows and "rankt5_ready_f32" in rows:
        a = med(f"converted_{dt}", lambda r: r["process_start_to_ready_s"])
        b = med("rankt5_ready_f32", lambda r: r["process_start_to_ready_s"])
        print(f"ratio rankt5_ready_f32 / converted_{dt} (start->ready): {b / a:.1f}x")
PY
