#!/usr/bin/env bash
# tests/python/run.sh -- the Python tier of the test suite: rankt5_pyserini
# (java/pyserini) in a real Pyserini from PyPI, against the CLI.
# Needs the plugin jar (tests/java/run.sh, i.e. `mvn package`, writes
# target/rankt5-anserini-*.jar), the release CLI (build/rankt5) and a JDK >= 21.
# Pyserini and its dependencies (torch among them: several GB) go into a
# virtual environment kept outside the work tree, keyed by the pinned versions,
# so that only the first run on a machine downloads them:
#   RT5_PY_VENV (default ~/.cache/rankt5/venv-pyserini-1.6.0).
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/java/find_jdk.sh
export RT5_SHARED_DIR=${RT5_SHARED_DIR:-$(cd .. && pwd)/shared}
PINS=(pyserini==1.6.0 pytest)
venv=${RT5_PY_VENV:-$HOME/.cache/rankt5/venv-pyserini-1.6.0}
echo "== tier: python (Pyserini 1.6.0, JAVA_HOME=$JAVA_HOME, venv $venv)" >&2
if ! "$venv/bin/python" -c "import pyserini, pytest, jnius" 2>/dev/null; then
  echo "rankt5 tests: installing ${PINS[*]} into $venv (first run on this machine: several GB)" >&2
  mkdir -p "$(dirname "$venv")"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "${PINS[@]}" >&2
fi
jar=$(ls -t target/rankt5-anserini-*.jar 2>/dev/null | head -1 || true)
[ -n "$jar" ] || { echo "no target/rankt5-anserini-*.jar: run tests/java/run.sh (mvn package) first" >&2; exit 1; }
export RANKT5_JAR=${RANKT5_JAR:-$PWD/$jar}
export RT5_CLI=${RT5_CLI:-$PWD/build/rankt5}
"$venv/bin/python" -m pytest -q -p no:cacheprovider tests/python "$@"
