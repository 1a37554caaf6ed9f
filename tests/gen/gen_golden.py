#!/usr/bin/env python3
"""tests/gen/gen_golden.py -- golden fixtures for the forward pass, made by the real
implementation (PyPI torch + transformers + tokenizers + safetensors).

Writes into tests/fixtures/golden/ (or --out):
  buckets.json         T5Attention._relative_position_bucket (bidirectional) for
                       every relative position in [-3000, 3000] under several
                       (num_buckets, max_distance) settings, computed by
                       transformers itself, both on a 1-D range and on the 2-D
                       (query, key) matrix compute_bias builds.
  <name>.bin           a random tiny RankT5 reranker, torch.save(state_dict)
  <name>.safetensors   the same tensors as safetensors
  <name>.config.json   its T5 config (max_distance cannot be inferred from shapes)
  golden.json          per model: the ids of real-text (query, document) pairs
                       tokenized with the tokenizers library and
                       ../shared/tokenizer/t5-tokenizer.json (ids mapped into the
                       tiny vocabulary as id % vocab_size), and the scores of
                       transformers.T5EncoderModel + the model card's head in
                       float64 (model.double()) and float32.

The weights the scores come from are exactly the weights saved (fp16 models
are rounded to fp16 first and then run from those values). Nothing here is
produced by rankt5's own code.

Usage: python3 tests/gen/gen_golden.py [--out DIR] [--shared DIR]
"""
import argparse
import json
import math
import os
import platform
import sys

import safetensors
import safetensors.torch
import tokenizers
import torch
import transformers
from transformers.models.t5.modeling_t5 import T5Attention

from rankt5_reference import RankT5, t5_config as reference_config

BUCKET_SETTINGS = [(32, 128), (16, 20), (8, 12), (64, 256), (32, 64), (128, 1000), (4, 8)]
BUCKET_RANGE = 3000

# Tiny rerankers. Each varies something the forward pass must honour.
MODELS = [
    # t5-3b's bucket settings, ReLU, f32 storage
    dict(name="tiny_relu", d_model=32, d_kv=8, num_heads=4, d_ff=64, num_layers=2, vocab=256,
         num_buckets=32, max_distance=128, ff="relu", eps=1e-6, dtype="f32", seed=1),
    # n_heads*d_kv != d_model, short max_distance (long inputs saturate), fp16 storage
    dict(name="tiny_relu_wide", d_model=48, d_kv=20, num_heads=3, d_ff=96, num_layers=3, vocab=320,
         num_buckets=16, max_distance=20, ff="relu", eps=1e-6, dtype="f16", seed=2),
    # gated-GELU (gelu_new) FFN, few buckets
    dict(name="tiny_gated", d_model=32, d_kv=8, num_heads=4, d_ff=48, num_layers=2, vocab=256,
         num_buckets=8, max_distance=12, ff="gated-gelu", eps=1e-6, dtype="f32", seed=3),
    # many buckets, a large RMSNorm eps (so eps is visibly used), fp16 storage
    dict(name="tiny_relu_eps", d_model=32, d_kv=16, num_heads=2, d_ff=64, num_layers=2, vocab=288,
         num_buckets=64, max_distance=256, ff="relu", eps=1e-2, dtype="f16", seed=4),
]

QUERIES = [
    "how long do you boil an egg",
    "what causes the northern lights",
    "symptoms of vitamin d deficiency",
    "who invented the telephone",
]

DOCUMENTS = [
    [
        "For a soft-boiled egg with a runny yolk, lower the egg into water that is already boiling and "
        "cook it for six to seven minutes, then cool it under cold running water.",
        "Hard-boiled eggs need about ten to twelve minutes in simmering water. Older eggs peel more easily "
        "than very fresh ones because the membrane sticks less to the shell.",
        "The chicken is a domesticated bird kept mainly for its eggs and meat; there are more chickens on "
        "earth than any other bird.",
        "Boiling point of water decreases with altitude, so at high elevations food takes longer to cook.",
    ],
    [
        "Auroras happen when charged particles from the solar wind are guided by Earth's magnetic field "
        "toward the poles, where they collide with oxygen and nitrogen atoms in the upper atmosphere and "
        "make them glow.",
        "Northern Lights tours in Norway usually run from September to March, when the nights are long "
        "and dark enough to see the sky.",
        "Lightning is an electrical discharge between clouds or between a cloud and the ground.",
        "The colours of an aurora depend on the gas: oxygen gives green and red light, nitrogen gives "
        "blue and purple.",
    ],
    [
        "Low vitamin D can cause tiredness, bone pain, muscle weakness and aches, and in children it can "
        "lead to rickets.",
        "Vitamin D is made in the skin when it is exposed to sunlight and is also found in oily fish and "
        "egg yolks.",
        "Vitamin C is found in citrus fruits, peppers and broccoli.",
        "",
    ],
    [
        "Alexander Graham Bell was awarded the first US patent for the telephone in March 1876, although "
        "Antonio Meucci and Elisha Gray also worked on similar devices.",
        "The first transatlantic telephone cable, TAT-1, entered service in 1956.",
        "Thomas Edison developed the phonograph and a long-lasting incandescent light bulb.",
        "Telephones convert sound into an electrical signal that travels over a wire and is turned back "
        "into sound at the other end.",
    ],
]

# Paragraphs joined into inputs longer than 512 tokens (no truncation), so
# relative positions reach past every max_distance used above.
LONG_PARAGRAPHS = [
    "The history of timekeeping begins with sundials and water clocks. Egyptians divided the day into "
    "hours measured by the movement of shadows, while in China and Greece water flowing from one vessel "
    "into another marked the passing of time through the night and on cloudy days.",
    "Mechanical clocks appeared in European monasteries and town towers in the thirteenth and fourteenth "
    "centuries. They were driven by falling weights and regulated by a verge escapement, and they often "
    "lost or gained a quarter of an hour in a single day.",
    "In 1656 Christiaan Huygens built the first pendulum clock, which improved accuracy to within a "
    "minute a day. Later improvements such as the anchor escapement and temperature-compensated "
    "pendulums brought errors down to a few seconds per week.",
    "Finding longitude at sea required a clock that kept time on a rolling ship. John Harrison spent "
    "decades building marine chronometers, and his fourth design, a large watch, lost only a few seconds "
    "on a voyage to Jamaica in 1761.",
    "Quartz clocks, developed in the 1920s, use the vibration of a crystal driven by an electric "
    "circuit. By the 1970s quartz watches were cheap enough for everyone and most mechanical watch "
    "makers either adapted or closed.",
    "Atomic clocks measure the frequency of radiation absorbed by caesium atoms. Since 1967 the second "
    "has been defined as a fixed number of periods of that radiation, and today optical clocks are even "
    "more precise, losing less than a second over the age of the universe.",
    "Accurate time underpins navigation satellites, power grids, financial trading and the internet. "
    "Each GPS satellite carries atomic clocks, and receivers on the ground compare the arrival times of "
    "signals to compute their position within a few metres.",
    "Calendars solve a related problem on a longer scale. The Julian calendar added a leap day every "
    "four years, but its year was slightly too long, so in 1582 the Gregorian reform skipped ten days "
    "and changed the rule for century years.",
]


def versions():
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__,
        "safetensors": safetensors.__version__,
    }


# ---------------------------------------------------------------- buckets
def bucket_tables():
    rel = torch.arange(-BUCKET_RANGE, BUCKET_RANGE + 1, dtype=torch.long)
    tables = []
    for nb, md in BUCKET_SETTINGS:
        flat = T5Attention._relative_position_bucket(rel, bidirectional=True, num_buckets=nb, max_distance=md)
        # The same function on the (query, key) matrix compute_bias builds for a
        # 1501-token input: every relative position of it must agree with the
        # 1-D table (torch's vectorised log could differ by position).
        n = 1501
        pos = torch.arange(n, dtype=torch.long)
        mat = T5Attention._relative_position_bucket(pos[None, :] - pos[:, None], bidirectional=True,
                                                    num_buckets=nb, max_distance=md)
        for i in range(0, n, 50):
            row = mat[i]
            expect = flat[(pos - i) + BUCKET_RANGE]
            if not torch.equal(row, expect):
                sys.exit(f"bucket tables differ between 1-D and 2-D calls for ({nb},{md}) row {i}")
        tables.append({"num_buckets": nb, "max_distance": md, "min_relative_position": -BUCKET_RANGE,
                       "buckets": flat.tolist()})
    return tables


# ---------------------------------------------------------------- models
def t5_config(spec):
    return reference_config(vocab_size=spec["vocab"], d_model=spec["d_model"], d_kv=spec["d_kv"],
                            d_ff=spec["d_ff"], num_layers=spec["num_layers"], num_heads=spec["num_heads"],
                            relative_attention_num_buckets=spec["num_buckets"],
                            relative_attention_max_distance=spec["max_distance"],
                            feed_forward_proj=spec["ff"], layer_norm_epsilon=spec["eps"])


def build_model(spec):
    torch.manual_seed(spec["seed"])
    model = RankT5(t5_config(spec))
    # transformers' own T5 init gives realistic scales for the matrices; the
    # norm weights start at 1 and the bias table small, so spread them out so
    # a forward pass that ignored them would fail.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("layer_norm.weight"):
                p.copy_(1.0 + 0.2 * torch.randn_like(p))
            elif name.endswith("relative_attention_bias.weight"):
                p.copy_(0.5 * torch.randn_like(p))
            elif name == "layer_norm.bias":
                p.copy_(0.1 * torch.randn_like(p))
        if spec["dtype"] == "f16":
            for p in model.parameters():
                p.copy_(p.half().float())
    model.eval()
    return model


def save_model(model, spec, out_dir):
    sd = model.state_dict()
    assert sd["model.shared.weight"].data_ptr() == sd["model.encoder.embed_tokens.weight"].data_ptr()
    store = torch.float16 if spec["dtype"] == "f16" else torch.float32
    # torch.save keeps the tie: both keys share one storage, as in the release.
    tied = {}
    for k, v in sd.items():
        tied[k] = v.to(store)
    tied["model.encoder.embed_tokens.weight"] = tied["model.shared.weight"]
    torch.save(tied, os.path.join(out_dir, spec["name"] + ".bin"))
    # safetensors refuses shared storage: write the tied pair as two copies.
    flat = {k: v.to(store).clone().contiguous() for k, v in sd.items()}
    safetensors.torch.save_file(flat, os.path.join(out_dir, spec["name"] + ".safetensors"),
                                metadata={"format": "pt"})
    cfg = t5_config(spec).to_dict()
    keep = ["vocab_size", "d_model", "d_kv", "d_ff", "num_layers", "num_heads", "relative_attention_num_buckets",
            "relative_attention_max_distance", "feed_forward_proj", "layer_norm_epsilon", "dense_act_fn",
            "is_gated_act"]
    cfg = {k: cfg[k] for k in keep if k in cfg}
    cfg["model_type"] = "t5"
    cfg["architectures"] = ["T5EncoderModel"]
    with open(os.path.join(out_dir, spec["name"] + ".config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
        f.write("\n")


def score(model, ids, dtype):
    m = model.to(dtype)
    x = torch.tensor([ids], dtype=torch.long)
    with torch.no_grad():
        return float(m(x, torch.ones_like(x))[0])


# ---------------------------------------------------------------- inputs
def make_pairs(tok):
    """(label, query, document, ids) with the real tokenizer's pair encoding."""
    pairs = []

    def add(label, q, d, max_len=512):
        tok.no_truncation()
        if max_len:
            tok.enable_truncation(max_length=max_len, strategy="longest_first")
        ids = tok.encode(q, d).ids
        pairs.append({"label": label, "query": q, "document": d, "ids": ids})

    for qi, q in enumerate(QUERIES):
        for di, d in enumerate(DOCUMENTS[qi]):
            add(f"q{qi}d{di}", q, d)
    long_doc = " ".join(LONG_PARAGRAPHS)
    add("long_600", "history of clocks and calendars", long_doc + " " + " ".join(LONG_PARAGRAPHS[:3]), max_len=0)
    add("truncated_512", "when was the pendulum clock invented", long_doc + " " + long_doc, max_len=512)
    add("long_query_first", " ".join(LONG_PARAGRAPHS[:4]), "Huygens built the first pendulum clock in 1656.")
    add("empty_both", "", "")
    pairs.append({"label": "single_token", "query": None, "document": None, "ids": [1]})
    return pairs


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out", default=os.path.join(here, "..", "..", "tests", "fixtures", "golden"))
    ap.add_argument("--shared", default=os.environ.get("RT5_SHARED_DIR", os.path.join(here, "..", "..", "..", "shared")))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(1)

    with open(os.path.join(args.out, "buckets.json"), "w") as f:
        json.dump({"generator": "tests/gen/gen_golden.py", "versions": versions(),
                   "function": "transformers T5Attention._relative_position_bucket(bidirectional=True)",
                   "tables": bucket_tables()}, f, separators=(",", ":"))
        f.write("\n")

    tok = tokenizers.Tokenizer.from_file(os.path.join(args.shared, "tokenizer", "t5-tokenizer.json"))
    pairs = make_pairs(tok)
    golden = {"generator": "tests/gen/gen_golden.py", "versions": versions(),
              "tokenizer": "shared/tokenizer/t5-tokenizer.json (tokenizers, pair encoding, longest_first)",
              "id_mapping": "ids stored are tokenizer ids % vocab_size of the model",
              "models": []}
    for spec in MODELS:
        model = build_model(spec)
        save_model(model, spec, args.out)
        entries = []
        for p in pairs:
            ids = [i % spec["vocab"] for i in p["ids"]]
            s64 = score(model, ids, torch.float64)
            s32 = score(model, ids, torch.float32)
            entries.append({"label": p["label"], "ids": ids, "score_f64": s64, "score_f32": s32})
        golden["models"].append({
            "name": spec["name"], "file_dtype": spec["dtype"], "feed_forward_proj": spec["ff"],
            "d_model": spec["d_model"], "d_kv": spec["d_kv"], "n_heads": spec["num_heads"], "d_ff": spec["d_ff"],
            "n_layers": spec["num_layers"], "vocab_size": spec["vocab"], "num_buckets": spec["num_buckets"],
            "max_distance": spec["max_distance"], "eps": spec["eps"], "pairs": entries})
        spread = [e["score_f64"] for e in entries]
        worst = max(abs(e["score_f32"] - e["score_f64"]) / max(1.0, abs(e["score_f64"])) for e in entries)
        print(f"{spec['name']}: scores in [{min(spread):.4f}, {max(spread):.4f}], "
              f"torch f32 vs f64 max rel err {worst:.2e}", file=sys.stderr)
    golden["queries"] = [{"label": p["label"], "query": p["query"], "document": p["document"],
                          "n_ids": len(p["ids"])} for p in pairs]
    with open(os.path.join(args.out, "golden.json"), "w") as f:
        json.dump(golden, f, indent=None, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
