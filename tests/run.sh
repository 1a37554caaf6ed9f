#!/usr/bin/env bash
# tests/run.sh -- set up, build and run the whole test suite:
#   1. release build, every test (unit, differential, CLI end-to-end)
#   2. AddressSanitizer + UndefinedBehaviorSanitizer build, every test
#   3. libFuzzer smoke runs (20 s per target) under the same sanitizers
#   4. Java: `mvn package` (the plugin jar; JUnit against real Anserini, once
#      plainly, once under -Xcheck:jni, once on the ASan build) -- tests/java/run.sh
#   5. Python: rankt5_pyserini in a real Pyserini -- tests/python/run.sh
# RT5_SKIP_SANITIZE=1, RT5_SKIP_FUZZ=1, RT5_SKIP_JAVA=1 or RT5_SKIP_PYTHON=1
# leave out tiers (local use); the Python tier needs the Java tier's jar.
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
java_ok=1
if [ "${RT5_SKIP_JAVA:-0}" != 1 ]; then
  bash tests/java/run.sh || { status=1; java_ok=0; }
fi
if [ "${RT5_SKIP_PYTHON:-0}" != 1 ]; then
  if [ "$java_ok" = 1 ]; then bash tests/python/run.sh || status=1
  else echo "== tier: python skipped: the Java tier failed, so there is no plugin jar to test" >&2; status=1; fi
fi
exit $status
