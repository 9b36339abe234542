#!/bin/sh
# A throwaway redis-server for tests and examples: no persistence, loopback only.
#
#   .ci/redis.sh start [PORT]   start one (a free port when none is given), wait until it
#                               answers PING, print its port
#   .ci/redis.sh stop PORT      stop the one started on PORT and remove its files
#   .ci/redis.sh url PORT       print redis://127.0.0.1:PORT/0
#
# Its pid file and log live in ${REDIS_TMP:-/tmp}/socketio-redis-PORT.{pid,log}.
# Installs nothing: .ci/system-deps.sh (make system-deps) installs redis-server.
set -eu

tmp="${REDIS_TMP:-/tmp}"

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

ping() {
  # redis-cli comes with Debian's redis-server (redis-tools); fall back to a raw PING.
  if command -v redis-cli >/dev/null 2>&1; then
    [ "$(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" = "PONG" ]
  else
    python3 - "$1" <<'EOF'
import socket, sys
try:
    with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1) as s:
        s.sendall(b"PING\r\n")
        sys.exit(0 if s.recv(64).startswith(b"+PONG") else 1)
except OSError:
    sys.exit(1)
EOF
  fi
}

case "${1:-}" in
  start)
    command -v redis-server >/dev/null 2>&1 || { echo "redis-server is not installed (make system-deps)" >&2; exit 1; }
    port="${2:-$(free_port)}"
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
      --daemonize yes --pidfile "$tmp/socketio-redis-$port.pid" \
      --logfile "$tmp/socketio-redis-$port.log" --dir "$tmp"
    i=0
    until ping "$port"; do
      i=$((i + 1))
      if [ "$i" -ge 50 ]; then
        echo "redis-server on port $port did not answer; its log:" >&2
        cat "$tmp/socketio-redis-$port.log" >&2 || true
        exit 1
      fi
      sleep 0.1
    done
    echo "$port"
    ;;
  stop)
    port="${2:?usage: $0 stop PORT}"
    pidfile="$tmp/socketio-redis-$port.pid"
    if [ -f "$pidfile" ]; then
      pid="$(cat "$pidfile")"
      kill "$pid" 2>/dev/null || true
      i=0
      while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 50 ]; do i=$((i + 1)); sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile" "$tmp/socketio-redis-$port.log"
    ;;
  url)
    echo "redis://127.0.0.1:${2:?usage: $0 url PORT}/0"
    ;;
  *)
    echo "usage: $0 start [PORT] | stop PORT | url PORT" >&2
    exit 2
    ;;
esac
