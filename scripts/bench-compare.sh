#!/usr/bin/env bash
# Two builds of flashd side by side, alternating, each against a private redis-server (as
# `make bench` runs it): the success and sold-out scenarios with their no-op and Lua ceilings,
# measured in the same run. The ratios are what compare across runs on a shared machine.
#
#   scripts/bench-compare.sh OLD_BIN_DIR NEW_BIN_DIR [ROUNDS]
# Prints one line per run and the mean ratio per build.
set -euo pipefail
cd "$(dirname "$0")/.."
OLD=$1 NEW=$2 ROUNDS=${3:-2}
DURATION=${DURATION:-5}
CONNECTIONS=${CONNECTIONS:-64}
. scripts/sandbox.sh

field() { sed -n "s/.*\"$2\":\([^,}]*\).*/\1/p" "$1" | tr -d '"'; }

one() { # label bindir scenario
  local label=$1 bin=$2 scenario=$3 out
  sandbox_open cmp
  sandbox_redis --appendonly yes --appendfsync everysec
  export FLASHD_SOCKET="$DIR/flashd.sock"
  "$bin/flashd" --socket "$FLASHD_SOCKET" --redis "unix:$DIR/redis.sock" --state-dir "$DIR/state" \
    --node-id bench --config /dev/null 2>>"$DIR/flashd.log" &
  FLASHD_PID=$!
  for _ in $(seq 3000); do "$bin/flashsalectl" status >/dev/null 2>&1 && break; sleep 0.005; done
  out="$DIR/out.json"
  "$bin/flashsalectl" --json bench --scenario "$scenario" --connections "$CONNECTIONS" --duration "$DURATION" >"$out" 2>/dev/null || true
  printf '%-4s %-8s %s/s  no-op %s/s  lua %s/s  ratio to no-op %s  p99 %s ms\n' "$label" "$scenario" \
    "$(field "$out" "${scenario}_per_s")" "$(field "$out" noop_per_s)" "$(field "$out" lua_per_s)" \
    "$(field "$out" "${scenario}_to_noop")" "$(field "$out" p99_ms)"
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
