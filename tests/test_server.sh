#!/usr/bin/env bash
# test_server.sh -- `rankt5 serve` end to end with the real engine on the
# demo model (t5's full vocabulary): the server is started on a free
# loopback port and driven over HTTP by tests/test_server_e2e.py (Python
# standard library only). See that file for what is checked.
set -euo pipefail
CLI=${RT5_CLI:?RT5_CLI must point at the rankt5 binary}
SRC=${RT5_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
SHARED=${RT5_SHARED_DIR:-$SRC/../shared}
export RT5_CLI="$CLI" RT5_SOURCE_DIR="$SRC" RT5_SHARED_DIR="$SHARED"
exec python3 "$SRC/tests/test_server_e2e.py"
