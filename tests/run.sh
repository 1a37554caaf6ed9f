#!/usr/bin/env bash
# tests/run.sh -- set up, build and run the whole test suite:
#   1. release build, every test (unit, differential, CLI end-to-end)
#   2. AddressSanitizer + UndefinedBehaviorSanitizer build, every test
#   3. libFuzzer smoke runs (20 s per target) under the same sanitizers
# RT5_SKIP_SANITIZE=1 or RT5_SKIP_FUZZ=1 leave out tiers 2 or 3 (local use).
set -euo pipefail
cd "$(dirname "$0")/.."
bash native/setup.sh
export RT5_SHARED_DIR=${RT5_SHARED_DIR:-$(cd .. && pwd)/shared}
status=0

run_tier() {
  local name=$1 kind=$2 label_args=("${@:3}")
  echo "== tier: $name" >&2
  local dir
  dir=$(bash native/build.sh "$kind")
  (cd "$dir" && ctest --output-on-failure -j 2 "${label_args[@]}") || status=1
}

run_tier release release
[ "${RT5_SKIP_SANITIZE:-0}" = 1 ] || \
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 run_tier sanitizers asan -LE slow
[ "${RT5_SKIP_FUZZ:-0}" = 1 ] || run_tier fuzz-smoke fuzz -L fuzz
exit $status
