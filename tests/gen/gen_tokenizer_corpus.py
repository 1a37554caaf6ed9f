#!/usr/bin/env python3
"""Deterministic differential corpus for the T5 tokenizer (standard library only).

Writes texts that exercise everything a T5 tokenizer must get right: real
English prose (the docstrings of Python's standard library), MS MARCO-style
questions, and a broad Unicode set (NFKC compatibility forms, full-width,
ligatures, combining vs precomposed accents, every Unicode space, zero-width
and control characters, emoji and astral planes, CJK, Arabic, Cyrillic, ...),
runs of spaces, leading/trailing whitespace, empty text, very long words,
special-token strings typed as text, random code points and (raw mode only)
invalid UTF-8.

  --format lines   raw bytes, one text per line: no text contains \\n (spm_encode
                   reads lines); includes invalid UTF-8 (default)
  --format jsonl   {"text": ...} per line, valid Unicode only, texts may contain
                   \\n and \\r (for the fixtures checked through the C API)
  --count N        number of random texts added to the fixed ones (default 3000)
  --seed S         random seed (default 5)
"""
import argparse
import inspect
import json
import random
import re
import sys

SPACES = ["\t", "\x0b", "\x0c", " ", "\x85", "\xa0", "\u1680"] + [chr(c) for c in range(0x2000, 0x200B)] + \
         ["\u2028", "\u2029", "\u202f", "\u205f", "\u3000", "\u180e"]
ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\xad", "\u034f", "\u061c", "\u200e", "\u200f"]
CONTROLS = [chr(c) for c in range(1, 32) if c not in (10, 13)] + ["\x7f"] + [chr(c) for c in range(0x80, 0xa0)]
COMPAT = ["ﬁ", "ﬂ", "ﬀ", "ﬃ", "ﬆ", "Ǆ", "ǅ", "Ĳ", "①", "⑳", "⒜", "㎏", "㎞", "㍻", "㈱", "½", "¼", "⅞", "™", "℃", "℉",
          "²", "³", "¹", "ⁿ", "₂", "Ⅻ", "ⅻ", "Ⅳ", "…", "‥", "ℌ", "ℕ", "ℵ", "Ω", "K", "Å", "µ", "ſ", "ʰ", "ᵃ", "㋀",
          "ｶﾀｶﾅ", "ﾊﾟ", "ｶﾞ", "ﾟ", "ﾞ", "㌀", "㍿", "🄰", "🅐", "𝐀𝐁𝐂", "𝓱𝓮𝓵𝓵𝓸", "𝟘𝟙𝟚", "ℎ", "ﹰ", "ﷺ", "ﷻ", "ﻼ", "ﺍ",
          "⁄", "′", "″", "‴", "⁗", "ǈ", "ŉ", "ϐ", "ϑ", "ϒ", "ϓ", "ϔ", "ẛ", "ẛ̣", "Ǳ", "ǲ", "℡", "№", "㏂", "ℓ"]
FULLWIDTH = "".join(chr(c) for c in range(0xff01, 0xff5f)) + "　￠￡￢￣￤￥￦"
ACCENTS = ["e\u0301", "é", "a\u0308", "ä", "n\u0303", "ñ", "o\u0302\u0301", "ố", "A\u030a", "Å", "c\u0327", "ç",
           "u\u0308\u0301", "ǘ", "e\u0301\u0301", "e\u0327\u0301", "e\u0301\u0327", "i\u0307", "\u0301", "\u0301a",
           "a\u0301\u0302\u0303\u0304", "Z\u0335\u0347", "\u1100\u1161\u11a8", "\u1100\u1161", "각", "ᄀ", "ᅡ",
           "\u0915\u093c", "\u0958", "\u0915\u094d\u0937", "\u0dd9\u0dcf", "\u0627\u0653", "\u0622", "ﬁ\u0301",
           "ß", "ẞ", "ǆ\u0301", "ｶ\u3099", "か\u3099", "が", "\u304b\u309a", "ö\u0331", "q\u0307\u0323"]
EMOJI = ["😀", "👍", "👍🏽", "👨‍👩‍👧‍👦", "👩🏽‍💻", "🇫🇷", "🇯🇵🇺🇸", "🏳️‍🌈", "❤️", "☺", "☺️", "✈", "1️⃣", "#️⃣", "🔥",
         "🤖", "🧑‍🚀", "🫠", "🪿", "𓀀", "𝄞", "𠀀", "𪜀", "𫝀", "\U0001F9D1\u200d\U0001F91D\u200d\U0001F9D1", "🦀", "🀄"]
SCRIPTS = ["中文分词测试，这是一个句子。", "日本語のテキストです。カタカナとひらがな。", "한국어 문장입니다.",
           "Это предложение на русском языке.", "Ёжик в тумане", "هذه جملة باللغة العربية.", "עברית זה כאן",
           "ภาษาไทยไม่มีช่องว่าง", "हिन्दी में वाक्य क्षत्रिय", "বাংলা ভাষা", "ქართული ენა", "Ελληνικά κείμενα",
           "Tiếng Việt có dấu", "Türkçe İstanbul ıi", "Ærøskøbing", "ŁÓDŹ żółć", "ኢትዮጵያ", "ᏣᎳᎩ", "ꦧꦱꦗꦮ",
           "ܐܪܡܝܐ", "Ꭰ", "ꓐꓑ", "ᠮᠣᠩᠭᠣᠯ", "བོད་ཡིག", "ខ្មែរ", "မြန်မာ", "ලංකා", "தமிழ்", "తెలుగు", "ગુજરાતી"]
SPECIALS = ["</s>", "<pad>", "<unk>", "<s>", "<extra_id_0>", "<extra_id_99>", "<extra_id_100>", "<extra_id_-1>",
            "</s></s>", "<</s>>", "<extra_id_1><extra_id_2>", "< /s>", "</S>", "<EXTRA_ID_0>", "▁", "▁▁", "▁a▁b"]
WORDS = ["the", "of", "and", "a", "to", "in", "is", "you", "that", "it", "he", "was", "for", "on", "are", "as",
         "with", "his", "they", "at", "be", "this", "have", "from", "or", "one", "had", "by", "word", "but",
         "what", "some", "we", "can", "out", "other", "were", "all", "there", "when", "up", "use", "your", "how",
         "said", "an", "each", "she", "which", "do", "their", "time", "if", "will", "way", "about", "many",
         "then", "them", "write", "would", "like", "so", "these", "her", "long", "make", "thing", "see", "him",
         "two", "has", "look", "more", "day", "could", "go", "come", "did", "number", "sound", "no", "most",
         "people", "my", "over", "know", "water", "than", "call", "first", "who", "may", "down", "side", "been",
         "now", "find", "any", "new", "work", "part", "take", "get", "place", "made", "live", "where", "after"]
TOPICS = ["vitamin d", "the french revolution", "a mortgage", "photosynthesis", "bitcoin", "the amazon river",
          "a 401k", "hypothyroidism", "the eiffel tower", "quantum computing", "a roth ira", "covid-19",
          "the mitochondria", "a tsunami", "jazz music", "the stock market", "dna replication", "plantar fasciitis",
          "the great wall of china", "a black hole", "ibuprofen", "the pythagorean theorem", "gluten", "espresso"]
QUESTIONS = ["what is {t}", "how long does {t} last", "what causes {t}", "is {t} bad for you", "who discovered {t}",
             "when was {t} invented", "how much does {t} cost", "define {t}", "{t} symptoms", "why is {t} important",
             "where is {t} located", "how to calculate {t}", "what does {t} mean in spanish", "{t} vs {u}",
             "how many calories in {t}", "can {t} cause {u}", "average salary for {t} engineer"]


def english_sentences():
    """Real English prose: docstrings of standard-library modules."""
    import collections, difflib, email, functools, http.client, json as j, logging, os, pathlib, \
        random as r, string, subprocess, textwrap, threading, unittest, urllib.parse, zipfile
    texts = []
    for mod in (collections, difflib, email, functools, http.client, j, logging, os, pathlib, r, string,
                subprocess, textwrap, threading, unittest, urllib.parse, zipfile):
        for name, obj in sorted(vars(mod).items()):
            doc = inspect.getdoc(obj) if not name.startswith("_") else None
            if not doc or getattr(obj, "__module__", mod.__name__) != mod.__name__:
                continue
            for para in re.split(r"\n\s*\n", doc):
                para = " ".join(para.split())
                if 20 <= len(para) <= 600:
                    texts.append(para)
    return texts


def fixed_texts():
    t = ["", " ", "  ", "\t", "a", " a", "a ", "  a  b   c  ", "Hello world", "Hello  world", " leading", "trailing ",
         "   many     spaces     here   ", "x" * 1000, "Pneumonoultramicroscopicsilicovolcanoconiosis" * 8,
         "a" * 5000, "ab" * 700 + "!", "1234567890" * 30, "https://example.com/a/b?c=d&e=f#g",
         "user@example.org", "C++ and C# and F#", "$1,234.56 or €5 or ¥100 or £3", "3.14159 2.71828 -42 +7",
         "don't can't won't it's", "\"quoted\" 'single' «guillemets» „low“", "(parens) [brackets] {braces}",
         "emoji at end 😀", "😀 emoji at start", "tab\tseparated\tvalues", "MixedCASE camelCase snake_case"]
    t += SPACES + ["a" + s + "b" for s in SPACES] + [s + "x" + s for s in SPACES] + ["a" + s * 3 + "b" for s in SPACES]
    t += ZERO_WIDTH + ["a" + z + "b" for z in ZERO_WIDTH] + [z + "word" for z in ZERO_WIDTH] + ["x " + z + " y" for z in ZERO_WIDTH]
    t += CONTROLS + ["a" + c + "b" for c in CONTROLS] + [c + " " + c for c in CONTROLS[:8]]
    t += COMPAT + ["x" + c + "y" for c in COMPAT] + [c + " " + c for c in COMPAT[:20]]
    t += [FULLWIDTH, FULLWIDTH[:30], "ＨＥＬＬＯ　ＷＯＲＬＤ", "１２３　ａｂｃ"]
    t += ACCENTS + ["caf" + a for a in ACCENTS] + [a + "b" for a in ACCENTS] + [a + " " + a for a in ACCENTS]
    t += EMOJI + ["I " + e + " it" for e in EMOJI] + ["".join(EMOJI)]
    t += SCRIPTS + [" ".join(SCRIPTS)]
    t += SPECIALS + ["hello" + s + "world" for s in SPECIALS] + [" " + s + " " for s in SPECIALS] + \
         ["a " + s for s in SPECIALS] + [s + "x" for s in SPECIALS]
    t += ["\ufffd", "a\ufffdb", "\U0010ffff", "\ue000", "\uffff", "\U000e0041", "\U000e0001"]
    # Float near-ties in the Viterbi: sentencepiece 0.1.97 (Debian) and 0.2.x (PyPI) split "‴"
    # (NFKC: three primes) differently after these prefixes; docs/tokenizer.md explains.
    t += ["हिन्दी में वाक्य क्षत्रिय‴ か゚ố their ", "\u2003中文分词测试，这是一个句子。‴ខ្មែរ\u200b\x8d ☺\x89",
          "these ලංකා ñ </s>liké ： ﬀภาษาไทยไม่มีช่องว่าง \t‴ "]
    return t


def random_text(rng, pools):
    kind = rng.randrange(6)
    if kind == 0:  # a MS MARCO-style question
        q = rng.choice(QUESTIONS).format(t=rng.choice(TOPICS), u=rng.choice(TOPICS))
        return q if rng.random() < 0.7 else q.capitalize() + "?"
    if kind == 1:  # words with odd spacing
        words = [rng.choice(WORDS) for _ in range(rng.randrange(1, 30))]
        seps = [rng.choice([" ", " ", " ", "  ", "\t", rng.choice(SPACES), ", ", ". "]) for _ in words]
        return rng.choice(["", " ", "  "]) + "".join(w + s for w, s in zip(words, seps))
    if kind == 2:  # random code points anywhere in Unicode
        out = []
        for _ in range(rng.randrange(1, 25)):
            c = rng.choice([rng.randrange(0x20, 0x80), rng.randrange(0xa0, 0x3000), rng.randrange(0x3000, 0x10000),
                            rng.randrange(0x10000, 0x30000), rng.randrange(0xe0000, 0xe0080)])
            if 0xd800 <= c <= 0xdfff or c in (10, 13):
                c = 0x41
            out.append(chr(c))
        return "".join(out)
    # a mix of the hand-made pools
    parts = [rng.choice(rng.choice(pools)) for _ in range(rng.randrange(1, 12))]
    return "".join(p if rng.random() < 0.6 else p + " " for p in parts)


def invalid_utf8(rng):
    bad = [b"\xff", b"\xfe", b"\x80", b"\xbf", b"\xc0\x80", b"\xc1\xbf", b"\xe0\x80\x80", b"\xed\xa0\x80",
           b"\xed\xbf\xbf", b"\xf4\x90\x80\x80", b"\xf5\x80\x80\x80", b"\xf8\x88\x80\x80\x80", b"\xe2\x96",
           b"\xe2", b"\xf0\x9f\x98", b"\xc3", b"\xef\xbf\xbd", b"\xef\xbf", b"\x00", b"\x00\x00"]
    out = []
    for b in bad:
        out += [b, b"a" + b + b"b", b + b, b" " + b + b" ", b + "é".encode(), b"caf" + b]
    for _ in range(200):
        n = rng.randrange(1, 12)
        out.append(bytes(rng.randrange(256) for _ in range(n)).replace(b"\n", b"\xff"))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--format", choices=["lines", "jsonl"], default="lines")
    ap.add_argument("--count", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--english", type=int, default=400, help="how many English paragraphs")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    pools = [SPACES, ZERO_WIDTH, CONTROLS, COMPAT, list(FULLWIDTH), ACCENTS, EMOJI, SCRIPTS, SPECIALS, WORDS]
    english = english_sentences()
    rng.shuffle(english)
    texts = fixed_texts() + english[:args.english] + [random_text(rng, pools) for _ in range(args.count)]
    out = sys.stdout.buffer
    if args.format == "jsonl":
        texts += ["line one\nline two", "\r\n", "a\r\nb", "a\rb", "\n\n\nx\n", " \n ", "x\u0085y", "\r", "\n",
                  "a\x00b", "\x00", "e\u0301\x00", "</s>\x00<pad>"]
        for t in texts:
            out.write(json.dumps({"text": t}, ensure_ascii=False).encode() + b"\n")
        return
    for t in texts:
        out.write(t.replace("\n", " ").encode() + b"\n")
    for b in invalid_utf8(rng):
        out.write(b + b"\n")


if __name__ == "__main__":
    main()
