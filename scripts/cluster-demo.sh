#!/usr/bin/env bash
# Several nodes and a Redis failover, on loopback, from a fresh checkout (`make cluster-demo`):
# a Redis primary with two replicas, three sentinels, and two flashd nodes that find the primary
# through the sentinels and wait for one replica (WAIT) before a deduction counts. BUYERS buyers
# (default 120) buy STOCK units (default 60) through both nodes, retrying 503s with their request
# id as a web tier does; a second in, the primary is killed with SIGKILL. Then the audit over
# both nodes must find every unit Redis took in exactly one order.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
BIN=$(scripts/build-debug.sh)
STOCK=${STOCK:-60}
BUYERS=${BUYERS:-120}

. scripts/sandbox.sh
sandbox_open cluster

# Six free ports on loopback: three servers, three sentinels.
sandbox_ports 6
P=("${PORTS[@]:0:3}")
S=("${PORTS[@]:3:3}")

echo "== Redis primary :${P[0]}, replicas :${P[1]} :${P[2]}, sentinels :${S[0]} :${S[1]} :${S[2]} (in $DIR)"
sandbox_server r0 "${P[0]}" --appendonly no
sandbox_server r1 "${P[1]}" --appendonly no --replicaof 127.0.0.1 "${P[0]}"
sandbox_server r2 "${P[2]}" --appendonly no --replicaof 127.0.0.1 "${P[0]}"
for i in 0 1 2; do
  cat > "$DIR/s$i.conf" <<CONF
port ${S[$i]}
bind 127.0.0.1
dir $DIR
daemonize yes
pidfile $DIR/s$i.pid
logfile $DIR/s$i.log
sentinel monitor sale 127.0.0.1 ${P[0]} 2
sentinel down-after-milliseconds sale 1000
sentinel failover-timeout sale 10000
CONF
  redis-server "$DIR/s$i.conf" --sentinel
done
field() { redis-cli -p "$1" SENTINEL master sale 2>/dev/null | awk -v f="$2" 'p { print; exit } $0 == f { p = 1 }'; }
echo -n "   waiting for the sentinels to know each other and both replicas"
for _ in $(seq 150); do
  ready=1
  for s in "${S[@]}"; do [ "$(field "$s" num-other-sentinels)" = 2 ] && [ "$(field "$s" num-slaves)" = 2 ] || ready=0; done
  [ $ready = 1 ] && break
  echo -n .; sleep 0.2
done
echo
[ $ready = 1 ] || { echo "the sentinels did not get ready; see $DIR/s*.log"; exit 1; }

URL="sentinel://127.0.0.1:${S[0]},127.0.0.1:${S[1]},127.0.0.1:${S[2]}/sale"
echo "== two flashd nodes: --redis $URL --redis-wait-replicas 1"
for n in a b; do
  "$BIN/flashd" --socket "$DIR/$n.sock" --redis "$URL" --redis-wait-replicas 1 --state-dir "$DIR/state-$n" \
    --node-id "node-$n" --check-delay 1 2>"$DIR/flashd-$n.log" &
  echo $! > "$DIR/flashd-$n.pid"
done
for n in a b; do for _ in $(seq 100); do [ -S "$DIR/$n.sock" ] && break; sleep 0.1; done; done
export A="$DIR/a.sock" B="$DIR/b.sock" BIN
"$BIN/flashsalectl" --socket "$A" sale create sku --stock "$STOCK"

# One buyer: retried with the same request id until it gets a definitive answer.
buy_one() {  # buy_one USER-NUMBER
  local socket=$A; (( $1 % 2 )) && socket=$B
  for _ in $(seq 600); do
    rc=0; "$BIN/flashsalectl" --socket "$socket" buy sku --user "u$1" --request-id "r$1" >/dev/null 2>&1 || rc=$?
    case $rc in 0) echo ordered; return ;; 3|4|5) echo refused; return ;; esac
    sleep 0.1
  done
  echo unanswered
}
export -f buy_one
echo "== $BUYERS buyers over both nodes; the primary is killed a second in"
seq "$BUYERS" | xargs -P 8 -I{} bash -c 'buy_one {}' > "$DIR/answers" &
BUYING=$!
sleep 1
kill -9 "$(cat "$DIR/r0.pid")"; rm -f "$DIR/r0.pid"
killed=$SECONDS
echo "   killed the primary (:${P[0]}) after $(grep -c ordered "$DIR/answers" || true) orders"
for _ in $(seq 300); do
  now=$(redis-cli -p "${S[0]}" SENTINEL get-master-addr-by-name sale | tail -n 1)
  [ "$now" != "${P[0]}" ] && break
  sleep 0.1
done
echo "   the sentinels promoted :$now after $((SECONDS - killed)) s"
wait "$BUYING"
echo "   answers: $(grep -c ordered "$DIR/answers" || true) ordered, $(grep -c refused "$DIR/answers" || true) refused (sold out), $(grep -c unanswered "$DIR/answers" || true) unanswered"

echo "== audit over both nodes (waits for pending transactions to settle)"
status=0
for _ in $(seq 60); do
  status=0; "$BIN/flashsalectl" --socket "$A" --socket "$B" audit > "$DIR/audit.txt" 2>&1 || status=$?
  [ $status = 6 ] || break
  sleep 0.5
done
cat "$DIR/audit.txt"
[ "$(grep -c unanswered "$DIR/answers" || true)" = 0 ] || status=1
echo "== what the nodes logged about Redis"
grep -h "redis lost\|redis regained\|redis replicas" "$DIR"/flashd-*.log | sed 's/^/  /' | head -n 20 || true
exit $status
