#!/usr/bin/env bash
# tests/run.sh -- set up, build and run the whole test suite:
#   1. release build, every test (unit, differential, CLI end-to-end)
#   2. the same release tests again with RT5_MAX_ISA=avx2, when this CPU has
#      more than AVX2: our kernels and oneDNN then compute as on an AVX2-only
#      CPU (Zen 3, Haswell), so that path is tested on every machine
#   3. AddressSanitizer + UndefinedBehaviorSanitizer build, every test
#   4. libFuzzer smoke runs (20 s per target) under the same sanitizers
#   5. Java: `mvn package` (the plugin jar; JUnit against real Anserini, once
#      plainly, once under -Xcheck:jni, once on the ASan build) -- tests/java/run.sh
#   6. Python: rankt5_pyserini in a real Pyserini -- tests/python/run.sh
# RT5_SKIP_AVX2=1, RT5_SKIP_SANITIZE=1, RT5_SKIP_FUZZ=1, RT5_SKIP_JAVA=1 or
# RT5_SKIP_PYTHON=1 leave out tiers (local use); the Python tier needs the Java
# tier's jar. Each C tier ends with its counts and every skipped test case
# with its reason (a capability this CPU lacks, a missing tool).
set -euo pipefail
cd "$(dirname "$0")/.."
bash native/setup.sh
export RT5_SHARED_DIR=${RT5_SHARED_DIR:-$(cd .. && pwd)/shared}
status=0

# The "skipped: ..." lines each test printed, from CTest's log of the last run.
report_skips() {
  python3 - "$1/Testing/Temporary/LastTest.log" "$2" <<'PY' >&2 || true
import re, sys
tier, name, lines = sys.argv[2], "?", []
for line in open(sys.argv[1], errors="replace"):
    m = re.match(r"\d+/\d+ Test: (\S+)", line)
    if m:
        test = name = m.group(1)
    m = re.match(r"\[ RUN  \] (\S+)", line)  # a case inside a C test binary
    if m:
        name = m.group(1)
    m = re.match(r"\s*skipped: (.*)", line)
    if m:
        lines.append(f"  skipped in {name}: {m.group(1)}")
lines = sorted(set(lines))
print(f"== tier {tier}: {len(lines)} skipped test case(s)" + (":" if lines else ""))
if lines:
    print("\n".join(lines))
PY
}

run_tier() {
  local name=$1 kind=$2 label_args=("${@:3}")
  echo "== tier: $name" >&2
  local dir
  dir=$(bash native/build.sh "$kind")
  (cd "$dir" && ctest --output-on-failure -j 2 "${label_args[@]}") || status=1
  report_skips "$dir" "$name"
}

run_tier release release
isa=$(build/rankt5 info --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["cpu"]["isa"])')
if [ "${RT5_SKIP_AVX2:-0}" != 1 ]; then
  case "$isa" in
    avx2|baseline) echo "== tier release-avx2: skipped, this CPU runs $isa natively (tier 1 covered it)" >&2 ;;
    *) RT5_MAX_ISA=avx2 run_tier "release-avx2 (CPU has $isa, capped at avx2)" release ;;
  esac
fi
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
