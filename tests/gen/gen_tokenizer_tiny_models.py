#!/usr/bin/env python3
"""Train the tiny SentencePiece models in tests/fixtures/tokenizer/spm_tiny_*.model.

They exercise what Google's T5 model does not: a small precompiled charsmap built from custom
rules (spm_tiny_rules.tsv), add_dummy_prefix=false with remove_extra_whitespaces=false,
treat_whitespace_as_suffix=true, escape_whitespaces=false (the trainer refuses that option for
unigram, so the flag is set in the trained model's normalizer_spec afterwards), and unk_id 0.
tests/test_tokenizer_spm.sh compares rankt5 with spm_encode on each of them.
Needs the PyPI `sentencepiece` package (training only). Usage:
    python3 tests/gen/gen_tokenizer_tiny_models.py
"""
import os

import sentencepiece as spm

FIX = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "fixtures", "tokenizer")
RULES = [("ﬁ", "fi"), ("Ａ", "A"), ("ａ", "a"), ("e\u0301", "é"), ("\u3000", " "), ("\t", " "), ("①", "1"),
         ("ｶﾞ", "ガ"), ("\u200b", ""), ("Ⅻ", "XII")]
TEXT = ["hello world this is a tiny corpus", "the quick brown fox jumps over the lazy dog", "café naïve fine",
        "数据 テスト ガ", "XII 1 A a"] * 50


def varint(b, i):
    r = s = 0
    while True:
        c = b[i]
        i += 1
        r |= (c & 0x7F) << s
        s += 7
        if c < 0x80:
            return r, i


def encode_varint(v):
    out = b""
    while True:
        c, v = v & 0x7F, v >> 7
        if not v:
            return out + bytes([c])
        out += bytes([c | 0x80])


def without_escaping(model):
    """Appends escape_whitespaces=false (NormalizerSpec field 5) to the normalizer_spec."""
    i, out = 0, b""
    while i < len(model):
        start = i
        key, i = varint(model, i)
        field, wire = key >> 3, key & 7
        if wire == 2:
            n, i = varint(model, i)
            value = model[i:i + n]
            i += n
            if field == 3:
                value += b"\x28\x00"
                out += encode_varint(key) + encode_varint(len(value)) + value
                continue
        elif wire == 0:
            _, i = varint(model, i)
        else:
            i += 4 if wire == 5 else 8
        out += model[start:i]
    return out


def main():
    rules = os.path.join(FIX, "spm_tiny_rules.tsv")
    with open(rules, "w") as f:
        for src, dst in RULES:
            f.write(" ".join("%X" % ord(c) for c in src) + "\t" + " ".join("%X" % ord(c) for c in dst) + "\n")
    text = "/tmp/rt5_tiny_corpus.txt"
    with open(text, "w") as f:
        f.write("\n".join(TEXT))
    common = dict(input=text, vocab_size=70, model_type="unigram", character_coverage=1.0,
                  hard_vocab_limit=False, normalization_rule_tsv=rules, num_threads=1)
    prefix = os.path.join(FIX, "spm_tiny_")
    spm.SentencePieceTrainer.train(model_prefix=prefix + "rules", **common)
    spm.SentencePieceTrainer.train(model_prefix=prefix + "raw", add_dummy_prefix=False,
                                   remove_extra_whitespaces=False, **common)
    spm.SentencePieceTrainer.train(model_prefix=prefix + "suffix", treat_whitespace_as_suffix=True, **common)
    with open(prefix + "rules.model", "rb") as f:
        model = f.read()
    with open(prefix + "noescape.model", "wb") as f:
        f.write(without_escaping(model))
    for name in ("rules", "raw", "suffix"):
        os.remove(prefix + name + ".vocab")


if __name__ == "__main__":
    main()
