#!/usr/bin/env bash
# `make serve`: scheduled rebuilds in the foreground.
#
# 1. Reuses the Prefect server at $PREFECT_API_URL if one answers; otherwise starts
#    `prefect server start --host 127.0.0.1 --port ${PREFECT_SERVER_API_PORT:-4200}` (log:
#    $PREFECT_HOME/server.log, database: $PREFECT_HOME/prefect.db) and waits for /api/health.
# 2. Runs `communitybench serve "$@"` (flow-run logs go to its stdout and to the server).
# SIGTERM/SIGINT stop `communitybench serve` first (it pauses the schedule), then the server this
# script started. Global options go in the environment (COMMUNITYBENCH_CONFIG, ...).
set -euo pipefail

cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
export PREFECT_HOME=${PREFECT_HOME:-$PWD/.prefect}
export DO_NOT_TRACK=${DO_NOT_TRACK:-1}
export PREFECT_SERVER_ANALYTICS_ENABLED=${PREFECT_SERVER_ANALYTICS_ENABLED:-false}
port=${PREFECT_SERVER_API_PORT:-4200}
export PREFECT_API_URL=${PREFECT_API_URL:-http://127.0.0.1:$port/api}
mkdir -p "$PREFECT_HOME"

healthy() {
  "$VENV/bin/python" -c 'import httpx, sys
try:
    sys.exit(httpx.get(sys.argv[1] + "/health", timeout=2).status_code != 200)
except httpx.HTTPError:
    sys.exit(1)' "${PREFECT_API_URL%/}"
}

server_pid=""
serve_pid=""
stop() {
  trap - TERM INT EXIT
  local pid
  for pid in $serve_pid $server_pid; do  # serve first: it pauses the schedule on the server
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" || true
  done
}
trap 'stop; exit 143' TERM INT
trap stop EXIT

if healthy; then
  echo "serve.sh: using the Prefect server at $PREFECT_API_URL" >&2
elif [[ $PREFECT_API_URL != "http://127.0.0.1:$port/api" ]]; then
  echo "serve.sh: no Prefect server answers at $PREFECT_API_URL (only" \
    "http://127.0.0.1:$port/api is started here; unset PREFECT_API_URL or start yours)" >&2
  exit 2
else
  echo "serve.sh: starting a Prefect server on 127.0.0.1:$port" \
    "(log: $PREFECT_HOME/server.log)" >&2
  "$VENV/bin/prefect" server start --host 127.0.0.1 --port "$port" \
    >>"$PREFECT_HOME/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 120); do
    healthy && break
    if ! kill -0 "$server_pid" 2>/dev/null; then
      echo "serve.sh: the Prefect server exited; see $PREFECT_HOME/server.log" >&2
      server_pid=""
      exit 1
    fi
    sleep 1
  done
  healthy || { echo "serve.sh: server not healthy after 120 s; see the log" >&2; exit 1; }
  echo "serve.sh: Prefect UI and API at ${PREFECT_API_URL%/api}" >&2
fi

"$VENV/bin/communitybench" serve --api-url "$PREFECT_API_URL" "$@" &
serve_pid=$!
rc=0
wait "$serve_pid" || rc=$?
serve_pid=""
exit "$rc"
