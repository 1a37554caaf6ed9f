#!/usr/bin/env python3
"""eval/bench/bench_lowp_pytorch.py -- the model card's PyTorch code on the batches
rankt5 bench wrote (--dump-pairs), in float32 or with bfloat16 autocast, one
mode per process so that each gets its own peak-memory figure.

  bench_lowp_pytorch.py --checkpoint CKPT --pairs FILE --mode fp32|bf16-autocast
                        [--threads 2] [--repeat 3] [--scores OUT]

The model is eval/bench/pytorch_baseline.py's: T5EncoderModel built from a
T5Config plus the card's head (Linear -> LayerNorm -> Linear), weights from
the same torch.save file with load_state_dict; each batch is padded to its
longest pair with an attention mask, as the card's code does, under
torch.inference_mode(). Prints one JSON line: pairs/s (median of the runs),
tokens/s, peak resident memory (ru_maxrss), load time and time to the first
score, and writes the scores if asked.
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time

START = time.perf_counter()

import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pytorch_baseline as base  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--pairs", required=True)
    ap.add_argument("--mode", choices=["fp32", "bf16-autocast"], default="fp32")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--scores")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model = base.load_model(args.checkpoint)
    load_s = time.perf_counter() - START
    batches = base.read_batches(args.pairs)
    inputs = [base.padded(b) for b in batches]
    n_pairs = sum(len(b) for b in batches)
    n_tokens = sum(len(s) for b in batches for s in b)
    autocast = args.mode == "bf16-autocast"

    def forward(ids, mask):
        if autocast:
            with torch.autocast("cpu", dtype=torch.bfloat16):
                return model(ids, mask).float()
        return model(ids, mask)

    with torch.inference_mode():
        first = base.padded([batches[0][0]])
        forward(*first)  # the first pair alone: time to first score
        first_s = time.perf_counter() - START
        times, scores = base.timed_runs(forward, inputs, args.repeat)
    med = statistics.median(times)
    if args.scores:
        with open(args.scores, "w") as f:
            f.writelines(f"{float(s):.9g}\n" for s in torch.cat(scores).tolist())
    print(json.dumps({"impl": "pytorch", "mode": args.mode, "torch": torch.__version__,
                      "backend": base.torch_backend(), "threads": args.threads,
                      "pairs": n_pairs, "tokens": n_tokens, "padded_tokens": sum(i.numel() for i, _ in inputs),
                      "median_s": round(med, 4), "runs_s": [round(t, 4) for t in times],
                      "pairs_per_s": round(n_pairs / med, 3), "tokens_per_s": round(n_tokens / med, 1),
                      "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                      "load_s": round(load_s, 3), "first_score_s": round(first_s, 3)}))


if __name__ == "__main__":
    main()
