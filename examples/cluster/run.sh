#!/usr/bin/env bash
# Two echo servers acting as one through Redis, behind nginx.
#
#   examples/cluster/run.sh
#
# Starts a throwaway redis-server (.ci/redis.sh; or set REDIS_URL to use yours),
# `socketio-echo --message-queue` on ports 5001 and 5002, and, when nginx is
# installed, nginx.conf on http://127.0.0.1:8080/ in front of them. Ctrl-C stops
# everything it started. Open the demo page through nginx (or on either server
# directly: http://127.0.0.1:5001/ and http://127.0.0.1:5002/) in several
# browsers: a broadcast from one reaches the clients of both servers.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
python="${PYTHON:-$root/.venv/bin/python}"
ports=(5001 5002)
pids=()
redis_port=""
nginx_prefix=""

cleanup() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "$redis_port" ]; then "$root/.ci/redis.sh" stop "$redis_port"; fi
  if [ -n "$nginx_prefix" ]; then rm -rf "$nginx_prefix"; fi
}
trap cleanup EXIT INT TERM

[ -x "$python" ] || { echo "no $python: run \`make install\` first (or set PYTHON)" >&2; exit 1; }
"$python" -c 'import redis' 2>/dev/null || { echo "redis-py missing: $python -m pip install redis" >&2; exit 1; }

if [ -z "${REDIS_URL:-}" ]; then
  redis_port="$("$root/.ci/redis.sh" start)"
  REDIS_URL="redis://127.0.0.1:$redis_port/0"
fi
echo "redis: $REDIS_URL"

for port in "${ports[@]}"; do
  (cd "$root" && exec "$python" -m socketio_core.echo --port "$port" --message-queue "$REDIS_URL" \
     --log-level warning) &
  pids+=("$!")
done

if command -v nginx >/dev/null 2>&1; then
  nginx_prefix="$(mktemp -d /tmp/socketio-nginx.XXXXXX)"
  mkdir -p "$nginx_prefix/logs" "$nginx_prefix/tmp"
  nginx -p "$nginx_prefix" -c "$here/nginx.conf" -g 'daemon off;' &
  pids+=("$!")
  echo "nginx: http://127.0.0.1:8080/ -> 127.0.0.1:${ports[0]}, 127.0.0.1:${ports[1]}"
else
  echo "nginx is not installed: use the servers directly (apt-get install nginx for the proxy)"
fi

# Ends when any process ends (or on Ctrl-C); cleanup stops the others.
wait -n "${pids[@]}"
