#!/usr/bin/env bash
# `make bench`: the release flashd against a private redis-server in a temporary directory, then
# `flashsalectl bench` for each scenario, checkout holds off against on, the latency at half the peak rate, recovery of
# RECOVERY_TXNS prepared transactions after kill -9, and the cost of WAIT for one replica. Prints a short table; the JSON of every run
# stays in $OUT (default out/bench). JOURNAL_ROWS settled orders of past sales are put into the
# journal first, offline (scripts/fill-journal.sh), so every figure is taken on a journal the size
# a long sale leaves; the journal alone runs on a copy of it. BIN runs other binaries (an older
# build, for a before/after table) instead of building this tree.
#
#   DURATION=5 CONNECTIONS=64 STOCK=10000 RECOVERY_TXNS=10000 JOURNAL_ROWS=1000000 make bench
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-5}
CONNECTIONS=${CONNECTIONS:-64}
STOCK=${STOCK:-10000}
RECOVERY_TXNS=${RECOVERY_TXNS:-10000}
JOURNAL_ROWS=${JOURNAL_ROWS:-0}
OUT=${OUT:-out/bench}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

if [ -z "${BIN:-}" ]; then
  scripts/install-deps.sh >&2
  BIN=$(scripts/build-release.sh)
fi

. scripts/sandbox.sh
sandbox_open bench
# appendfsync everysec: Redis' usual durable setting (flashd warns when appendonly is off).
sandbox_redis --appendonly yes --appendfsync everysec

export FLASHD_SOCKET="$DIR/flashd.sock"
start_flashd() { # extra flags...
  rm -f "$FLASHD_SOCKET"
  "$BIN/flashd" --socket "$FLASHD_SOCKET" --redis "unix:$DIR/redis.sock" --state-dir "$DIR/state" \
    --node-id bench --enable-fault-injection "$@" 2>>"$DIR/flashd.log" &
  FLASHD_PID=$!
}
# Seconds from now until flashd answers a ping: it binds its socket only after recovery, and sends
# READY=1 right after binding, so this is the time to READY plus one round trip.
wait_ready() {
  local t0 t1
  t0=$(date +%s.%N)
  for _ in $(seq 3000); do
    "$BIN/flashsalectl" status >/dev/null 2>&1 && break
    sleep 0.005
  done
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'
}

start_flashd
wait_ready >/dev/null
if [ "$JOURNAL_ROWS" -gt 0 ]; then
  echo "== $JOURNAL_ROWS past orders into the journal (offline)" >&2
  kill -TERM "$FLASHD_PID"; wait "$FLASHD_PID" 2>/dev/null || true
  scripts/fill-journal.sh "$DIR/state/flashd.db" "$JOURNAL_ROWS"
  cp "$DIR/state/flashd.db" "$DIR/journal-alone.db"
  sync "$DIR/journal-alone.db"  # as fill-journal.sh does: no dirty copy for a checkpoint to flush
  start_flashd
  wait_ready >/dev/null
fi
CTL="$BIN/flashsalectl"
run() { # name, bench args...
  local name=$1; shift
  echo "== bench $name: $*" >&2
  "$CTL" --json bench --connections "$CONNECTIONS" --duration "$DURATION" "$@" >"$OUT/$name.json"
}
field() { # file, key
  sed -n "s/.*\"$2\":\([^,}]*\).*/\1/p" "$1" | tr -d '"'
}

status=0
run success --scenario success || status=1
PEAK=$(field "$OUT/success.json" success_per_s)
HALF=$(awk -v p="$PEAK" 'BEGIN { printf "%d", p / 2 }')
# Three paced runs: one run's p99 on these shared machines moves by 2x from run to run.
for h in success-half success-half-2 success-half-3; do
  run "$h" --scenario success --no-ceilings --rate "$HALF" || status=1
done
run soldout --scenario soldout || status=1
run sale --scenario sale --stock "$STOCK" --no-ceilings || status=1
# What a checkout hold costs a successful purchase: off, on, on, off in one run (the ratio counts).
echo "== bench holds: --scenario holds" >&2
"$CTL" --json bench --scenario holds --connections "$CONNECTIONS" --duration "$DURATION" --quiet >"$OUT/holds.json" || status=1

# What delivery to PostgreSQL costs, and its lag: a private PostgreSQL 15, a flashd of its own
# (its own journal, so no backlog of the runs above), delivery paused and running, off-on-on-off.
echo "== bench delivery: --scenario delivery" >&2
kill -TERM "$FLASHD_PID"; wait "$FLASHD_PID" 2>/dev/null || true
sandbox_postgres
start_flashd --state-dir "$DIR/state-delivery" --node-id bench-delivery --redis-prefix delivery: --orders-to "$PG_URL"
wait_ready >/dev/null
"$CTL" --json bench --scenario delivery --connections "$CONNECTIONS" --duration "$DURATION" --quiet >"$OUT/delivery.json" || status=1
kill -TERM "$FLASHD_PID"; wait "$FLASHD_PID" 2>/dev/null || true
start_flashd
wait_ready >/dev/null

# The journal alone (no HTTP, no Redis): the ceiling SQLite and this disk put on purchases.
echo "== the journal alone" >&2
if [ "$JOURNAL_ROWS" -gt 0 ]; then
  "$BIN/flashd-journal-bench" --connections "$CONNECTIONS" --duration "$DURATION" --journal "$DIR/journal-alone.db" >"$OUT/journal.json"
else
  "$BIN/flashd-journal-bench" --connections "$CONNECTIONS" --duration "$DURATION" --dir "$DIR" >"$OUT/journal.json"
fi

# Recovery: RECOVERY_TXNS purchases abandoned after the stock step, kept pending by a long check
# delay, then kill -9 and a restart that must settle them all before it answers.
echo "== recovery of $RECOVERY_TXNS prepared transactions" >&2
kill -TERM "$FLASHD_PID"; wait "$FLASHD_PID" 2>/dev/null || true
start_flashd --check-delay 3600
wait_ready >/dev/null
"$CTL" --json bench --scenario success --no-ceilings --connections "$CONNECTIONS" --duration 600 \
  --requests "$RECOVERY_TXNS" --abandon after-stock >"$OUT/abandon.json" || true
PENDING=$("$CTL" --json status | sed -n 's/.*"pending":\([0-9]*\).*/\1/p')
kill -KILL "$FLASHD_PID"; wait "$FLASHD_PID" 2>/dev/null || true
start_flashd
RECOVERY_S=$(wait_ready)
AFTER=$("$CTL" --json status | sed -n 's/.*"pending":\([0-9]*\).*/\1/p')
"$CTL" audit >/dev/null || status=1
# And with nothing pending.
kill -KILL "$FLASHD_PID"; wait "$FLASHD_PID" 2>/dev/null || true
start_flashd
EMPTY_S=$(wait_ready)

# What WAIT costs: a TCP primary with one replica, the same bench with --redis-wait-replicas 0
# and then 1, in this one run (the ratio is the figure; these machines are shared and noisy).
echo "== WAIT for one replica: off, then on" >&2
kill -TERM "$FLASHD_PID"; wait "$FLASHD_PID" 2>/dev/null || true
FLASHD_PID=""
sandbox_ports 2
sandbox_server wait-primary "${PORTS[0]}" --appendonly yes --appendfsync everysec
sandbox_server wait-replica "${PORTS[1]}" --appendonly no --replicaof 127.0.0.1 "${PORTS[0]}"
for _ in $(seq 100); do redis-cli -p "${PORTS[1]}" INFO replication | grep -q master_link_status:up && break; sleep 0.1; done
# Each run its own key prefix: a node audits every sale under its prefix, and the other run's
# orders are not in its journal.
for w in 0 1; do
  rm -f "$FLASHD_SOCKET"
  "$BIN/flashd" --socket "$FLASHD_SOCKET" --redis "127.0.0.1:${PORTS[0]}" --state-dir "$DIR/state-wait$w" \
    --node-id "bench-wait$w" --redis-prefix "wait$w:" --redis-wait-replicas "$w" 2>>"$DIR/flashd.log" &
  FLASHD_PID=$!
  wait_ready >/dev/null
  run "wait$w" --scenario success --no-ceilings || status=1
  kill -TERM "$FLASHD_PID"; wait "$FLASHD_PID" 2>/dev/null || true
  FLASHD_PID=""
done

printf '\n%-14s %12s %12s %8s %9s %9s %11s %11s %7s\n' scenario success/s soldout/s errors p50_ms p99_ms noop/s script/s audit
for name in success success-half success-half-2 success-half-3 soldout sale wait0 wait1; do
  f="$OUT/$name.json"
  printf '%-14s %12s %12s %8s %9s %9s %11s %11s %7s\n' "$name" "$(field "$f" success_per_s)" "$(field "$f" soldout_per_s)" \
    "$(field "$f" errors)" "$(field "$f" p50_ms)" "$(field "$f" p99_ms)" "$(field "$f" noop_per_s)" "$(field "$f" lua_per_s)" \
    "$(field "$f" audit_consistent)"
done
printf '\nratios: success/no-op %s (target >= 0.35, stretch 0.5), sold-out/no-op %s (target >= 0.8)\n' \
  "$(field "$OUT/success.json" success_to_noop)" "$(field "$OUT/soldout.json" soldout_to_noop)"
printf 'journal alone: %s purchases/s (%s calls per group commit, %s rows before, opened in %s ms); flashd success/journal = %s\n' \
  "$(field "$OUT/journal.json" purchases_per_s)" "$(field "$OUT/journal.json" calls_per_commit)" \
  "$(field "$OUT/journal.json" orders_before)" "$(field "$OUT/journal.json" open_ms)" \
  "$(awk -v a="$PEAK" -v b="$(field "$OUT/journal.json" purchases_per_s)" 'BEGIN { printf "%.2f", a / b }')"
printf 'WAIT for one replica (TCP primary + replica): %s successful/s against %s without, ratio %s; p99 %s ms against %s\n' \
  "$(field "$OUT/wait1.json" success_per_s)" "$(field "$OUT/wait0.json" success_per_s)" \
  "$(awk -v a="$(field "$OUT/wait1.json" success_per_s)" -v b="$(field "$OUT/wait0.json" success_per_s)" 'BEGIN { printf "%.2f", a / b }')" \
  "$(field "$OUT/wait1.json" p99_ms)" "$(field "$OUT/wait0.json" p99_ms)"
printf 'checkout holds: %s successful/s with a hold against %s without, ratio %s (target >= 0.9)\n' \
  "$(field "$OUT/holds.json" holds_on_per_s)" "$(field "$OUT/holds.json" holds_off_per_s)" "$(field "$OUT/holds.json" ratio)"
printf 'delivery to PostgreSQL: %s successful/s running against %s paused, ratio %s (target >= 0.9); lag p50 <= %s ms, p99 <= %s ms (target <= 1000)\n' \
  "$(field "$OUT/delivery.json" delivery_on_per_s)" "$(field "$OUT/delivery.json" delivery_off_per_s)" "$(field "$OUT/delivery.json" ratio)" \
  "$(field "$OUT/delivery.json" lag_p50_ms)" "$(field "$OUT/delivery.json" lag_p99_ms)"
cpu() { # file, object, key: a value in one of the report's objects, or in its flashd_threads
  python3 -c 'import json, sys
o = json.load(open(sys.argv[1])).get(sys.argv[2]) or {}
print(o.get(sys.argv[3], (o.get("flashd_threads") or {}).get(sys.argv[3], "")))' "$1" "$2" "$3"
}
printf 'CPU seconds in the success scenario: flashd %s, redis %s, client %s; client CPU per purchase %s us against %s us per no-op, ratio %s (target <= 1.5)\n' \
  "$(cpu "$OUT/success.json" cpu_s flashd)" "$(cpu "$OUT/success.json" cpu_s redis)" "$(cpu "$OUT/success.json" cpu_s client)" \
  "$(field "$OUT/success.json" client_cpu_us_per_request)" "$(field "$OUT/success.json" noop_client_cpu_us_per_request)" \
  "$(field "$OUT/success.json" client_cpu_ratio)"
# Where the machine's CPU went per purchase, and the success/no-op ratio that CPU cost alone
# explains: when it is near the measured ratio, only a cheaper purchase raises it.
printf 'CPU us per purchase (success): flashd %s (event loops %s, engine %s, journal %s, redis I/O %s) + redis %s + client %s = %s, %s cores busy; per no-op %s; success/no-op the CPU allows %s\n' \
  "$(cpu "$OUT/success.json" cpu_us_per_request flashd)" "$(cpu "$OUT/success.json" cpu_us_per_request event_loops)" \
  "$(cpu "$OUT/success.json" cpu_us_per_request engine)" "$(cpu "$OUT/success.json" cpu_us_per_request journal)" \
  "$(cpu "$OUT/success.json" cpu_us_per_request redis_io)" "$(cpu "$OUT/success.json" cpu_us_per_request redis)" \
  "$(cpu "$OUT/success.json" cpu_us_per_request client)" "$(cpu "$OUT/success.json" cpu_us_per_request all)" \
  "$(cpu "$OUT/success.json" cpu_us_per_request cores_busy)" "$(cpu "$OUT/success.json" noop_cpu_us_per_request all)" \
  "$(field "$OUT/success.json" cpu_bound_to_noop)"
# Where a successful purchase's time went, on average: the client's latency, flashd's time from
# admission to answer, and in that the three steps it waits on (flashd_purchase_step_seconds).
printf 'a purchase, mean ms (success): client %s, in flashd %s = journal prepare %s + script %s + journal order %s + the rest\n' \
  "$(cpu "$OUT/success.json" mean_ms client)" "$(cpu "$OUT/success.json" mean_ms purchase)" \
  "$(cpu "$OUT/success.json" mean_ms journal_prepare)" "$(cpu "$OUT/success.json" mean_ms stock_script)" \
  "$(cpu "$OUT/success.json" mean_ms journal_order)"
printf 'sale scenario: %s successful/s, %s sold-out/s; answers/no-op (the success run'"'"'s no-op) %s (target >= 0.35)\n' \
  "$(field "$OUT/sale.json" success_per_s)" "$(field "$OUT/sale.json" soldout_per_s)" \
  "$(awk -v a="$(field "$OUT/sale.json" requests_per_s)" -v b="$(field "$OUT/success.json" noop_per_s)" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }')"
halves() { # key: its value in the three paced runs, then their median
  local v; v=$(for h in success-half success-half-2 success-half-3; do field "$OUT/$h.json" "$1"; done)
  printf '%s (median %s)' "$(echo $v | sed 's/ / \/ /g')" "$(echo "$v" | sort -g | sed -n 2p)"
}
printf 'p99 at half the peak rate (%s/s), three runs: client %s ms; in flashd %s ms (target <= 5)\n' \
  "$HALF" "$(halves p99_ms)" "$(halves flashd_p99_ms)"
printf 'recovery: %s prepared, ready in %.3f s, %s pending after (target <= 2 s); empty journal: ready in %.3f s (target <= 0.3)\n' \
  "$PENDING" "$RECOVERY_S" "$AFTER" "$EMPTY_S"
PEAK_RSS=$(for f in "$OUT"/success.json "$OUT"/soldout.json "$OUT"/sale.json; do field "$f" daemon_peak_rss_mib; done | sort -n | tail -1)
printf 'flashd peak RSS over the scenarios: %s MiB (target <= 64)\n' "$PEAK_RSS"
echo "JSON: $OUT" >&2
exit $status
