#!/usr/bin/env bash
# test_tokenizer_spm.sh -- differential test of rankt5's SentencePiece
# tokenizer against the real one: Debian's spm_encode (libsentencepiece) and
# `rankt5 tokenize --lines` encode the same generated corpus (English prose,
# MS MARCO-style questions, a broad Unicode set, invalid UTF-8; see
# tests/gen/gen_tokenizer_corpus.py) and every line must give identical ids.
# The same is done for small models trained with non-T5 options.
# Skips (exit 0 with a note) only when spm_encode is not installed.
set -euo pipefail
src=${RT5_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
shared=${RT5_SHARED_DIR:-$src/../shared}
cli=${RT5_CLI:?RT5_CLI must name the built rankt5}
model=${RANKT5_T5_SPIECE:-$shared/tokenizer/t5-spiece.model}

if ! command -v spm_encode >/dev/null; then
  echo "SKIP: spm_encode not installed (Debian package sentencepiece; native/setup.sh installs it)"
  exit 0
fi
[ -r "$model" ] || { echo "FAIL: cannot read $model"; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
for seed in 5 11; do
  python3 "$src/tests/gen/gen_tokenizer_corpus.py" --format lines --seed "$seed" --count 6000 > "$tmp/corpus.txt"
  spm_encode --model "$model" --output_format=id < "$tmp/corpus.txt" > "$tmp/spm.ids"
  "$cli" tokenize --tokenizer "$model" --lines --format ids < "$tmp/corpus.txt" > "$tmp/rt5.ids"
  python3 - "$tmp/corpus.txt" "$tmp/spm.ids" "$tmp/rt5.ids" "$seed" <<'PY' || fail=1
import sys
corpus, spm, rt5 = (open(p, "rb").read().split(b"\n") for p in sys.argv[1:4])
n = len(corpus) - 1  # the file ends with a newline
bad = [i for i in range(n) if spm[i] != rt5[i]]
ids = sum(len(l.split()) for l in spm[:n])
print("seed %s: %d/%d lines identical to spm_encode (%d ids, %d bytes of text)"
      % (sys.argv[4], n - len(bad), n, ids, sum(len(l) + 1 for l in corpus[:n])))
for i in bad[:10]:
    print("  line %d: %r\n    spm_encode: %s\n    rankt5:     %s" % (i + 1, corpus[i][:120], spm[i][:200], rt5[i][:200]))
if len(spm) != len(rt5):
    print("  line counts differ: spm_encode %d, rankt5 %d" % (len(spm), len(rt5)))
sys.exit(1 if bad or len(spm) != len(rt5) else 0)
PY
done

# Small models trained with the options T5 does not use (custom charsmap rules,
# no dummy prefix, whitespace as suffix, no escaping; tests/gen/gen_tokenizer_tiny_models.py).
python3 "$src/tests/gen/gen_tokenizer_corpus.py" --format lines --seed 3 --count 3000 > "$tmp/corpus.txt"
for tiny in "$src"/tests/fixtures/tokenizer/spm_tiny_*.model; do
  spm_encode --model "$tiny" --output_format=id < "$tmp/corpus.txt" > "$tmp/spm.ids"
  "$cli" tokenize --tokenizer "$tiny" --lines --format ids < "$tmp/corpus.txt" > "$tmp/rt5.ids"
  lines=$(wc -l < "$tmp/corpus.txt")
  differ=$(diff "$tmp/spm.ids" "$tmp/rt5.ids" | grep -c '^<' || true)
  echo "$(basename "$tiny"): $((lines - differ))/$lines lines identical to spm_encode"
  [ "$differ" -eq 0 ] || { diff "$tmp/spm.ids" "$tmp/rt5.ids" | head -6; fail=1; }
done
exit $fail
