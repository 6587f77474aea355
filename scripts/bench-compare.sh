#!/usr/bin/env bash
# Two builds of flashd side by side, alternating, each against a private redis-server (as
# `make bench` runs it): the success and sold-out scenarios with their no-op and Lua ceilings,
# measured in the same run. The ratios are what compare across runs on a shared machine.
#
#   scripts/bench-compare.sh OLD_BIN_DIR NEW_BIN_DIR [ROUNDS]
# Prints one line per run: each build's rates, its ratio to its own no-op, and (from a build whose
# bench reports it) the CPU µs per request of flashd, Redis and the client together and the ratio
# that CPU cost allows. JOURNAL_ROWS=N: each run starts on a copy of a journal holding N past
# orders (scripts/fill-journal.sh), one made per build (each build's own schema), and also prints
# how long flashd took to answer its first status.
set -euo pipefail
cd "$(dirname "$0")/.."
OLD=$1 NEW=$2 ROUNDS=${3:-2}
DURATION=${DURATION:-5}
CONNECTIONS=${CONNECTIONS:-64}
JOURNAL_ROWS=${JOURNAL_ROWS:-0}
. scripts/sandbox.sh
# (sandbox_open owns the EXIT trap: the templates are removed at the end instead.)
TEMPLATES=$(mktemp -d /tmp/fjt.XXXXXX)

# template LABEL BIN: a journal of JOURNAL_ROWS past orders made by that build, kept for its runs.
template() {
  local label=$1 bin=$2 dir
  [ -f "$TEMPLATES/$label.db" ] && return 0
  dir=$(mktemp -d /tmp/fjm.XXXXXX)
  redis-server --port 0 --unixsocket "$dir/r.sock" --save '' --appendonly no --daemonize yes --pidfile "$dir/r.pid" >/dev/null
  for _ in $(seq 100); do [ -S "$dir/r.sock" ] && break; sleep 0.05; done
  "$bin/flashd" --socket "$dir/f.sock" --redis "unix:$dir/r.sock" --state-dir "$dir/state" --node-id bench --config /dev/null 2>/dev/null &
  local pid=$!
  for _ in $(seq 3000); do FLASHD_SOCKET="$dir/f.sock" "$bin/flashsalectl" status >/dev/null 2>&1 && break; sleep 0.005; done
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
  redis-cli -s "$dir/r.sock" shutdown nosave >/dev/null 2>&1 || true
  scripts/fill-journal.sh "$dir/state/flashd.db" "$JOURNAL_ROWS"
  cp "$dir/state/flashd.db" "$TEMPLATES/$label.db"
  rm -rf "$dir"
}

field() { sed -n "s/.*\"$2\":\([^,}]*\).*/\1/p" "$1" | tr -d '"'; }
# CPU µs per request of all three processes (flashsalectl bench's cpu_us_per_request.all; empty
# from a build whose bench doesn't report it). It moves less from run to run than a rate.
cpu_all() { python3 -c 'import json, sys
print((json.load(open(sys.argv[1])).get("cpu_us_per_request") or {}).get("all", ""))' "$1" 2>/dev/null || true; }

one() { # label bindir scenario
  local label=$1 bin=$2 scenario=$3 out
  sandbox_open cmp
  sandbox_redis --appendonly yes --appendfsync everysec
  export FLASHD_SOCKET="$DIR/flashd.sock"
  if [ "$JOURNAL_ROWS" -gt 0 ]; then
    template "$label" "$bin"
    mkdir -p "$DIR/state"
    cp "$TEMPLATES/$label.db" "$DIR/state/flashd.db"
    sync "$DIR/state/flashd.db"  # no dirty copy for flashd's first checkpoint to flush (fill-journal.sh)
  fi
  local t0
  t0=$(date +%s.%N)
  "$bin/flashd" --socket "$FLASHD_SOCKET" --redis "unix:$DIR/redis.sock" --state-dir "$DIR/state" \
    --node-id bench --config /dev/null 2>>"$DIR/flashd.log" &
  FLASHD_PID=$!
  for _ in $(seq 3000); do "$bin/flashsalectl" status >/dev/null 2>&1 && break; sleep 0.005; done
  local ready
  ready=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }')
  out="$DIR/out.json"
  "$bin/flashsalectl" --json bench --scenario "$scenario" --connections "$CONNECTIONS" --duration "$DURATION" >"$out" 2>/dev/null || true
  printf '%-4s %-8s %s/s  no-op %s/s  lua %s/s  ratio to no-op %s  p99 %s ms  answered after %s s  CPU %s us/request, allows %s\n' \
    "$label" "$scenario" "$(field "$out" "${scenario}_per_s")" "$(field "$out" noop_per_s)" "$(field "$out" lua_per_s)" \
    "$(field "$out" "${scenario}_to_noop")" "$(field "$out" p99_ms)" "$ready" "$(cpu_all "$out")" "$(field "$out" cpu_bound_to_noop)"
  sandbox_close
  trap - EXIT
  FLASHD_PID=
}

for _ in $(seq "$ROUNDS"); do
  for scenario in success soldout; do
    one old "$OLD" "$scenario"
    one new "$NEW" "$scenario"
  done
done
rm -rf "$TEMPLATES"
