# lib.sh -- the preamble the CLI script tests share. Source it right after
# `set -euo pipefail`:  . "$(dirname "$0")/lib.sh"
# It sets CLI (the rankt5 binary, from RT5_CLI), SRC (the source tree), SHARED
# (../shared), SPM (t5-3b's spiece.model), D (the demo fixtures), a scratch
# folder T removed on exit, and fail MESSAGE (print, exit 1).
CLI=${RT5_CLI:?RT5_CLI must point at the rankt5 binary}
SRC=${RT5_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
SHARED=${RT5_SHARED_DIR:-$SRC/../shared}
SPM=${RANKT5_T5_SPIECE:-$SHARED/tokenizer/t5-spiece.model}
D=$SRC/tests/fixtures/demo
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# demo_pairs IN WANT: the demo's transformers-scored pairs (tests/fixtures/demo/hf_scores.jsonl) as
# `rankt5 score` input (IN, JSON Lines) and their expected scores (WANT: "qid score" per line).
demo_pairs() {
  python3 - "$D/hf_scores.jsonl" "$1" "$2" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])][1:]
with open(sys.argv[2], "w") as f, open(sys.argv[3], "w") as w:
    for r in rows:
        f.write(json.dumps({"query": r["query"], "document": r["document"]}) + "\n")
        w.write(f'{r.get("qid") or r["label"]} {r["score"]!r}\n')
PY
}

# dtype_runs DT: true when compute dtype DT runs on this CPU (after RT5_MAX_ISA;
# `rankt5 info --json`); otherwise prints "skipped: DT: <the library's reason>"
# so the suite's summary lists it, and is false. Use: dtype_runs bf16 || continue
dtype_runs() {
  local why
  [ "$1" = auto ] && return 0 # resolves to a dtype that runs
  why=$("$CLI" info --json | python3 -c '
import json, sys
c = json.load(sys.stdin)["cpu"]
print("" if sys.argv[1] in c["dtypes"] else (c.get("bf16_refused") or "not supported on this CPU"))' "$1")
  [ -z "$why" ] && return 0
  echo "skipped: $1: $why"
  return 1
}
