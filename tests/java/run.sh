#!/usr/bin/env bash
# tests/java/run.sh [MAVEN ARGS] -- the Java tier of the test suite:
#  1. `mvn package` at the root: CMake builds librankt5jni and the CLI (into
#     target/native), every Java test (tests/java/io/rankt5/...) runs once
#     plainly and once under -Xcheck:jni (whose output
#     tests/java/check_xcheck_jni.sh then checks), and the jar is written to
#     target/rankt5-anserini-<version>.jar; then eval/trec/run.sh with
#     Anserini BM25 as its first stage (tests/java/test_eval_trec_bm25.sh);
#  2. unless RT5_SKIP_SANITIZE=1: the Java tests again against an
#     AddressSanitizer + UBSan build of librankt5jni (`-Prankt5-asan`), in
#     build-asan/ (the C sanitizer tier's build folder, configured the same way
#     as native/build.sh asan).
# Needs a JDK >= 21 (JAVA_HOME, or the newest one under /usr/lib/jvm) and
# Maven; dependencies come from Maven Central through pom.xml.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/java/find_jdk.sh
export RT5_SHARED_DIR=${RT5_SHARED_DIR:-$(cd .. && pwd)/shared}
echo "== tier: java (JAVA_HOME=$JAVA_HOME)" >&2
mvn -B -ntp package "$@"
bash tests/java/test_eval_trec_bm25.sh
if [ "${RT5_SKIP_SANITIZE:-0}" != 1 ]; then
  echo "== tier: java against the sanitizer build of librankt5jni" >&2
  mvn -B -ntp -Prankt5-asan test -Drankt5.native.dir="$PWD/build-asan" \
    -Drankt5.asan.lib="$(gcc -print-file-name=libasan.so)" "$@"
fi
