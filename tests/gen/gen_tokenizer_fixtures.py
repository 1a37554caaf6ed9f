#!/usr/bin/env python3
"""Generate the tokenizer's expected ids with the REAL reference libraries.

Reads the committed corpus tests/fixtures/tokenizer/corpus.jsonl (made by
tests/gen/gen_tokenizer_corpus.py --format jsonl) and writes, next to it:

  expected_spm.ids                       sentencepiece on t5-spiece.model: Debian's spm_encode
                                         (the reference), Python `sentencepiece` for texts
                                         with a newline
  expected_t5-tokenizer.ids              `tokenizers` on t5-tokenizer.json (the Hub's file)
  expected_t5-tokenizer-reconverted.ids  `tokenizers` on t5-tokenizer-reconverted.json
  pairs.jsonl                            pair encodings with truncation, by `tokenizers`
  versions.json                          library versions and input checksums

Each .ids file has one line per corpus text: the ids separated by spaces, no
</s> (add_special_tokens=False). The C test suite (tests/test_tokenizer.c)
compares rankt5 against these files; it never needs Python.

Needs: pip install tokenizers sentencepiece (transformers optional: it is used to
check that AutoTokenizer's pair call equals the `tokenizers` pair encoding).
Usage: python3 tests/gen/gen_tokenizer_fixtures.py [--shared ../shared]
"""
import argparse
import hashlib
import json
import os
import platform
import random
import subprocess
import sys

import sentencepiece
import tokenizers
from tokenizers import Tokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "..", "..", "tests", "fixtures", "tokenizer")
HF_FILES = ["t5-tokenizer.json", "t5-tokenizer-reconverted.json"]


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def write_ids(path, rows):
    with open(path, "w") as f:
        for ids in rows:
            f.write(" ".join(map(str, ids)) + "\n")


def spm_expected(spm_path, texts):
    """sentencepiece's ids. The project's reference is Debian's spm_encode
    (libsentencepiece 0.1.97): it encodes every text without a newline; the
    Python package encodes the rest (spm_encode reads lines). Where both can
    encode a text and disagree, spm_encode's answer is kept and counted."""
    sp = sentencepiece.SentencePieceProcessor(model_file=spm_path)
    rows = [sp.encode(t) for t in texts]
    note = {"python_sentencepiece": sentencepiece.__version__}
    try:
        version = subprocess.run(["spm_encode", "--version"], capture_output=True, text=True).stdout.strip()
    except FileNotFoundError:
        note["spm_encode"] = "not installed: all ids from the Python package"
        return rows, note
    idx = [i for i, t in enumerate(texts) if "\n" not in t]
    data = b"".join(texts[i].encode() + b"\n" for i in idx)
    out = subprocess.run(["spm_encode", "--model", spm_path, "--output_format=id"], input=data,
                         capture_output=True, check=True).stdout.decode().split("\n")
    disagree = []
    for k, i in enumerate(idx):
        ids = [int(x) for x in out[k].split()]
        if ids != rows[i]:
            disagree.append(texts[i])
            rows[i] = ids
    note.update({"spm_encode": version, "texts_from_spm_encode": len(idx),
                 "texts_from_python": len(texts) - len(idx),
                 "python_disagrees_with_spm_encode_on": disagree})
    return rows, note


def make_pairs(texts, rng):
    questions = [t for t in texts if t and len(t) < 80 and t.isascii()]
    docs = [t for t in texts if len(t) > 100]
    pairs = []
    for i in range(160):
        q = rng.choice(questions if i % 5 else texts)
        d = rng.choice(docs if i % 4 else texts)
        if i % 10 == 3:
            q, d = d, q  # a long query and a short document
        max_length = rng.choice([4, 5, 8, 9, 16, 17, 33, 64, 128, 512, 512])
        strategy = rng.choice(["longest_first", "longest_first", "only_second", "only_first"])
        pairs.append((q, d, max_length, strategy))
    return pairs


def encode_pairs(tok, pairs):
    out = []
    for q, d, max_length, strategy in pairs:
        tok.no_truncation()
        full = tok.encode(q, d).ids
        tok.enable_truncation(max_length=max_length, strategy=strategy)
        try:
            ids = tok.encode(q, d).ids
            out.append({"ids": ids, "truncated": len(full) - len(ids)})
        except Exception as e:  # e.g. only_second when the document is too short
            out.append({"error": str(e)})
    tok.no_truncation()
    return out


def check_transformers(path, pairs, expected):
    """The model card's AutoTokenizer call must equal the tokenizers pair encoding."""
    try:
        import transformers
        from transformers import PreTrainedTokenizerFast
    except ImportError:
        return None
    t = PreTrainedTokenizerFast(tokenizer_file=path)
    for (q, d, max_length, strategy), exp in zip(pairs, expected):
        if strategy != "longest_first" or "ids" not in exp:
            continue
        got = t(q, d, truncation=True, max_length=max_length)["input_ids"]
        if got != exp["ids"]:
            sys.exit("transformers and tokenizers disagree on %r / %r" % (q, d))
    return transformers.__version__


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=os.path.join(HERE, "..", "..", "..", "shared"))
    args = ap.parse_args()
    tokdir = os.path.join(args.shared, "tokenizer")
    with open(os.path.join(FIX, "corpus.jsonl"), encoding="utf-8") as f:
        texts = [json.loads(line)["text"] for line in f]

    spm_path = os.path.join(tokdir, "t5-spiece.model")
    spm_rows, spm_note = spm_expected(spm_path, texts)
    write_ids(os.path.join(FIX, "expected_spm.ids"), spm_rows)

    rng = random.Random(7)
    pairs = make_pairs(texts, rng)
    pair_rows = [{"query": q, "document": d, "max_length": m, "truncation": s} for q, d, m, s in pairs]
    versions = {"python": platform.python_version(), "sentencepiece": sentencepiece.__version__,
                "tokenizers": tokenizers.__version__, "files": {}}
    for name in HF_FILES:
        path = os.path.join(tokdir, name)
        tok = Tokenizer.from_file(path)
        rows = [tok.encode(t, add_special_tokens=False).ids for t in texts]
        write_ids(os.path.join(FIX, "expected_" + name.replace(".json", ".ids")), rows)
        enc = encode_pairs(tok, pairs)
        for row, e in zip(pair_rows, enc):
            row[name] = e
        tv = check_transformers(path, pairs, enc)
        if tv:
            versions["transformers"] = tv
        versions["files"][name] = sha256(path)
    versions["files"]["t5-spiece.model"] = sha256(spm_path)
    versions["spm_expected"] = spm_note
    with open(os.path.join(FIX, "pairs.jsonl"), "w", encoding="utf-8") as f:
        for row in pair_rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    with open(os.path.join(FIX, "versions.json"), "w") as f:
        json.dump(versions, f, indent=2)
        f.write("\n")
    print("wrote fixtures for %d texts and %d pairs: %s" % (len(texts), len(pairs), json.dumps(versions)))


if __name__ == "__main__":
    main()
