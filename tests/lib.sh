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
