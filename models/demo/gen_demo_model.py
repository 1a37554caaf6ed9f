#!/usr/bin/env python3
"""models/demo/gen_demo_model.py -- the demo's tiny RANDOM-WEIGHT RankT5 model and
the scores Hugging Face gives it on the demo data.

Writes into tests/fixtures/demo/ (or --out):
  model/model.safetensors  a RankT5-shaped reranker (T5 encoder + the model
                           card's head) with t5's full 32128-row vocabulary but
                           d_model 16 and 2 layers, random weights, fp16 storage.
                           It ranks nothing meaningfully: it exists so that
                           `bash eval/demo.sh` runs the whole pipeline
                           (tokenizer, loader, forward pass, rerank) in seconds.
  model/config.json        its T5 config
  hf_scores.jsonl          for every (query, passage) of run.bm25.trec (and four
                           edge cases with a "label": empty texts, a query and a
                           document over the 512-token limit): the text,
                           the ids of the tokenizers library's T5 pair encoding
                           (../shared/tokenizer/t5-tokenizer.json, longest_first,
                           512) and the score of transformers.T5EncoderModel + the
                           head in float64 -- the expected output of `rankt5 score`
                           on text input (tests/test_cli_score.sh)

Nothing here is produced by rankt5's own code. The first line of hf_scores.jsonl
records the versions used.

Usage: python3 models/demo/gen_demo_model.py [--out DIR] [--shared DIR]
"""
import argparse
import json
import os
import platform
import sys

import safetensors
import safetensors.torch
import tokenizers
import torch
import transformers

# The reference RankT5 (transformers' T5EncoderModel + the card's head) lives with the test generators.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "gen"))
from rankt5_reference import RankT5, t5_config  # noqa: E402 (after the path)

SPEC = dict(vocab_size=32128, d_model=16, d_kv=8, num_heads=2, d_ff=32, num_layers=2,
            relative_attention_num_buckets=32, relative_attention_max_distance=128,
            feed_forward_proj="relu", layer_norm_epsilon=1e-6)
SEED = 20240


def build():
    torch.manual_seed(SEED)
    config = t5_config(**SPEC)
    model = RankT5(config)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("layer_norm.weight"):
                p.copy_(1.0 + 0.2 * torch.randn_like(p))
            elif name.endswith("relative_attention_bias.weight"):
                p.copy_(0.5 * torch.randn_like(p))
        for p in model.parameters():  # the stored fp16 values are the model
            p.copy_(p.half().float())
    return model.eval(), config


def read_tsv(path):
    with open(path, encoding="utf-8") as f:
        return dict(line.rstrip("\n").split("\t", 1) for line in f if line.strip())


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(here, "..", "..", "tests", "fixtures", "demo"))
    ap.add_argument("--shared", default=os.environ.get("RT5_SHARED_DIR", os.path.join(here, "..", "..", "..", "shared")))
    args = ap.parse_args()
    torch.set_num_threads(1)

    model, config = build()
    os.makedirs(os.path.join(args.out, "model"), exist_ok=True)
    tensors = {k: v.half().clone().contiguous() for k, v in model.state_dict().items()}
    safetensors.torch.save_file(tensors, os.path.join(args.out, "model", "model.safetensors"),
                                metadata={"format": "pt", "note": "random weights, demo only"})
    cfg = {k: v for k, v in config.to_dict().items() if k in SPEC}
    cfg.update(model_type="t5", architectures=["T5EncoderModel"], note="random weights, demo only")
    with open(os.path.join(args.out, "model", "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
        f.write("\n")

    tok = tokenizers.Tokenizer.from_file(os.path.join(args.shared, "tokenizer", "t5-tokenizer.json"))
    tok.enable_truncation(max_length=512, strategy="longest_first")
    queries = read_tsv(os.path.join(args.out, "queries.tsv"))
    passages = read_tsv(os.path.join(args.out, "collection.tsv"))
    model = model.double()
    versions = {"python": platform.python_version(), "torch": torch.__version__,
                "transformers": transformers.__version__, "tokenizers": tokenizers.__version__,
                "safetensors": safetensors.__version__}
    with open(os.path.join(args.out, "run.bm25.trec")) as f, \
            open(os.path.join(args.out, "hf_scores.jsonl"), "w") as out:
        out.write(json.dumps({"generator": "models/demo/gen_demo_model.py", "versions": versions}) + "\n")
        for line in f:
            qid, _, docid = line.split()[:3]
            q, d = queries[qid], passages[docid]
            ids = tok.encode(q, d).ids
            with torch.no_grad():
                score = float(model(torch.tensor([ids]))[0])
            out.write(json.dumps({"qid": qid, "docid": docid, "query": q, "document": d, "ids": ids,
                                  "score": score}) + "\n")
        # Edge cases of the pair encoding, by label: an empty document, both
        # empty, a query longer than the 512-token limit (longest_first cuts
        # the query), a document far over the limit.
        every = " ".join(passages[k] for k in sorted(passages))
        edges = [("empty_document", "how do bees make honey", ""),
                 ("empty_both", "", ""),
                 ("long_query", every + " " + every, "Phobos and Deimos orbit Mars."),
                 ("long_document", "why is the sky blue", every + " " + every + " " + every)]
        for label, q, d in edges:
            ids = tok.encode(q, d).ids
            with torch.no_grad():
                score = float(model(torch.tensor([ids]))[0])
            out.write(json.dumps({"label": label, "query": q, "document": d, "ids": ids,
                                  "score": score}) + "\n")


if __name__ == "__main__":
    main()
