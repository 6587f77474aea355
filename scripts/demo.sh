#!/usr/bin/env bash
# The seed's flash-sale scenario, from a fresh checkout: install what's missing, build, start a
# private redis-server and flashd in a temporary directory, run `flashsalectl simulate`, stop both.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
BIN=$(scripts/build-debug.sh)

. scripts/sandbox.sh
sandbox_open demo
echo "== starting redis-server and flashd in $DIR"
sandbox_redis --appendonly no

"$BIN/flashd" --socket "$DIR/flashd.sock" --redis "unix:$DIR/redis.sock" --state-dir "$DIR/state" \
  --node-id demo --check-delay 3 --enable-fault-injection 2>"$DIR/flashd.log" &
FLASHD_PID=$!
for _ in $(seq 100); do [ -S "$DIR/flashd.sock" ] && break; sleep 0.1; done

export FLASHD_SOCKET="$DIR/flashd.sock"
echo "== flashsalectl simulate"
status=0
"$BIN/flashsalectl" simulate --stock "${STOCK:-4}" --buyers "${BUYERS:-10}" || status=$?
echo "== flashsalectl simulate --hold 2s (checkout holds: one buyer never pays)"
"$BIN/flashsalectl" simulate --item sim-held --hold 2s --stock "${STOCK:-4}" --buyers "${BUYERS:-10}" || status=$?
echo "== flashsalectl audit"
"$BIN/flashsalectl" audit || status=$?
echo "== flashd's log"
sed 's/^/  /' "$DIR/flashd.log"
exit $status
