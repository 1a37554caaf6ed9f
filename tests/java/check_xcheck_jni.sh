#!/usr/bin/env bash
# tests/java/check_xcheck_jni.sh DIR -- after the Java suite's -Xcheck:jni run
# (surefire execution "xcheck-jni", output redirected to DIR/*-output.txt and
# DIR/*.dumpstream): fail if the JVM reported any JNI warning or fatal error.
set -euo pipefail
dir=${1:?usage: check_xcheck_jni.sh SUREFIRE_REPORTS_DIR}
if [ ! -d "$dir" ]; then
  echo "check_xcheck_jni: no -Xcheck:jni run (tests skipped)" >&2
  exit 0
fi
if ! ls "$dir"/TEST-*.xml >/dev/null 2>&1; then
  echo "check_xcheck_jni: no test reports in $dir (did the -Xcheck:jni run happen?)" >&2
  exit 1
fi
pattern='WARNING in native method|FATAL ERROR in native method|JNI call made|Exception pending|ReleaseStringUTFChars|local refs'
if grep -E -r -n "$pattern" "$dir" --include='*.txt' --include='*.dumpstream' --include='*.xml' >&2; then
  echo "check_xcheck_jni: the -Xcheck:jni run reported JNI problems (above)" >&2
  exit 1
fi
n=$(grep -h -o 'tests="[0-9]*"' "$dir"/TEST-*.xml | tr -dc '0-9\n' | awk '{s+=$1} END {print s+0}')
echo "check_xcheck_jni: $n tests ran under -Xcheck:jni; no JNI warning in their output" >&2
