#!/usr/bin/env bash
# bench_server_wrk.sh -- the HTTP path of `rankt5 serve` under wrk (Debian
# package `wrk`): requests/s and latency percentiles with the demo model,
# whose scoring is nearly free, so the figures are those of libmicrohttpd,
# JSON, tokenization and the scheduler hand-off.
#
#   bash eval/bench/bench_server_wrk.sh [MODEL]          # 8 connections, 10 s
#   CONNECTIONS=64 MAX_QUEUE=4 bash eval/bench/bench_server_wrk.sh   # overload: excess is 429
#
# Environment: RT5_CLI (default build/rankt5), RANKT5_T5_SPIECE, DURATION
# (10s), CONNECTIONS (8), THREADS (2, wrk's), MAX_QUEUE (64), DOCS (8 per request).
set -euo pipefail
cd "$(dirname "$0")/../.."
CLI=${RT5_CLI:-build/rankt5}
MODEL=${1:-tests/fixtures/demo/model/model.safetensors}
TOK=${RANKT5_T5_SPIECE:-${RT5_SHARED_DIR:-../shared}/tokenizer/t5-spiece.model}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-8}
THREADS=${THREADS:-2}
MAX_QUEUE=${MAX_QUEUE:-64}
DOCS=${DOCS:-8}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
T=$(mktemp -d)
trap 'kill $PID 2>/dev/null || true; rm -rf "$T"' EXIT

"$CLI" serve --model "$MODEL" --tokenizer "$TOK" --port 0 --port-file "$T/port" --max-queue "$MAX_QUEUE" \
  2> "$T/serve.log" &
PID=$!
for _ in $(seq 600); do [ -s "$T/port" ] && break; sleep 0.1; done
[ -s "$T/port" ] || { cat "$T/serve.log" >&2; exit 1; }
PORT=$(cat "$T/port")

python3 - "$DOCS" > "$T/post.lua" <<'PY'
import json, sys
n = int(sys.argv[1])
passages = [l.rstrip("\n").split("\t", 1)[1] for l in open("tests/fixtures/demo/collection.tsv") if "\t" in l]
body = json.dumps({"query": "how do bees make honey", "texts": passages[:n]})
print('wrk.method = "POST"')
print('wrk.headers["Content-Type"] = "application/json"')
print("wrk.body = %s" % json.dumps(body))
PY

echo "== wrk -t$THREADS -c$CONNECTIONS -d$DURATION POST /rerank ($DOCS documents), server --max-queue $MAX_QUEUE"
wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$T/post.lua" "http://127.0.0.1:$PORT/rerank"
echo "== server counters"
curl -s "http://127.0.0.1:$PORT/metrics" | grep -E '^rankt5_(http_requests_total|pairs_total|batches_total|rejected)'
kill -TERM $PID
wait $PID && echo "server exit status after SIGTERM: 0"
