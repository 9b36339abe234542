#!/usr/bin/env bash
# Run the official clients' own test suites (socket.io-client, engine.io-client)
# against our server, or against Node's own server, from a scratch folder.
# See README.md beside this file. Nothing here is committed from the monorepo.
#
#   run.sh setup GIT_DIR [SCRATCH]   unpack the monorepo there, npm install, compile
#   run.sh ours  [SCRATCH]           both suites against our ports of the support servers
#   run.sh node  [SCRATCH]           both suites against the monorepo's own (Node) servers
#
# SCRATCH defaults to /tmp/scratch/client-suites. Logs: SCRATCH/../client-suites.*.log
# DRIVER=asyncio runs socket.io-client's suite against our asyncio driver (AsyncServer).
# EIO_DRIVER=asyncio|uvicorn runs engine.io-client against the asyncio driver
# (our HttpServer, or its AsgiApp under uvicorn) instead of gevent.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
# The one test that fails now and then on every server; it never needs the server,
# and when it fails it leaves fake timers installed, which fails every later test.
FLAKY="should use overridden setTimeout by default"

cmd="${1:-}"; shift || true

setup() {
  local git_dir="$1" scratch="${2:-/tmp/scratch/client-suites}"
  mkdir -p "$scratch"
  # packages/socket.io/test/fixtures holds files the snapshot may not have; no suite here needs them.
  git --git-dir="$git_dir" archive HEAD -- . ':(exclude)packages/socket.io/test/fixtures' | tar -x -C "$scratch"
  cd "$scratch"
  # Dev dependencies fetched from outside the npm registry (uWebSockets.js) or
  # not needed by these two suites (browsers, WebTransport, databases) are dropped.
  node -e '
    const fs = require("fs");
    const drop = /uWebSockets|^@wdio|webtransport|^eiows|^@socket.io\/(postgres|redis)|^pg$|ioredis|^redis$/;
    for (const f of process.argv.slice(1)) {
      const p = JSON.parse(fs.readFileSync(f));
      for (const k of ["devDependencies", "dependencies", "optionalDependencies"])
        for (const n of Object.keys(p[k] || {})) if (drop.test(n)) delete p[k][n];
      fs.writeFileSync(f, JSON.stringify(p, null, 2));
    }' package.json packages/*/package.json
  rm -f package-lock.json
  npm install --ignore-scripts --no-audit --no-fund
  # tsc still writes its output where uWebSockets.js types are missing (engine.io, socket.io).
  for p in engine.io-parser engine.io-client socket.io-parser socket.io-client engine.io socket.io-adapter socket.io; do
    (cd "packages/$p" && npx rimraf ./build ./dist && (npx tsc || true) \
      && if [ -f tsconfig.esm.json ]; then (npx tsc -p tsconfig.esm.json || true); fi \
      && if [ -x postcompile.sh ]; then ./postcompile.sh; fi) >/dev/null
  done
  echo "set up in $scratch"
}

# Start "$@" in the background, wait for its "listening on" line; sets SERVER_PID.
start_server() {
  local log="$1"; shift
  "$@" >"$log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 100); do
    grep -q "listening on" "$log" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "server did not start, see $log" >&2; return 1
}

suites() {
  local mode="$1" scratch="${2:-/tmp/scratch/client-suites}"
  local logs; logs="$(dirname "$scratch")/client-suites"
  cd "$scratch/packages/socket.io-client"
  if [ "$mode" = ours ]; then
    start_server "$logs.sio-server.log" "$PY" "$HERE/sio_support_server.py" 3210 "${DRIVER:-gevent}"
    npx mocha --import=tsx --exit test/index.ts -g "$FLAKY" --invert >"$logs.sio-$mode.log" 2>&1 || true
    kill "$SERVER_PID"
  else
    npx mocha --import=tsx --require test/support/hooks.ts --exit test/index.ts \
      -g "$FLAKY" --invert >"$logs.sio-$mode.log" 2>&1 || true
  fi
  echo "socket.io-client vs $mode: $(grep -E '^  [0-9]+ (passing|failing|pending)' "$logs.sio-$mode.log" | tr -s ' \n' ' ')"
  cd "$scratch/packages/engine.io-client"
  if [ "$mode" = ours ]; then
    start_server "$logs.eio-server.log" "$PY" "$HERE/eio_support_server.py" 3000 --driver "${EIO_DRIVER:-gevent}"
    npx mocha --exit test/index.js >"$logs.eio-$mode.log" 2>&1 || true
    kill "$SERVER_PID"
  else
    npx mocha --require test/support/hooks.js --exit test/index.js >"$logs.eio-$mode.log" 2>&1 || true
  fi
  echo "engine.io-client vs $mode: $(grep -E '^  [0-9]+ (passing|failing|pending)' "$logs.eio-$mode.log" | tr -s ' \n' ' ')"
}

case "$cmd" in
  setup) setup "$@" ;;
  ours|node) suites "$cmd" "$@" ;;
  *) sed -n '2,11p' "$0"; exit 2 ;;
esac
