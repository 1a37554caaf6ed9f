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
if [ -z "${JAVA_HOME:-}" ] || ! "$JAVA_HOME/bin/java" -version 2>&1 | grep -qE 'version "(2[1-9]|[3-9][0-9])'; then
  for jdk in $(ls -d /usr/lib/jvm/*/ 2>/dev/null | sort -V -r); do
    if [ -x "$jdk/bin/javac" ] && "$jdk/bin/java" -version 2>&1 | grep -qE 'version "(2[1-9]|[3-9][0-9])'; then
      export JAVA_HOME=${jdk%/}
      break
    fi
  done
fi
if [ -z "${JAVA_HOME:-}" ]; then
  echo "tests/java/run.sh: no JDK >= 21 found; set JAVA_HOME" >&2
  exit 1
fi
export RT5_SHARED_DIR=${RT5_SHARED_DIR:-$(cd .. && pwd)/shared}
echo "== tier: java (JAVA_HOME=$JAVA_HOME)" >&2
mvn -B -ntp package "$@"
