#!/usr/bin/env python3
"""eval/bench/gen_random_model.py -- a RANDOM-WEIGHT RankT5-shaped model of any size,
with the Python standard library only (no torch, no numpy), for benchmarks that
need more compute per pair than the tiny demo model.

Writes OUT/model.safetensors (fp16: T5 encoder tensors under model.encoder.*, the
model card's head first_transform / layer_norm / linear) and OUT/config.json. Weights
are uniform-ish fp16 values of magnitude 1/128..1/8 with random signs, made by
mapping random bytes (so a 100 MB model takes seconds); norm weights are 1. Scores
are meaningless; only the shapes and the cost are those of a real model.

  python3 eval/bench/gen_random_model.py --out /tmp/rt5-mid --d-model 256 --layers 4
"""
import argparse
import json
import os
import struct

VOCAB = 32128


def random_f16(n, rng_bytes=os.urandom):
    """n fp16 values: sign random, exponent 2^-7..2^-4, 2 high mantissa bits random."""
    raw = bytearray(rng_bytes(2 * n))
    table = bytes((r & 0x80) | ((8 + ((r >> 2) & 3)) << 2) | (r & 3) for r in range(256))
    raw[1::2] = bytes(raw[1::2]).translate(table)
    return bytes(raw)


def ones_f16(n):
    return struct.pack("<e", 1.0) * n


def tensors(d, d_ff, layers, heads, d_kv, buckets):
    yield "model.shared.weight", [VOCAB, d], "rand"
    yield "model.encoder.embed_tokens.weight", [VOCAB, d], "same:model.shared.weight"
    for i in range(layers):
        p = f"model.encoder.block.{i}.layer."
        for w in "qkv":
            yield f"{p}0.SelfAttention.{w}.weight", [heads * d_kv, d], "rand"
        yield f"{p}0.SelfAttention.o.weight", [d, heads * d_kv], "rand"
        if i == 0:
            yield f"{p}0.SelfAttention.relative_attention_bias.weight", [buckets, heads], "rand"
        yield f"{p}0.layer_norm.weight", [d], "ones"
        yield f"{p}1.DenseReluDense.wi.weight", [d_ff, d], "rand"
        yield f"{p}1.DenseReluDense.wo.weight", [d, d_ff], "rand"
        yield f"{p}1.layer_norm.weight", [d], "ones"
    yield "model.encoder.final_layer_norm.weight", [d], "ones"
    yield "first_transform.weight", [d, d], "rand"
    yield "first_transform.bias", [d], "rand"
    yield "layer_norm.weight", [d], "ones"
    yield "layer_norm.bias", [d], "rand"
    yield "linear.weight", [1, d], "rand"
    yield "linear.bias", [1], "rand"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--d-model", type=int, default=256)
    ap.add_argument("--d-ff", type=int, default=0, help="default 4 x d-model")
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    a = ap.parse_args()
    d, layers, heads = a.d_model, a.layers, a.heads
    d_ff = a.d_ff or 4 * d
    d_kv = d // heads
    buckets = 32
    os.makedirs(a.out, exist_ok=True)
    header, blobs, offset, made = {}, [], 0, {}
    for name, shape, kind in tensors(d, d_ff, layers, heads, d_kv, buckets):
        n = 1
        for s in shape:
            n *= s
        if kind == "rand":
            data = random_f16(n)
        elif kind == "ones":
            data = ones_f16(n)
        else:
            data = made[kind.split(":", 1)[1]]
        made[name] = data
        header[name] = {"dtype": "F16", "shape": shape, "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = {"format": "pt", "note": "random weights, benchmark only"}
    hb = json.dumps(header).encode()
    hb += b" " * (-len(hb) % 8)
    with open(os.path.join(a.out, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for b in blobs:
            f.write(b)
    config = {"vocab_size": VOCAB, "d_model": d, "d_kv": d_kv, "d_ff": d_ff, "num_layers": layers,
              "num_heads": heads, "relative_attention_num_buckets": buckets,
              "relative_attention_max_distance": 128, "layer_norm_epsilon": 1e-6,
              "feed_forward_proj": "relu", "model_type": "t5", "note": "random weights, benchmark only"}
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(config, f, indent=1)
    print(os.path.join(a.out, "model.safetensors"), offset, "bytes of weights")


if __name__ == "__main__":
    main()
