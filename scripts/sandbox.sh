# Sourced by demo.sh and bench.sh: a temporary directory with a private redis-server in it,
# and a cleanup on exit that stops flashd ($FLASHD_PID) and Redis and removes the directory.
#   sandbox_open NAME            sets DIR=/tmp/flashd-NAME.XXXXXX (short: sun_path holds 108 bytes)
#   sandbox_redis [redis args]   starts redis-server on $DIR/redis.sock and waits for its socket

sandbox_open() {
  DIR=$(mktemp -d "/tmp/flashd-$1.XXXXXX")
  trap sandbox_close EXIT
}

sandbox_close() {
  [ -n "${FLASHD_PID:-}" ] && kill -TERM "$FLASHD_PID" 2>/dev/null && wait "$FLASHD_PID" 2>/dev/null || true
  [ -f "$DIR/redis.pid" ] && kill "$(cat "$DIR/redis.pid")" 2>/dev/null || true
  rm -rf "$DIR"
}

sandbox_redis() {
  redis-server --port 0 --unixsocket "$DIR/redis.sock" --save '' --dir "$DIR" "$@" \
    --daemonize yes --pidfile "$DIR/redis.pid" --logfile "$DIR/redis.log"
  for _ in $(seq 50); do [ -S "$DIR/redis.sock" ] && break; sleep 0.1; done
}
