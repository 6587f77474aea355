# Sourced by demo.sh and bench.sh: a temporary directory with a private redis-server in it,
# and a cleanup on exit that stops flashd ($FLASHD_PID), every server with a pid file in $DIR
# (Redis, sentinels), and removes the directory.
#   sandbox_open NAME            sets DIR=/tmp/flashd-NAME.XXXXXX (short: sun_path holds 108 bytes)
#   sandbox_redis [redis args]   starts redis-server on $DIR/redis.sock and waits for its socket
#   sandbox_ports N              sets PORTS=(N consecutive loopback TCP ports nobody listens on)
#   sandbox_server NAME PORT [redis args]   a TCP redis-server (replicas, sentinels need TCP)
#   sandbox_postgres             a PostgreSQL 15 on its socket in $DIR/pg; sets PG_URL for --orders-to

sandbox_open() {
  DIR=$(mktemp -d "/tmp/flashd-$1.XXXXXX")
  trap sandbox_close EXIT
}

sandbox_close() {
  [ -n "${FLASHD_PID:-}" ] && kill -TERM "$FLASHD_PID" 2>/dev/null && wait "$FLASHD_PID" 2>/dev/null || true
  # Every server started with --pidfile $DIR/NAME.pid (Redis, sentinels, more flashd nodes).
  # flashd nodes first (they release their leases in Redis as they stop), then the servers.
  # Each writes its last log lines while exiting: wait for them, or rm races them.
  local pids pid pidfile
  for pattern in "flashd*.pid" "*.pid"; do
    pids=()
    for pidfile in "$DIR"/$pattern; do [ -f "$pidfile" ] && pids+=("$(cat "$pidfile")") && rm -f "$pidfile"; done
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for _ in $(seq 50); do
      alive=0; for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
      [ $alive = 0 ] && break; sleep 0.1
    done
  done
  rm -rf "$DIR"
}

sandbox_redis() {
  redis-server --port 0 --unixsocket "$DIR/redis.sock" --save '' --dir "$DIR" "$@" \
    --daemonize yes --pidfile "$DIR/redis.pid" --logfile "$DIR/redis.log"
  for _ in $(seq 50); do [ -S "$DIR/redis.sock" ] && break; sleep 0.1; done
}

sandbox_ports() {
  local n=$1 base ok i
  for _ in $(seq 50); do
    base=$((20000 + RANDOM % 40000)); ok=1
    for ((i = 0; i < n; i++)); do (exec 3<>"/dev/tcp/127.0.0.1/$((base + i))") 2>/dev/null && ok=0; done
    if [ $ok = 1 ]; then PORTS=(); for ((i = 0; i < n; i++)); do PORTS+=($((base + i))); done; return 0; fi
  done
  echo "no $n free ports found" >&2; return 1
}

sandbox_server() {
  local name=$1 port=$2; shift 2
  # A directory of its own: in $DIR it would load the AOF of sandbox_redis (or another server).
  mkdir -p "$DIR/$name"
  redis-server --port "$port" --bind 127.0.0.1 --save '' --dir "$DIR/$name" --repl-diskless-sync-delay 0 \
    --daemonize yes --pidfile "$DIR/$name.pid" --logfile "$DIR/$name.log" "$@"
  for _ in $(seq 50); do redis-cli -p "$port" PING >/dev/null 2>&1 && break; sleep 0.1; done
}

sandbox_postgres() {
  # initdb refuses root: the cluster is the postgres user's, in a directory it may reach.
  chmod 711 "$DIR"
  mkdir -p "$DIR/pg" && chown postgres:postgres "$DIR/pg"
  runuser -u postgres -- /usr/lib/postgresql/15/bin/initdb -D "$DIR/pg/data" -A trust -U postgres --no-sync -E UTF8 >"$DIR/pg/initdb.log" 2>&1
  runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D "$DIR/pg/data" -l "$DIR/pg/pg.log" -w \
    -o "-k $DIR/pg -c listen_addresses=''" start </dev/null >/dev/null 2>&1
  head -n 1 "$DIR/pg/data/postmaster.pid" >"$DIR/postgres.pid"
  PG_URL="postgresql://postgres@/postgres?host=$DIR/pg"
}
