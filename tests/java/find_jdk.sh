# tests/java/find_jdk.sh -- sourced: keeps JAVA_HOME if it is a JDK >= 21,
# else sets it to the newest such JDK under /usr/lib/jvm; fails if none.
jdk_ok() { [ -x "$1/bin/javac" ] && "$1/bin/java" -version 2>&1 | grep -qE 'version "(2[1-9]|[3-9][0-9])'; }
if [ -z "${JAVA_HOME:-}" ] || ! jdk_ok "$JAVA_HOME"; then
  JAVA_HOME=
  for jdk in $(ls -d /usr/lib/jvm/*/ 2>/dev/null | sort -V -r); do
    if jdk_ok "${jdk%/}"; then JAVA_HOME=${jdk%/}; break; fi
  done
  if [ -z "$JAVA_HOME" ]; then
    echo "no JDK >= 21 found (Anserini 1.x needs Java 21+): set JAVA_HOME" >&2
    return 1 2>/dev/null || exit 1
  fi
fi
export JAVA_HOME
