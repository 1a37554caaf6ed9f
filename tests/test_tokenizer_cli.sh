#!/usr/bin/env bash
# test_tokenizer_cli.sh -- `rankt5 tokenize` end to end: JSON Lines in and
# out (texts and pairs), --pieces, --lines, --format ids, the template and
# truncation options, and the errors (malformed line with its number, bad
# tokenizer file, bad options). Expected ids were checked against
# Hugging Face `tokenizers` 0.23.3 and spm_encode 0.1.97.
set -uo pipefail
src=${RT5_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
shared=${RT5_SHARED_DIR:-$src/../shared}
cli=${RT5_CLI:?RT5_CLI must name the built rankt5}
spm=${RANKT5_T5_SPIECE:-$shared/tokenizer/t5-spiece.model}
hub=$shared/tokenizer/t5-tokenizer.json
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
expect() { # name, expected, actual
  if [ "$2" == "$3" ]; then echo "ok   $1"; else echo "FAIL $1"; echo "  expected: $2"; echo "  actual:   $3"; fails=$((fails + 1)); fi
}

out=$(printf '{"text": "Hello world"}\n' | "$cli" tokenize --tokenizer "$spm")
expect "text -> ids" '{"ids": [8774, 296]}' "$out"

out=$(printf '{"text": "Hello world"}\n' | "$cli" tokenize --tokenizer "$hub" --pieces)
expect "pieces" '{"ids": [8774, 296], "pieces": ["\u2581Hello", "\u2581world"]}' "$out"

out=$(printf '{"query": "what is a tokenizer", "document": "A tokenizer splits text."}\n' | "$cli" tokenize --tokenizer "$hub")
expect "pair" '{"ids": [125, 19, 3, 9, 14145, 8585, 1, 71, 14145, 8585, 5679, 7, 1499, 5, 1], "truncated": 0}' "$out"

out=$(printf '{"query": "what is a tokenizer", "document": "A tokenizer splits text."}\n' | "$cli" tokenize --tokenizer "$hub" --max-length 8)
expect "pair truncated longest_first" '{"ids": [125, 19, 3, 1, 71, 14145, 8585, 1], "truncated": 7}' "$out"

out=$(printf '{"query": "what is a tokenizer", "document": "A tokenizer splits text."}\n' | "$cli" tokenize --tokenizer "$hub" --max-length 10 --truncation only_second)
expect "pair only_second" '{"ids": [125, 19, 3, 9, 14145, 8585, 1, 71, 14145, 1], "truncated": 5}' "$out"

out=$(printf '{"query": "q", "document": "d"}\n' | "$cli" tokenize --tokenizer "$hub" --template 'Query: {query} Document: {document}')
expect "template" '{"ids": [3, 27569, 10, 3, 1824, 11167, 10, 3, 26, 1], "truncated": 0}' "$out"

out=$(printf 'caf\xc3\xa9 \xff x\n\n' | "$cli" tokenize --tokenizer "$spm" --lines --format ids | tr '\n' '|')
expect "--lines with invalid UTF-8 (as spm_encode 0.1.97)" '11949 3 2 3 226||' "$out"

printf '{"text": "ok"}\n{"text": 5}\n' | "$cli" tokenize --tokenizer "$spm" > "$tmp/o" 2> "$tmp/e"
rc=$?
expect "bad field exits 1" 1 "$rc"
expect "bad field names line 2" 1 "$(grep -c 'line 2' "$tmp/e")"

printf '{"text": "ok"}\n{"text": "unterminated\n' | "$cli" tokenize --tokenizer "$spm" > "$tmp/o" 2> "$tmp/e"
expect "malformed JSON exits 1" 1 "$?"
expect "malformed JSON names line 2" 1 "$(grep -c 'stdin line 2' "$tmp/e")"

printf 'not a model' > "$tmp/bad.model"
echo '{"text": "x"}' | "$cli" tokenize --tokenizer "$tmp/bad.model" > /dev/null 2> "$tmp/e"
expect "corrupt model exits 1" 1 "$?"
expect "corrupt model message names the file" 1 "$(grep -c "bad.model" "$tmp/e")"

"$cli" tokenize --tokenizer "$spm" --truncation sideways < /dev/null > /dev/null 2>&1
expect "bad option exits 2" 2 "$?"
"$cli" tokenize --help | grep -q -- "--template"
expect "--help documents --template" 0 "$?"

echo "$fails failure(s)"
[ $fails -eq 0 ]
