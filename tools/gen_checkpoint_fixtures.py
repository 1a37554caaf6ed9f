#!/usr/bin/env python3
"""gen_checkpoint_fixtures.py -- writes the checkpoint fixtures of tests/.

tests/fixtures/checkpoints/: tiny random T5 rerankers in the exact key layout
of naver/trecdl22-crossencoder-rankT53b-repro (a transformers T5EncoderModel
under `model.` plus the score head first_transform / layer_norm / linear),
saved by real torch.save and by the safetensors library, ReLU and gated-GELU,
f32 / f16 / bf16. Beside each weight set, <name>.values.txt holds every
tensor's values as written (one line per key: key, shape, float32 values in
%.9g, which round-trips exactly), so the C tests compare what rankt5 reads
with what Python wrote. MANIFEST.json records the versions used.

tests/fixtures/hostile/: hand-made bad files (hostile pickles, broken
archives, lying safetensors headers), each with the fragment of error message
rankt5 must print, in hostile/EXPECTED.tsv.

Run from the repo root:  python3 tools/gen_checkpoint_fixtures.py
Needs torch, transformers and safetensors (pip); the C tests do not.
"""
import io
import json
import os
import platform
import shutil
import struct
import sys
import zipfile

import safetensors
import safetensors.torch
import torch
import transformers
from transformers import T5Config, T5EncoderModel

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "tests", "fixtures", "checkpoints")
HOSTILE = os.path.join(ROOT, "tests", "fixtures", "hostile")

# Tiny dimensions; n_heads * d_kv (8) != d_model (16) on purpose.
DIMS = dict(vocab_size=40, d_model=16, d_kv=4, d_ff=32, num_layers=2, num_heads=2,
            relative_attention_num_buckets=8)


class Reranker(torch.nn.Module):
    """The model card's module layout: model (T5 encoder) + score head."""

    def __init__(self, config):
        super().__init__()
        self.model = T5EncoderModel(config)
        d = config.d_model
        self.first_transform = torch.nn.Linear(d, d)
        self.layer_norm = torch.nn.LayerNorm(d, eps=1e-12)
        self.linear = torch.nn.Linear(d, 1)


def make_state_dict(ffn, seed):
    torch.manual_seed(seed)
    config = T5Config(feed_forward_proj=ffn, **DIMS)
    model = Reranker(config)
    with torch.no_grad():  # non-trivial norms and biases, so a swap shows
        for name, p in model.named_parameters():
            if "layer_norm" in name or name.endswith("bias"):
                p.copy_(torch.randn_like(p) * 0.5 + (1.0 if name.endswith("weight") else 0.0))
    return model.state_dict()


def with_dtype(sd, dtype):
    """Casts, keeping shared / embed_tokens one storage as torch.save sees it."""
    out = {}
    cache = {}
    for k, v in sd.items():
        key = v.untyped_storage().data_ptr()
        if key not in cache:
            cache[key] = v.to(dtype)
        out[k] = cache[key]
    return out


def write_values(sd, path):
    with open(path, "w") as f:
        f.write("# key shape values... (float32 of each element, row-major)\n")
        for k, v in sd.items():
            flat = v.detach().to(torch.float32).contiguous().reshape(-1).tolist()
            shape = ",".join(str(s) for s in v.shape)
            f.write(f"{k} {shape} " + " ".join("%.9g" % x for x in flat) + "\n")


def save_torch(sd, name):
    torch.save(sd, os.path.join(OUT, name))


def save_safetensors(sd, name, drop_tied=True):
    """As save_pretrained does: the tied embed_tokens is left out."""
    d = {k: v.contiguous() for k, v in sd.items()
         if not (drop_tied and k.endswith("encoder.embed_tokens.weight"))}
    safetensors.torch.save_file(d, os.path.join(OUT, name), metadata={"format": "pt"})


def strided_variant(sd):
    """Same values, stored as a transposed view and as a slice at an offset."""
    out = dict(sd)
    w = sd["first_transform.weight"]
    out["first_transform.weight"] = w.t().contiguous().t()  # strides (1, d)
    big = torch.cat([torch.zeros(3), sd["linear.bias"], torch.ones(2)])
    out["linear.bias"] = big[3:4]  # storage offset 3 in a 6-element storage
    return out


def sharded(sd, folder):
    path = os.path.join(OUT, folder)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    keys = [k for k in sd if not k.endswith("encoder.embed_tokens.weight")]
    half = len(keys) // 2
    shards = {"model-00001-of-00002.safetensors": keys[:half],
              "model-00002-of-00002.safetensors": keys[half:]}
    weight_map = {}
    for fname, ks in shards.items():
        safetensors.torch.save_file({k: sd[k].contiguous() for k in ks}, os.path.join(path, fname),
                                    metadata={"format": "pt"})
        weight_map.update({k: fname for k in ks})
    with open(os.path.join(path, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": 0}, "weight_map": weight_map}, f, indent=1)
    config = dict(DIMS, feed_forward_proj="relu", layer_norm_epsilon=1e-5,
                  relative_attention_max_distance=64, model_type="t5")
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump(config, f, indent=1)


def checkpoints():
    os.makedirs(OUT, exist_ok=True)
    relu = make_state_dict("relu", 1)
    gated = make_state_dict("gated-gelu", 2)
    for dtype, tag in ((torch.float32, "f32"), (torch.float16, "f16"), (torch.bfloat16, "bf16")):
        r, g = with_dtype(relu, dtype), with_dtype(gated, dtype)
        write_values(r, os.path.join(OUT, f"relu_{tag}.values.txt"))
        write_values(g, os.path.join(OUT, f"gated_{tag}.values.txt"))
        save_torch(r, f"relu_{tag}.bin")
        save_torch(g, f"gated_{tag}.bin")
        save_safetensors(r, f"relu_{tag}.safetensors")
        save_safetensors(g, f"gated_{tag}.safetensors")
    save_torch(strided_variant(relu), "relu_f32_strided.bin")
    sharded(relu, "relu_f32_sharded")
    # The encoder saved on its own: keys without the "model." prefix.
    bare = {k[len("model."):] if k.startswith("model.") else k: v for k, v in relu.items()}
    save_safetensors(bare, "relu_f32_noprefix.safetensors")
    manifest = {
        "generator": "tools/gen_checkpoint_fixtures.py",
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "safetensors": safetensors.__version__,
        "dims": DIMS,
        "notes": "relu_* seed 1, gated_* seed 2; *.values.txt are the tensors as saved; "
                 "*.safetensors leave out the tied model.encoder.embed_tokens.weight; "
                 "relu_f32_sharded/config.json sets layer_norm_epsilon=1e-5 and "
                 "relative_attention_max_distance=64",
    }
    with open(os.path.join(OUT, "MANIFEST.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    checkpoints()
