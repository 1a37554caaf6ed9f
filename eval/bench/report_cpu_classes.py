#!/usr/bin/env python3
"""eval/bench/report_cpu_classes.py OUT -- the tables of run_cpu_classes.sh
from its folder: per CPU class, pairs/s of every runner (median over rounds,
each round's value in brackets), the ratio to PyTorch fp32 and to rankt5 f32,
the score error against PyTorch fp32 of the same class, what ran the
products, then the issue's AVX2 targets. Markdown on standard output.
"""
import glob
import json
import os
import statistics
import sys

LABEL = {
    "rankt5-f32": "rankt5 f32", "rankt5-bf16": "rankt5 bf16", "rankt5-int8": "rankt5 int8",
    "pytorch-fp32": "PyTorch fp32 (card's code)", "pytorch-bf16-autocast": "PyTorch bf16 autocast",
    "ort-fp32": "ONNX Runtime fp32", "ort-int8": "ONNX Runtime int8 (dynamic quantization)",
    "openvino-fp32": "OpenVINO fp32", "openvino-bf16": "OpenVINO bf16",
    "rankt5-f32-b2": "rankt5 f32, batch of 2 pairs", "pytorch-fp32-b2": "PyTorch fp32, batch of 2 pairs",
}


def load(path):
    try:
        with open(path) as f:
            return json.loads(f.read().strip().splitlines()[-1])
    except (OSError, ValueError, IndexError):
        return None


def scores(path):
    try:
        with open(path) as f:
            return [float(x) for x in f]
    except OSError:
        return None


def kendall_tau(a, b):
    n, s = len(a), 0
    for i in range(n):
        for j in range(i + 1, n):
            x, y = a[i] - a[j], b[i] - b[j]
            s += (x > 0) - (x < 0) if y > 0 else ((x < 0) - (x > 0) if y < 0 else 0)
    return 2 * s / (n * (n - 1)) if n > 1 else float("nan")


def runs_of(out, cls, name):
    return [r for r in (load(p) for p in sorted(glob.glob(os.path.join(out, cls, f"{name}.*.json")))) if r]


def rounds_of(out, cls, name):
    """{round: result} of the runs that produced a rate."""
    got = {}
    for p in glob.glob(os.path.join(out, cls, f"{name}.*.json")):
        r = load(p)
        if r and "pairs_per_s" in r:
            got[int(p.rsplit(".", 2)[1])] = r
    return got


def kernels(cls, name, r):
    if name.startswith("rankt5"):
        return "oneDNN + rankt5 kernels, " + ("capped to AVX2" if cls == "avx2" else "native ISA")
    if name.startswith("pytorch"):
        return r.get("backend", "?")
    if name.startswith("ort"):
        return "MLAS by cpuid: native ISA, not capped"
    k = r.get("kernels", {})
    fc = ", ".join(f"{v} x {n}" for n, v in sorted(k.get("FullyConnected", {}).items()))
    jit = ", ".join(f"{v} x {n}" for n, v in sorted(k.get("other jit", {}).items()))
    return f"OpenVINO {r.get('precision', '')}: products {fc or '?'}; other JIT kernels {jit or '?'}"


def table(out, cls, names):
    ref_runs = runs_of(out, cls, "pytorch-fp32")
    base = statistics.median(r["pairs_per_s"] for r in ref_runs) if ref_runs else None
    f32_runs = runs_of(out, cls, "rankt5-f32")
    ours = statistics.median(r["pairs_per_s"] for r in f32_runs) if f32_runs else None
    ref_scores = scores(os.path.join(out, cls, "scores_pytorch-fp32.1.txt"))
    rows = ["| runner | pairs/s, median (rounds) | x PyTorch fp32 (same-round ratios) | x rankt5 f32 | max abs error vs PyTorch fp32 "
            "| Kendall tau vs PyTorch fp32 (all pairs) | products run by |", "|---|---|---|---|---|---|---|"]
    medians = {}
    for name in names:
        runs = runs_of(out, cls, name)
        if not runs:
            continue
        failed = [r["failed"] for r in runs if "failed" in r]
        ok = [r for r in runs if "pairs_per_s" in r]
        if not ok:
            rows.append(f"| {LABEL.get(name, name)} | refused / failed: {failed[0][:200]} | | | | | |")
            continue
        med = statistics.median(r["pairs_per_s"] for r in ok)
        medians[name] = med
        each = ", ".join(f"{r['pairs_per_s']:.2f}" for r in ok)
        err = tau = ""
        got = scores(os.path.join(out, cls, f"scores_{name}.1.txt"))
        if ref_scores and got and len(got) == len(ref_scores) and not name.endswith("-b2"):
            err = f"{max(abs(a - b) for a, b in zip(got, ref_scores)):.2e}"
            tau = f"{kendall_tau(got, ref_scores):.3f}"
        b2 = name.endswith("-b2")
        x_pt = med / base if base and not b2 else None
        x_us = med / ours if ours and not b2 else None
        if x_pt and name != "pytorch-fp32":  # the same round's ratios: load hits neighbours alike
            per = {r: ok_r["pairs_per_s"] for r, ok_r in rounds_of(out, cls, name).items()}
            ref = rounds_of(out, cls, "pytorch-fp32")
            ratios = [per[r] / ref[r]["pairs_per_s"] for r in sorted(per) if r in ref]
            x_pt = f"{x_pt:.2f} (rounds {', '.join('%.2f' % x for x in ratios)})"
        elif x_pt:
            x_pt = f"{x_pt:.2f}"
        rows.append(f"| {LABEL.get(name, name)} | {med:.2f} ({each}) | {x_pt or ''} | "
                    f"{f'{x_us:.2f}' if x_us else ''} | {err} | {tau} | {kernels(cls, name, ok[0])} |")
    return rows, medians


def main():
    out = sys.argv[1]
    machine = open(os.path.join(out, "machine.txt")).read().strip() if os.path.exists(
        os.path.join(out, "machine.txt")) else ""
    print("```\n" + machine + "\n```\n")
    names = list(LABEL)
    classes = [c for c in ("native", "avx2") if os.path.isdir(os.path.join(out, c))]
    meds, gemm = {}, {}
    for cls in classes:
        title = {"native": "native ISA (AVX-512 + VNNI + BF16 + AMX)",
                 "avx2": "capped to AVX2 (RT5_MAX_ISA=avx2, ONEDNN_MAX_CPU_ISA=AVX2, ATEN_CPU_CAPABILITY=avx2, "
                         "MKL_ENABLE_INSTRUCTIONS=AVX2)"}[cls]
        print(f"### CPU class: {title}\n")
        rows, meds[cls] = table(out, cls, names)
        print("\n".join(rows))
        g = [load(p) for p in sorted(glob.glob(os.path.join(out, f"{cls}.gemm.*.json")))]
        g = [x for x in g if x]
        gemm[cls] = {dt: [x[dt] for x in g if x.get(dt) is not None] for dt in ("f32", "bf16", "int8")}
        ours = {dt: runs_of(out, cls, f"rankt5-{dt}") for dt in ("f32", "bf16", "int8")}
        print()
        for dt in ("f32", "bf16", "int8"):
            ok = [r for r in ours[dt] if "gemm_gflops" in r]
            sa = gemm[cls][dt]
            if ok and sa:
                inm, st = statistics.median(r["gemm_gflops"] for r in ok), statistics.median(sa)
                share = statistics.median(r["split"]["gemm"] for r in ok)
                print(f"- rankt5 {dt}: in-model GEMM {inm:.1f} GFLOP/s (rounds "
                      f"{', '.join('%.1f' % r['gemm_gflops'] for r in ok)}) = {100 * inm / st:.0f}% of oneDNN "
                      f"standalone {st:.1f} (rounds {', '.join('%.1f' % x for x in sa)}); GEMM share "
                      f"{100 * share:.1f}% of the forward")
            elif not sa:
                print(f"- oneDNN standalone {dt}: no implementation on this class (bench_gemm: null)")
        c = load(os.path.join(out, f"{cls}.compare_int8.json"))
        if c and "failed" not in c:
            print(f"- int8 vs f32 at the accuracy gate (rankt5 compare, {c['pairs']} pairs in {c['queries']} "
                  f"queries): Kendall tau mean {c['kendall_tau_mean']:.4f} (worst {c['kendall_tau_min']:.4f}), "
                  f"top-{c['top_k']} overlap mean {c['top_k_overlap_mean']:.3f} (worst {c['top_k_overlap_min']:.3f}), "
                  f"max abs error {c['max_abs_error']:.3g}; speed f32 {c['f32_pairs_per_s']:.2f}, int8 "
                  f"{c['int8_pairs_per_s']:.2f} pairs/s = {c['int8_pairs_per_s'] / c['f32_pairs_per_s']:.2f}x")
        elif c:
            print(f"- int8 vs f32 at the accuracy gate: {c['failed']}")
        print()
    if "avx2" in meds:
        m, g = meds["avx2"], gemm["avx2"]
        print("### AVX2 targets\n")
        ok = [r for r in runs_of(out, "avx2", "rankt5-f32") if "gemm_gflops" in r]
        if ok and g["f32"]:
            pct = 100 * statistics.median(r["gemm_gflops"] for r in ok) / statistics.median(g["f32"])
            print(f"- in-model f32 GEMM rate >= 85% of oneDNN standalone: {pct:.0f}% -- "
                  f"{'met' if pct >= 85 else 'NOT met'}")
        if "rankt5-f32-b2" in m and "pytorch-fp32-b2" in m:
            x = m["rankt5-f32-b2"] / m["pytorch-fp32-b2"]
            a, b = rounds_of(out, "avx2", "rankt5-f32-b2"), rounds_of(out, "avx2", "pytorch-fp32-b2")
            per = ", ".join("%.2f" % (a[r]["pairs_per_s"] / b[r]["pairs_per_s"]) for r in sorted(a) if r in b)
            print(f"- batch of 2 pairs no slower than PyTorch: rankt5 f32 {m['rankt5-f32-b2']:.2f} vs PyTorch fp32 "
                  f"{m['pytorch-fp32-b2']:.2f} pairs/s = {x:.2f}x (same-round ratios {per}) -- "
                  f"{'met' if x >= 1 else 'NOT met'}")
        if "rankt5-int8" in m and "rankt5-f32" in m:
            x = m["rankt5-int8"] / m["rankt5-f32"]
            print(f"- int8 >= 2x f32 (bench, medians): {x:.2f}x -- {'met' if x >= 2 else 'NOT met'}")
        c = load(os.path.join(out, "avx2.compare_int8.json"))
        if c and "failed" not in c:
            x = c["int8_pairs_per_s"] / c["f32_pairs_per_s"]
            gate = c["kendall_tau_mean"] >= 0.95 and c["top_k_overlap_mean"] >= 0.95
            print(f"- int8 >= 2x f32 at the gate (tau >= 0.95 and top-10 >= 0.95: "
                  f"{'held' if gate else 'NOT held'}): {x:.2f}x in rankt5 compare -- "
                  f"{'met' if x >= 2 and gate else 'NOT met'}")


if __name__ == "__main__":
    main()
