#!/usr/bin/env bash
# test_cli_model_folder.sh -- a models/<name>/ folder (manifest.json + the
# files the user put there) is a model path everywhere one is taken:
#  - models/rankt5-3b/manifest.json, as committed, in a folder holding the
#    demo weights under the manifest's file name and t5's spiece.model:
#    `score`, `rerank` and `info` with --model FOLDER alone give byte-identical
#    output to explicit --model/--tokenizer paths, and the demo pairs score
#    as transformers scored them (hf_scores.jsonl, 1e-4 relative);
#  - the manifest's max_length and template are used unless the options are
#    given (a shorter max_length changes the scores of long pairs exactly as
#    --max-length does);
#  - a missing weights file, a broken manifest and a bad template are errors
#    that name the manifest and the key, with exit 1 and no output file.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
M=$T/rankt5-3b
mkdir -p "$M"
cp "$SRC/models/rankt5-3b/manifest.json" "$M/"
ln -s "$D/model/model.safetensors" "$M/pytorch_model.bin" # the loader reads the format from the bytes
cp "$D/model/config.json" "$M/"
ln -s "$SPM" "$M/spiece.model"
demo_pairs "$T/in.jsonl" "$T/want.txt"

"$CLI" score --model "$M" < "$T/in.jsonl" > "$T/folder.jsonl"
"$CLI" score --model "$D/model" --tokenizer "$SPM" < "$T/in.jsonl" > "$T/explicit.jsonl"
cmp "$T/folder.jsonl" "$T/explicit.jsonl" || fail "score: folder and explicit paths differ"
python3 - "$T/want.txt" "$T/folder.jsonl" <<'PY'
import json, sys
want = [float(l.split()[1]) for l in open(sys.argv[1])]
got = [json.loads(l)["score"] for l in open(sys.argv[2])]
assert len(got) == len(want) > 0, (len(got), len(want))
worst = max(abs(g - w) / max(1.0, abs(w)) for g, w in zip(got, want))
assert worst <= 1e-4, f"folder model vs HF: {worst:.2e}"
print(f"ok: --model FOLDER scores {len(got)} demo pairs as transformers does ({worst:.1e})")
PY

run_args=(--run "$D/run.bm25.trec" --queries "$D/queries.tsv" --collection "$D/collection.tsv" --top 100 --quiet)
"$CLI" rerank --model "$M" "${run_args[@]}" -o "$T/folder.trec"
"$CLI" rerank --model "$D/model" --tokenizer "$SPM" "${run_args[@]}" -o "$T/explicit.trec"
cmp "$T/folder.trec" "$T/explicit.trec" || fail "rerank: folder and explicit paths differ"
echo "ok: rerank --model FOLDER = explicit paths"

"$CLI" info --model "$M" | grep -q "d_model" || fail "info --model FOLDER printed no configuration"

# The manifest's max_length is the default; --max-length still wins.
python3 - "$M/manifest.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1])); m["max_length"] = 16
json.dump(m, open(sys.argv[1], "w"))
PY
"$CLI" score --model "$M" < "$T/in.jsonl" > "$T/short_manifest.jsonl" 2>/dev/null
"$CLI" score --model "$D/model" --tokenizer "$SPM" --max-length 16 < "$T/in.jsonl" > "$T/short_option.jsonl" 2>/dev/null
cmp "$T/short_manifest.jsonl" "$T/short_option.jsonl" || fail "manifest max_length 16 differs from --max-length 16"
cmp -s "$T/short_manifest.jsonl" "$T/folder.jsonl" && fail "manifest max_length 16 changed nothing"
"$CLI" score --model "$M" --max-length 512 < "$T/in.jsonl" > "$T/override.jsonl"
cmp "$T/override.jsonl" "$T/folder.jsonl" || fail "--max-length did not override the manifest"
echo "ok: manifest max_length is the default, --max-length overrides it"

# ... and so is its template.
python3 - "$M/manifest.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1])); m["max_length"] = 512; m["template"] = "Query: {query} Document: {document}"
json.dump(m, open(sys.argv[1], "w"))
PY
"$CLI" score --model "$M" < "$T/in.jsonl" > "$T/tpl_manifest.jsonl"
"$CLI" score --model "$D/model" --tokenizer "$SPM" --template "Query: {query} Document: {document}" \
  < "$T/in.jsonl" > "$T/tpl_option.jsonl"
cmp "$T/tpl_manifest.jsonl" "$T/tpl_option.jsonl" || fail "manifest template differs from --template"
echo "ok: manifest template = --template"

# Errors name the manifest and the key; nothing is written.
expect_error() { # LABEL PATTERN: score --model $M must exit 1 with PATTERN on stderr and no -o file
  set +e
  "$CLI" score --model "$M" -o "$T/out.jsonl" < "$T/in.jsonl" 2> "$T/err.txt"
  rc=$?
  set -e
  [ "$rc" = 1 ] || fail "$1: exit $rc, want 1"
  grep -q -- "$2" "$T/err.txt" || fail "$1: stderr lacks '$2': $(cat "$T/err.txt")"
  [ ! -e "$T/out.jsonl" ] || fail "$1: wrote an output file"
  echo "ok: $1: $(head -c 200 "$T/err.txt")"
}
python3 - "$M/manifest.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1])); m["template"] = "no placeholders"
json.dump(m, open(sys.argv[1], "w"))
PY
expect_error "bad template" 'manifest.json: "template" must be'
cp "$SRC/models/rankt5-3b/manifest.json" "$M/"
rm "$M/pytorch_model.bin"
expect_error "missing weights" "manifest.json: files.weights names pytorch_model.bin, which is not in"
printf '{"files": {"weights": \n' > "$M/manifest.json"
expect_error "broken manifest" "manifest.json: line"
