#!/usr/bin/env python3
"""eval/bench/bench_runtimes.py -- the CPU runtimes a user would pick instead
of rankt5, on the batches `rankt5 bench` wrote (--dump-pairs): ONNX Runtime
(float32, and int8 by dynamic quantization) and OpenVINO (float32, bf16),
each running the T5 encoder plus the model card's head exported from the
same checkpoint as eval/bench/pytorch_baseline.py builds it.

  bench_runtimes.py export --checkpoint CKPT --out DIR
      DIR/rankt5_fp32.onnx: torch.onnx.export of the card's model (T5
      encoder + Linear -> LayerNorm -> Linear), opset 17, inputs input_ids and
      attention_mask (int64, dynamic batch and sequence), output scores
      (batch,). DIR/rankt5_int8.onnx: onnxruntime.quantization.quantize_dynamic
      of it (weights s8 per output channel, activations u8 per tensor,
      computed at run time: ORT's U8S8, its recommended format on x86-64).
  bench_runtimes.py run --runtime R --onnx-dir DIR --pairs FILE
                        [--threads 2] [--repeat 3] [--scores OUT]
      R: ort-fp32, ort-int8, openvino-fp32 (INFERENCE_PRECISION_HINT f32),
      openvino-bf16 (the hint bf16; OpenVINO's default on CPUs with bf16).
      Each batch padded to its longest pair with an attention mask, as the
      card's code does. Prints one JSON line like bench_lowp_pytorch.py's,
      with the runtime's version and, for OpenVINO, the kernels its CPU
      plugin chose for the products (so an ISA cap can be seen to hold).
  bench_runtimes.py interleave --runners A,B,... --rankt5 BIN --checkpoint CKPT
                        --onnx-dir DIR --pairs FILE --pairs2 FILE --out DIR [--rounds 3]
      Rounds of all runners in turn in one process (run_cpu_classes.sh's
      driver): Python runtimes loaded once, rankt5 bench as a child per turn.
  bench_runtimes.py isa
      What each runtime would use on this CPU: one JSON line.

ISA caps: ONNX Runtime's MLAS picks its kernels by cpuid and has no setting
that lowers them, so ORT rows are always "native ISA, not capped". OpenVINO's
CPU plugin is built on oneDNN; whether ONEDNN_MAX_CPU_ISA=AVX2 reaches it is
read back from the compiled model (`kernels` in the JSON), not assumed.
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time

START = time.perf_counter()
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def export(args):
    import torch
    import pytorch_baseline as base
    os.makedirs(args.out, exist_ok=True)
    fp32 = os.path.join(args.out, "rankt5_fp32.onnx")
    int8 = os.path.join(args.out, "rankt5_int8.onnx")
    if not os.path.exists(fp32):
        model = base.load_model(args.checkpoint)
        ids = torch.randint(3, 1000, (2, 24))
        mask = torch.ones_like(ids)
        tmp = fp32 + ".tmp.onnx"
        kw = dict(input_names=["input_ids", "attention_mask"], output_names=["scores"], opset_version=17,
                  dynamic_axes={"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"},
                                "scores": {0: "batch"}})
        with torch.inference_mode():
            try:  # the TorchScript exporter: dynamic axes by name, one file under 2 GB
                torch.onnx.export(model, (ids, mask), tmp, dynamo=False, **kw)
            except TypeError:  # torch < 2.5 has no dynamo= keyword
                torch.onnx.export(model, (ids, mask), tmp, **kw)
        os.replace(tmp, fp32)
        print(f"wrote {fp32} ({os.path.getsize(fp32) / 1e9:.2f} GB), torch {torch.__version__}", file=sys.stderr)
    if not os.path.exists(int8):
        from onnxruntime.quantization import QuantType, quantize_dynamic
        tmp = int8 + ".tmp.onnx"
        quantize_dynamic(fp32, tmp, weight_type=QuantType.QInt8, per_channel=True)
        os.replace(tmp, int8)
        print(f"wrote {int8} ({os.path.getsize(int8) / 1e9:.2f} GB)", file=sys.stderr)


def ort_session(path, threads):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    run = lambda ids, mask: sess.run(["scores"], {"input_ids": ids, "attention_mask": mask})[0]
    return run, {"runtime": "onnxruntime", "version": ort.__version__, "kernels": "MLAS, by cpuid (not capped)"}


def openvino_session(path, threads, precision):
    import openvino as ov
    core = ov.Core()
    compiled = core.compile_model(core.read_model(path), "CPU", {
        "INFERENCE_NUM_THREADS": threads, "NUM_STREAMS": 1, "PERFORMANCE_HINT": "LATENCY",
        "INFERENCE_PRECISION_HINT": precision})
    req = compiled.create_infer_request()

    def run(ids, mask):
        return req.infer({"input_ids": ids, "attention_mask": mask})[compiled.output(0)].copy()
    return run, {"runtime": "openvino", "version": ov.__version__.split("-")[0],
                 "precision": str(compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name()),
                 "kernels": lambda: openvino_kernels(compiled)}


def openvino_kernels(compiled):
    """The primitive types the CPU plugin ran its products with (read after
    inference: with dynamic shapes they are chosen at run time), with counts,
    and the ISA of its other JIT kernels, e.g. {'FullyConnected':
    {'brgemm_avx512_amx_f32': 26}, 'other jit': {'jit_avx512': 30}}: shows
    what it really ran, capped or not."""
    products, other = {}, {}
    for op in compiled.get_runtime_model().get_ordered_ops():
        info = op.get_rt_info()
        layer = info["layerType"].astype(str) if "layerType" in info else ""
        prim = info["primitiveType"].astype(str) if "primitiveType" in info else "?"
        if layer in ("FullyConnected", "MatMul"):
            products[prim] = products.get(prim, 0) + 1
        elif prim.startswith("jit_") or prim.startswith("brgemm"):
            isa = "_".join(prim.split("_")[:2])
            other[isa] = other.get(isa, 0) + 1
    return {"FullyConnected": products, "other jit": other}


def numpy_batches(batches):
    """Each batch padded to its longest pair, with its attention mask (int64)."""
    import numpy as np
    inputs = []
    for b in batches:
        n = max(len(s) for s in b)
        ids = np.zeros((len(b), n), dtype=np.int64)
        mask = np.zeros((len(b), n), dtype=np.int64)
        for i, s in enumerate(b):
            ids[i, :len(s)], mask[i, :len(s)] = s, 1
        inputs.append((ids, mask))
    return inputs


def run(args):
    import numpy as np
    import pytorch_baseline as base
    batches = base.read_batches(args.pairs)
    inputs = numpy_batches(batches)
    onnx = os.path.join(args.onnx_dir, "rankt5_int8.onnx" if args.runtime == "ort-int8" else "rankt5_fp32.onnx")
    if args.runtime.startswith("ort-"):
        fwd, meta = ort_session(onnx, args.threads)
    else:
        fwd, meta = openvino_session(onnx, args.threads, "bf16" if args.runtime == "openvino-bf16" else "f32")
    load_s = time.perf_counter() - START
    times, scores = base.timed_runs(fwd, inputs, args.repeat)
    med = statistics.median(times)
    if callable(meta.get("kernels")):
        meta["kernels"] = meta["kernels"]()
    n_pairs = sum(len(b) for b in batches)
    if args.scores:
        with open(args.scores, "w") as f:
            f.writelines(f"{float(s):.9g}\n" for s in np.concatenate(scores).reshape(-1))
    print(json.dumps({"impl": args.runtime, **meta, "threads": args.threads, "pairs": n_pairs,
                      "tokens": sum(len(s) for b in batches for s in b),
                      "padded_tokens": sum(i.size for i, _ in inputs), "median_s": round(med, 4),
                      "runs_s": [round(t, 4) for t in times], "pairs_per_s": round(n_pairs / med, 3),
                      "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                      "load_s": round(load_s, 3)}))


def python_runner(name, onnx_dir, checkpoint, threads, cache):
    """fwd(ids, mask) -> scores (numpy) and its metadata, for one Python
    runner; the PyTorch model is loaded once and shared by its modes."""
    if name.startswith("pytorch-"):
        import torch
        import pytorch_baseline as base
        torch.set_num_threads(threads)
        if "model" not in cache:
            cache["model"] = base.load_model(checkpoint)
        model, autocast = cache["model"], "bf16-autocast" in name

        def fwd(ids, mask):
            ids, mask = torch.from_numpy(ids), torch.from_numpy(mask)
            with torch.inference_mode():
                if autocast:
                    with torch.autocast("cpu", dtype=torch.bfloat16):
                        return model(ids, mask).float().numpy()
                return model(ids, mask).numpy()
        return fwd, {"runtime": "pytorch", "version": torch.__version__, "backend": base.torch_backend()}
    rt = name[:-3] if name.endswith("-b2") else name
    onnx = os.path.join(onnx_dir, "rankt5_int8.onnx" if rt == "ort-int8" else "rankt5_fp32.onnx")
    if rt.startswith("ort-"):
        return ort_session(onnx, threads)
    return openvino_session(onnx, threads, "bf16" if rt == "openvino-bf16" else "f32")


def interleave(args):
    """Rounds of every runner in turn (A B C ... A B C ...) in this one
    process: the Python runtimes stay loaded, rankt5 bench runs as a child
    per turn (its own load and warm-up, timed inside). Each turn writes
    OUT/NAME.ROUND.json (and scores_NAME.ROUND.txt), {"failed": why} when a
    runner cannot run here."""
    import subprocess
    import numpy as np
    import pytorch_baseline as base
    os.makedirs(args.out, exist_ok=True)
    pairs = {"": base.read_batches(args.pairs), "-b2": base.read_batches(args.pairs2)}
    inputs = {k: numpy_batches(v) for k, v in pairs.items()}
    runners, cache = {}, {}
    names = args.runners.split(",")
    for name in names:
        if name.startswith("rankt5-"):
            continue
        try:
            t0 = time.perf_counter()
            runners[name] = python_runner(name[:-3] if name.endswith("-b2") and name.startswith("pytorch") else name,
                                          args.onnx_dir, args.checkpoint, args.threads, cache)
            print(f"interleave: {name} ready in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        except Exception as e:  # noqa: BLE001 (recorded, the others go on)
            runners[name] = e
    for r in range(1, args.rounds + 1):
        for name in names:
            b2 = "-b2" if name.endswith("-b2") else ""
            out = os.path.join(args.out, f"{name}.{r}")
            scores_path = os.path.join(args.out, f"scores_{name}.{r}.txt")
            print(f"interleave: round {r}, {name}", file=sys.stderr)
            if name.startswith("rankt5-"):
                dt = name[len("rankt5-"):].replace("-b2", "")
                cmd = [args.rankt5, "bench", "--model", args.checkpoint, "--dtype", dt, "--threads", str(args.threads),
                       "--pairs", str(sum(len(b) for b in pairs[b2])), "--repeat", "1", "--scores", scores_path,
                       "--json"]
                p = subprocess.run(cmd, capture_output=True, text=True)
                line = p.stdout.strip() if p.returncode == 0 else json.dumps(
                    {"failed": " ".join(p.stderr.strip().splitlines()[-2:])})
            elif isinstance(runners[name], Exception):
                line = json.dumps({"failed": f"{type(runners[name]).__name__}: {runners[name]}"[:300]})
            else:
                fwd, meta = runners[name]
                meta = dict(meta)
                data = inputs[b2]
                fwd(*data[0])  # warm-up, as rankt5 bench does
                t0 = time.perf_counter()
                scores = [fwd(ids, mask) for ids, mask in data]
                sec = time.perf_counter() - t0
                if callable(meta.get("kernels")):
                    meta["kernels"] = meta["kernels"]()
                n = sum(len(b) for b in pairs[b2])
                with open(scores_path, "w") as f:
                    f.writelines(f"{float(x):.9g}\n" for x in np.concatenate(scores).reshape(-1))
                line = json.dumps({"impl": name, **meta, "threads": args.threads, "pairs": n,
                                   "padded_tokens": sum(i.size for i, _ in data), "median_s": round(sec, 4),
                                   "pairs_per_s": round(n / sec, 3)})
            with open(out + ".json", "w") as f:
                f.write(line + "\n")


def isa(_args):
    out = {}
    try:
        import onnxruntime as ort
        out["onnxruntime"] = {"version": ort.__version__, "isa": "MLAS by cpuid, cannot be capped"}
    except ImportError as e:
        out["onnxruntime"] = str(e)
    try:
        import openvino as ov
        core = ov.Core()
        out["openvino"] = {"version": ov.__version__,
                           "capabilities": list(core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")),
                           "cpu": core.get_property("CPU", "FULL_DEVICE_NAME")}
    except ImportError as e:
        out["openvino"] = str(e)
    print(json.dumps(out))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    ex = sub.add_parser("export")
    ex.add_argument("--checkpoint", required=True)
    ex.add_argument("--out", required=True)
    rn = sub.add_parser("run")
    rn.add_argument("--runtime", required=True, choices=["ort-fp32", "ort-int8", "openvino-fp32", "openvino-bf16"])
    rn.add_argument("--onnx-dir", required=True)
    rn.add_argument("--pairs", required=True)
    rn.add_argument("--threads", type=int, default=2)
    rn.add_argument("--repeat", type=int, default=3)
    rn.add_argument("--scores")
    il = sub.add_parser("interleave")
    il.add_argument("--runners", required=True)
    il.add_argument("--rankt5", required=True)
    il.add_argument("--checkpoint", required=True)
    il.add_argument("--onnx-dir", required=True)
    il.add_argument("--pairs", required=True)
    il.add_argument("--pairs2", required=True)
    il.add_argument("--out", required=True)
    il.add_argument("--threads", type=int, default=2)
    il.add_argument("--rounds", type=int, default=3)
    sub.add_parser("isa")
    args = ap.parse_args()
    {"export": export, "run": run, "interleave": interleave, "isa": isa}[args.cmd](args)


if __name__ == "__main__":
    main()
