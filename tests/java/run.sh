#!/usr/bin/env bash
# tests/java/run.sh -- the Java tier of the test suite: `mvn package` at the
# root builds librankt5jni and the CLI with CMake (into target/native), runs
# every Java test (tests/java/io/rankt5/...) once plainly and once under
# -Xcheck:jni (checked by tests/java/check_xcheck_jni.sh), and writes
# target/rankt5-anserini-<version>.jar.
# Needs a JDK >= 21 (JAVA_HOME, or the newest one under /usr/lib/jvm) and
# Maven; dependencies come from Maven Central through pom.xml.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/java/find_jdk.sh
export RT5_SHARED_DIR=${RT5_SHARED_DIR:-$(cd .. && pwd)/shared}
echo "== tier: java (JAVA_HOME=$JAVA_HOME)" >&2
mvn -B -ntp package "$@"
