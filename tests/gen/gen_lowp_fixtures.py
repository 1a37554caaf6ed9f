#!/usr/bin/env python3
"""tests/gen/gen_lowp_fixtures.py -- accuracy fixtures for the bf16/int8 paths: a
small random RankT5 reranker with injected outlier channels, and the scores
transformers gives it, made by the real implementation (PyPI torch +
transformers + safetensors). Nothing here comes from rankt5's own code.

T5's activations carry outlier channels: a few hidden-state channels that are
much larger than the rest (they pass through every RMSNorm into the q/k/v and
feed-forward inputs) and a few feed-forward channels whose ReLU outputs dwarf
the others (the input of the wo product). Per-token int8 quantization is
exactly what such channels hurt, so the model here has both, on purpose:
  - hidden outliers: embedding columns HIDDEN_OUTLIERS scaled by 20, and the
    same channels of every RMSNorm weight by 3;
  - feed-forward outliers: rows FFN_OUTLIERS of every wi scaled by 25.

Writes into tests/fixtures/lowp/ (or --out):
  outlier.safetensors   the weights (f32)
  outlier.config.json   its T5 config
  scores.json           QUERIES queries x DOCS random-id documents with MS
                        MARCO-like lengths (query 6-12 ids, document 30-120),
                        each pair's ids and its score from transformers.
                        T5EncoderModel + the card's head in float64, float32
                        and float32 under torch.autocast(bfloat16).

Usage: python3 tests/gen/gen_lowp_fixtures.py [--out DIR]
       python3 tests/gen/gen_lowp_fixtures.py --big SRC.bin OUT.bin [--pairs OUT.jsonl]
  The second form injects the same outliers into a full-size checkpoint
  (e.g. eval/bench/pytorch_baseline.py's random t5-3b-shaped one) with torch.save,
  for `rankt5 compare` at full size, and writes QUERIES x DOCS random-id pairs.
"""
import argparse
import json
import os
import platform
import sys

import safetensors
import safetensors.torch
import torch
import transformers

from rankt5_reference import RankT5, t5_config  # tests/gen/, beside this script

SPEC = dict(d_model=64, d_kv=16, num_heads=4, d_ff=256, num_layers=3, vocab=320, num_buckets=32, max_distance=128)
HIDDEN_OUTLIERS = [5, 41]
FFN_OUTLIERS = [3, 77, 150, 201]
QUERIES, DOCS = 8, 16
SEED = 11


def config():
    s = SPEC
    return t5_config(vocab_size=s["vocab"], d_model=s["d_model"], d_kv=s["d_kv"], d_ff=s["d_ff"],
                     num_layers=s["num_layers"], num_heads=s["num_heads"],
                     relative_attention_num_buckets=s["num_buckets"], relative_attention_max_distance=s["max_distance"],
                     feed_forward_proj="relu", layer_norm_epsilon=1e-6)


def build():
    torch.manual_seed(SEED)
    model = RankT5(config())
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("layer_norm.weight") and name.startswith("model."):
                p.copy_(1.0 + 0.2 * torch.randn_like(p))
                p[HIDDEN_OUTLIERS] *= 3.0
            elif name.endswith("relative_attention_bias.weight"):
                p.copy_(0.5 * torch.randn_like(p))
            elif name.endswith("DenseReluDense.wi.weight"):
                p[FFN_OUTLIERS, :] *= 25.0
        model.model.shared.weight[:, HIDDEN_OUTLIERS] *= 20.0
    return model.eval()


def pairs():
    g = torch.Generator().manual_seed(SEED + 1)
    out = []
    for q in range(QUERIES):
        nq = int(torch.randint(6, 13, (1,), generator=g))
        query = torch.randint(3, SPEC["vocab"], (nq,), generator=g).tolist()
        for d in range(DOCS):
            nd = int(torch.randint(30, 121, (1,), generator=g))
            doc = torch.randint(3, SPEC["vocab"], (nd,), generator=g).tolist()
            out.append({"qid": f"q{q}", "docid": f"d{d}", "ids": query + [1] + doc + [1]})
    return out


def score_all(model, items, dtype, autocast=False):
    m = model.to(dtype)
    res = []
    with torch.no_grad():
        for it in items:
            x = torch.tensor([it["ids"]], dtype=torch.long)
            if autocast:
                with torch.autocast("cpu", dtype=torch.bfloat16):
                    res.append(float(m(x, torch.ones_like(x))[0]))
            else:
                res.append(float(m(x, torch.ones_like(x))[0]))
    return res


def inject_big(src, out, pairs_path):
    """The outliers of build(), scaled to any T5 checkpoint: hidden channels 5 and 41, and 4 of every
    wi's rows spread over d_ff."""
    sd = torch.load(src, map_location="cpu", mmap=True, weights_only=True)
    sd = dict(sd)
    d_ff = sd["model.encoder.block.0.layer.1.DenseReluDense.wi.weight"].shape[0]
    ffn = [3, d_ff // 4 + 77, d_ff // 2 + 150, 3 * d_ff // 4 + 201]
    with torch.no_grad():
        for k in list(sd):
            if k.startswith("model.encoder.") and k.endswith("layer_norm.weight"):
                sd[k] = sd[k].clone()
                sd[k][HIDDEN_OUTLIERS] *= 3.0
            elif k.endswith("DenseReluDense.wi.weight"):
                sd[k] = sd[k].clone()
                sd[k][ffn, :] *= 25.0
        shared = sd["model.shared.weight"].clone()
        shared[:, HIDDEN_OUTLIERS] *= 20.0
        sd["model.shared.weight"] = shared
        sd["model.encoder.embed_tokens.weight"] = shared
    torch.save(sd, out + ".tmp")
    os.replace(out + ".tmp", out)
    vocab = shared.shape[0]
    g = torch.Generator().manual_seed(SEED + 2)
    if pairs_path:
        with open(pairs_path, "w") as f:
            for q in range(4):
                query = torch.randint(3, vocab - 100, (int(torch.randint(6, 13, (1,), generator=g)),), generator=g)
                for d in range(12):
                    doc = torch.randint(3, vocab - 100, (int(torch.randint(40, 201, (1,), generator=g)),), generator=g)
                    f.write(json.dumps({"qid": f"q{q}", "ids": query.tolist() + [1] + doc.tolist() + [1]}) + "\n")
    print(f"wrote {out} (outliers: hidden {HIDDEN_OUTLIERS}, ffn rows {ffn})", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out", default=os.path.join(here, "..", "..", "tests", "fixtures", "lowp"))
    ap.add_argument("--big", nargs=2, metavar=("SRC", "OUT"))
    ap.add_argument("--pairs")
    args = ap.parse_args()
    if args.big:
        inject_big(args.big[0], args.big[1], args.pairs)
        return
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(1)
    model = build()
    sd = {k: v.clone().contiguous() for k, v in model.state_dict().items()}
    safetensors.torch.save_file(sd, os.path.join(args.out, "outlier.safetensors"), metadata={"format": "pt"})
    cfg = config().to_dict()
    keep = ["vocab_size", "d_model", "d_kv", "d_ff", "num_layers", "num_heads", "relative_attention_num_buckets",
            "relative_attention_max_distance", "feed_forward_proj", "layer_norm_epsilon"]
    cfg = {k: cfg[k] for k in keep}
    cfg["model_type"] = "t5"
    with open(os.path.join(args.out, "outlier.config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
        f.write("\n")
    items = pairs()
    s64 = score_all(model, items, torch.float64)
    s32 = score_all(model, items, torch.float32)
    sbf = score_all(model, items, torch.float32, autocast=True)
    for it, a, b, c in zip(items, s64, s32, sbf):
        it.update(score_f64=a, score_f32=b, score_bf16_autocast=c)
    # How large the injected outliers are, as a record (float32 forward).
    x = torch.tensor([items[0]["ids"]])
    acts = {}
    hooks = [model.model.encoder.block[0].layer[1].DenseReluDense.wo.register_forward_pre_hook(
        lambda m, a: acts.__setitem__("wo_in", a[0].detach()))]
    with torch.no_grad():
        model.float()(x, torch.ones_like(x))
    for h in hooks:
        h.remove()
    w = acts["wo_in"][0].abs().amax(0)
    ratio = float(w[FFN_OUTLIERS].min() / w.median())
    out = {"generator": "tests/gen/gen_lowp_fixtures.py",
           "versions": {"python": platform.python_version(), "torch": torch.__version__,
                        "transformers": transformers.__version__, "safetensors": safetensors.__version__},
           "spec": SPEC, "hidden_outliers": HIDDEN_OUTLIERS, "ffn_outliers": FFN_OUTLIERS,
           "wo_input_outlier_ratio": ratio, "pairs": items}
    with open(os.path.join(args.out, "scores.json"), "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")
    print(f"scores in [{min(s64):.3f}, {max(s64):.3f}]; wo input: outlier channels' max |x| >= {ratio:.1f}x the "
          f"median channel's; bf16 autocast max |err| {max(abs(a - c) for a, c in zip(s64, sbf)):.3e}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
