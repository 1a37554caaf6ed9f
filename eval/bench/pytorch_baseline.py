#!/usr/bin/env python3
"""eval/bench/pytorch_baseline.py -- the model card's PyTorch code as the baseline
for `rankt5 bench`, on the same checkpoint, pairs, batches and thread count.

  make-checkpoint --out PATH [--layers 24] [--seed 0]
      A random t5-3b-shaped RankT5 reranker (d_model 1024, d_ff 16384,
      32 heads x 128, vocab 32128, ReLU), transformers' own T5 init, saved with
      torch.save(state_dict) like the release (24 layers: ~4.9 GB).
  run --checkpoint PATH --pairs FILE [--threads 2] [--repeat 3] [--scores OUT]
      [--compare C_SCORES]
      Scores the batches `rankt5 bench` wrote (--dump-pairs): each batch padded
      to its longest pair with an attention mask, as the card's code does, in
      float32 under torch.inference_mode(); prints pairs/s (median of runs).
  expected --checkpoint PATH --pairs FILE --out JSON [--n 3]
      Float64 scores of the first n pairs by transformers' own modules (each
      encoder block is cast to float64 just for its own forward, so the
      reference fits in memory), for tests/test_forward_slow.c.

Reproduce (2 threads):
  python3 eval/bench/pytorch_baseline.py make-checkpoint --out /work/bench-data/t5-3b-random.bin
  build/rankt5 bench --model /work/bench-data/t5-3b-random.bin --threads 2 --pairs 48 \\
      --dump-pairs /tmp/pairs.txt --scores /tmp/c_scores.txt
  python3 eval/bench/pytorch_baseline.py run --checkpoint /work/bench-data/t5-3b-random.bin \\
      --pairs /tmp/pairs.txt --threads 2 --compare /tmp/c_scores.txt
"""
import argparse
import json
import os
import re
import statistics
import sys
import time

import torch
import transformers

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "gen"))
from rankt5_reference import T5_3B, RankT5, t5_config  # noqa: E402 (after the path)


def t5_3b_config(layers):
    return t5_config(**dict(T5_3B, num_layers=layers))


def make_checkpoint(args):
    if os.path.exists(args.out):
        print(f"{args.out} exists; reusing it", file=sys.stderr)
        return
    torch.manual_seed(args.seed)
    model = RankT5(t5_3b_config(args.layers)).eval()
    with torch.no_grad():  # spread the norm weights so a forward that ignored them would differ
        for name, p in model.named_parameters():
            if name.endswith("layer_norm.weight"):
                p.copy_(1.0 + 0.2 * torch.randn_like(p))
    sd = model.state_dict()
    tmp = args.out + ".tmp"
    torch.save(sd, tmp)
    os.replace(tmp, args.out)
    print(f"wrote {args.out} ({os.path.getsize(args.out) / 1e9:.2f} GB, {args.layers} layers)", file=sys.stderr)


def torch_at_least(major, minor):
    v = torch.__version__.split("+")[0].split(".")
    return (int(v[0]), int(v[1])) >= (major, minor)


def load_model(path):
    """The card's model with the checkpoint's weights. torch >= 2.1 maps the
    file and assigns its tensors in place (no copy: peak memory ~1.2x the
    weights); older torch (Debian bookworm's python3-torch is 1.13) reads it
    into memory and copies into a model built normally (~2x).
    RT5_BENCH_TORCH_COPY=1 takes the older path on any torch."""
    mmap = torch_at_least(2, 1) and os.environ.get("RT5_BENCH_TORCH_COPY") != "1"
    if mmap:
        sd = torch.load(path, map_location="cpu", mmap=True, weights_only=True)
    else:
        kw = {"weights_only": True} if torch_at_least(1, 13) else {}
        sd = torch.load(path, map_location="cpu", **kw)
    layers = 1 + max(int(k.split(".")[3]) for k in sd if k.startswith("model.encoder.block."))
    if mmap:
        with torch.device("meta"):
            model = RankT5(t5_3b_config(layers))
        model.load_state_dict(sd, assign=True)
    else:
        model = RankT5(t5_3b_config(layers))
        model.load_state_dict(sd)
        del sd
    model.model.encoder.embed_tokens = model.model.shared  # the tie, as from_pretrained restores it
    return model.eval()


def torch_backend():
    """What runs PyTorch's CPU products: the BLAS and oneDNN it was built
    with and the vector ISA ATen dispatches to (from torch.__config__.show()
    and torch.backends.cpu), e.g. 'BLAS mkl, oneDNN v3.7.1, ATen AVX512'.
    Debian's python3-torch links the reference (netlib) BLAS: name it."""
    cfg = torch.__config__.show()
    blas = re.search(r"BLAS_INFO=([^,\s]+)", cfg)
    dnnl = re.search(r"(?:oneDNN|MKL-DNN)[^\n]*?(v[0-9][0-9.]*)", cfg)
    try:
        isa = torch.backends.cpu.get_cpu_capability()
    except AttributeError:  # torch < 2.0
        isa = "?"
    return (f"BLAS {blas.group(1) if blas else '?'}, oneDNN {dnnl.group(1) if dnnl else 'none'}"
            f"{'' if torch.backends.mkldnn.is_available() else ' (off)'}, ATen {isa}")


def read_batches(path):
    batches, cur = [], None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line == "batch":
                cur = []
                batches.append(cur)
            elif line:
                cur.append([int(x) for x in line.split()])
    return batches


def padded(batch):
    n = max(len(ids) for ids in batch)
    ids = torch.zeros((len(batch), n), dtype=torch.long)
    mask = torch.zeros((len(batch), n), dtype=torch.long)
    for i, seq in enumerate(batch):
        ids[i, :len(seq)] = torch.tensor(seq)
        mask[i, :len(seq)] = 1
    return ids, mask


def timed_runs(forward, inputs, repeat):
    """One warm-up batch (as `rankt5 bench` does), then `repeat` timed passes over every batch.
    Returns the seconds of each pass and the last pass's outputs, one per batch."""
    forward(*inputs[0])
    times, outputs = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        outputs = [forward(ids, mask) for ids, mask in inputs]
        times.append(time.perf_counter() - t0)
    return times, outputs


def run(args):
    torch.set_num_threads(args.threads)
    model = load_model(args.checkpoint)
    batches = read_batches(args.pairs)
    inputs = [padded(b) for b in batches]
    n_pairs = sum(len(b) for b in batches)
    n_tokens = sum(len(s) for b in batches for s in b)
    with torch.inference_mode():
        times, scores = timed_runs(model, inputs, args.repeat)
    scores = torch.cat(scores).tolist()
    med = statistics.median(times)
    padded_tokens = sum(ids.numel() for ids, _ in inputs)
    print(f"pytorch {torch.__version__} ({torch_backend()}) transformers {transformers.__version__}: {args.threads} threads, "
          f"{n_pairs} pairs ({n_tokens} tokens, {padded_tokens} with padding) in {len(batches)} batches; "
          f"runs {', '.join(f'{t:.3f}' for t in times)} s")
    print(f"throughput: {n_pairs / med:.2f} pairs/s (median {med:.3f} s)")
    if args.scores:
        with open(args.scores, "w") as f:
            f.writelines(f"{s:.9g}\n" for s in scores)
    if args.compare:
        with open(args.compare) as f:
            ours = [float(x) for x in f]
        diff = max(abs(a - b) / max(1.0, abs(b)) for a, b in zip(ours, scores))
        print(f"rankt5 vs pytorch float32 scores: max |a-b|/max(1,|b|) = {diff:.2e} over {len(ours)} pairs")


def expected(args):
    torch.set_num_threads(args.threads)
    model = load_model(args.checkpoint)
    batches = read_batches(args.pairs)
    pairs = [s for b in batches for s in b][:args.n]
    enc = model.model.encoder
    # Blocks become float64 only while they run; everything else is small.
    for block in enc.block:
        block.register_forward_pre_hook(lambda m, a: m.double() and None)
        block.register_forward_hook(lambda m, a, out: m.float() and None)
    model.model.shared.double()
    enc.final_layer_norm.double()
    for m in (model.first_transform, model.layer_norm, model.linear):
        m.double()
    out = {"generator": "eval/bench/pytorch_baseline.py expected", "checkpoint": os.path.basename(args.checkpoint),
           "versions": {"torch": torch.__version__, "transformers": transformers.__version__}, "pairs": []}
    with torch.inference_mode():
        for seq in pairs:
            ids = torch.tensor([seq])
            s64 = float(model(ids, torch.ones_like(ids))[0])
            out["pairs"].append({"ids": seq, "score_f64": s64})
            print(f"{len(seq)} tokens: {s64:.9g}", file=sys.stderr)
    with open(args.out, "w") as f:
        json.dump(out, f)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    mk = sub.add_parser("make-checkpoint")
    mk.add_argument("--out", required=True)
    mk.add_argument("--layers", type=int, default=24)
    mk.add_argument("--seed", type=int, default=0)
    rn = sub.add_parser("run")
    rn.add_argument("--checkpoint", required=True)
    rn.add_argument("--pairs", required=True)
    rn.add_argument("--threads", type=int, default=2)
    rn.add_argument("--repeat", type=int, default=3)
    rn.add_argument("--scores")
    rn.add_argument("--compare")
    ex = sub.add_parser("expected")
    ex.add_argument("--checkpoint", required=True)
    ex.add_argument("--pairs", required=True)
    ex.add_argument("--out", required=True)
    ex.add_argument("--n", type=int, default=3)
    ex.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    {"make-checkpoint": make_checkpoint, "run": run, "expected": expected}[args.cmd](args)


if __name__ == "__main__":
    main()
