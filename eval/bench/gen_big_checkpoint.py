#!/usr/bin/env python3
"""gen_big_checkpoint.py -- a full-size random checkpoint with the shapes and
key layout of naver/trecdl22-crossencoder-rankT53b-repro (t5-3b encoder +
RankT5 head, fp32, written by real torch.save: a ZIP64 archive of ~4.97 GB).

For the load benchmark (eval/bench/bench_load.sh); never committed. The values are
random (N(0, 0.05)); shapes, dtypes, key order, the shared/embed_tokens tie
and the file layout are those of the release.

Usage: python3 eval/bench/gen_big_checkpoint.py [OUT_DIR]   (default /work/bench-data/rankt5-3b-random)
Writes OUT_DIR/pytorch_model.bin (atomically) and OUT_DIR/MANIFEST.json.
"""
import json
import os
import sys
import time

import torch

T5_3B = dict(d_model=1024, d_ff=16384, num_heads=32, d_kv=128, num_layers=24, vocab_size=32128,
             relative_attention_num_buckets=32)


def state_dict(c, gen):
    d, inner, ff = c["d_model"], c["num_heads"] * c["d_kv"], c["d_ff"]

    def rand(*shape):
        return torch.empty(*shape).normal_(0.0, 0.05, generator=gen)

    sd = {}
    shared = rand(c["vocab_size"], d)
    sd["model.shared.weight"] = shared
    sd["model.encoder.embed_tokens.weight"] = shared  # one storage, as in the release
    for i in range(c["num_layers"]):
        p = f"model.encoder.block.{i}.layer."
        for w in "qkv":
            sd[f"{p}0.SelfAttention.{w}.weight"] = rand(inner, d)
        sd[f"{p}0.SelfAttention.o.weight"] = rand(d, inner)
        if i == 0:
            sd[f"{p}0.SelfAttention.relative_attention_bias.weight"] = rand(
                c["relative_attention_num_buckets"], c["num_heads"])
        sd[f"{p}0.layer_norm.weight"] = 1.0 + rand(d)
        sd[f"{p}1.DenseReluDense.wi.weight"] = rand(ff, d)
        sd[f"{p}1.DenseReluDense.wo.weight"] = rand(d, ff)
        sd[f"{p}1.layer_norm.weight"] = 1.0 + rand(d)
    sd["model.encoder.final_layer_norm.weight"] = 1.0 + rand(d)
    sd["first_transform.weight"] = rand(d, d)
    sd["first_transform.bias"] = rand(d)
    sd["layer_norm.weight"] = 1.0 + rand(d)
    sd["layer_norm.bias"] = rand(d)
    sd["linear.weight"] = rand(1, d)
    sd["linear.bias"] = rand(1)
    return sd


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "/work/bench-data/rankt5-3b-random"
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "pytorch_model.bin")
    t0 = time.time()
    sd = state_dict(T5_3B, torch.Generator().manual_seed(3))
    # Saved under its final name (torch names the archive's folder after the
    # file's stem, as in the release) inside a scratch folder, then moved.
    tmp_dir = os.path.join(out, ".partial")
    os.makedirs(tmp_dir, exist_ok=True)
    tmp = os.path.join(tmp_dir, "pytorch_model.bin")
    torch.save(sd, tmp)
    os.replace(tmp, path)
    os.rmdir(tmp_dir)
    with open(os.path.join(out, "MANIFEST.json"), "w") as f:
        json.dump({"generator": "eval/bench/gen_big_checkpoint.py", "torch": torch.__version__,
                   "bytes": os.path.getsize(path), "config": T5_3B, "seed": 3}, f, indent=1)
    print(f"{path}: {os.path.getsize(path):,} bytes in {time.time() - t0:.1f} s")


if __name__ == "__main__":
    main()
