#!/usr/bin/env bash
# What merging purchases into one call of the purchase script saves Redis: the same number of
# purchases per round trip (PER_TRIP, 8 by default) sent as 1, 2, 4 or 8 purchases per EVALSHA,
# from one connection (flashd's default), on flashd's own script in a private redis-server
# (appendonly yes, everysec, as `make bench`). Prints redis-server's CPU µs per purchase and
# purchases/s for each, ROUNDS times alternated; the ratio to "1 a call" in the same round is
# the figure to read on a noisy machine.
#   scripts/script-merge-bench.sh            # builds the release binaries first
#   BIN=DIR PURCHASES=200000 ROUNDS=3 PER_TRIP=8 scripts/script-merge-bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-$(scripts/build-release.sh)}
PURCHASES=${PURCHASES:-200000}
ROUNDS=${ROUNDS:-3}
PER_TRIP=${PER_TRIP:-8}
command -v redis-benchmark >/dev/null || { echo "redis-benchmark not found (Debian: redis-tools)" >&2; exit 1; }
. scripts/sandbox.sh
sandbox_open merge
sandbox_redis --appendonly yes --appendfsync everysec
export FLASHD_SOCKET="$DIR/flashd.sock"
mkdir -p "$DIR/state"
"$BIN/flashd" --socket "$FLASHD_SOCKET" --redis "unix:$DIR/redis.sock" --state-dir "$DIR/state" --node-id bench \
  --config /dev/null 2>>"$DIR/flashd.log" &
FLASHD_PID=$!
for _ in $(seq 300); do "$BIN/flashsalectl" status >/dev/null 2>&1 && break; sleep 0.05; done
# flashd loads its purchase script into this Redis and names its SHA.
SHA=$(python3 - "$FLASHD_SOCKET" <<'EOF'
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(b"GET /v1/debug/stock-script HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
data = b""
while chunk := s.recv(65536): data += chunk
print(json.loads(data.split(b"\r\n\r\n", 1)[1])["sha"])
EOF
)
CLI=(redis-cli -s "$DIR/redis.sock")
REDIS_PID=$(cat "$DIR/redis.pid")
# The keys a purchase touches (LuaScripts.buy), outside flashd's prefix, set up as a selling
# sale finds them: round 1, stock for ever, a limit no random user reaches, counting on, a lease.
K=(m:sale m:bar m:usr m:cnt m:fence m:node m:holds m:req)
setup() {
  "${CLI[@]}" DEL "${K[@]}" >/dev/null
  "${CLI[@]}" HSET m:sale round 1 limit 1000000 total 1000000000000 stock 1000000000000 >/dev/null
  "${CLI[@]}" HSET m:cnt '*' 0 >/dev/null
  "${CLI[@]}" SET m:node bench >/dev/null
}
ticks() { awk '{print $14 + $15}' "/proc/$REDIS_PID/stat"; }
hz=$(getconf CLK_TCK)
printf '%-6s %-10s %12s %14s %14s\n' round per-call purchases/s "redis µs/purch" "vs 1 a call"
for round in $(seq "$ROUNDS"); do
  base=""
  for k in 1 2 4 8; do
    [ $((PER_TRIP % k)) = 0 ] || continue
    setup
    args=(EVALSHA "$SHA" 8 "${K[@]}" 1 bench bench)
    for _ in $(seq "$k"); do args+=(__rand_int__ __rand_int__ 0 0 __rand_int__); done
    calls=$((PURCHASES / k))
    t0=$(date +%s.%N); c0=$(ticks)
    redis-benchmark -s "$DIR/redis.sock" -c 1 -P $((PER_TRIP / k)) -n "$calls" -r 1000000000 -q "${args[@]}" >/dev/null
    c1=$(ticks); t1=$(date +%s.%N)
    sold=$(( 1000000000000 - $("${CLI[@]}" HGET m:sale stock) ))
    [ "$sold" -ge $((calls * k * 99 / 100)) ] || { echo "only $sold of $((calls * k)) purchases deducted" >&2; exit 1; }
    us=$(python3 -c "print(round(($c1 - $c0) / $hz * 1e6 / $sold, 1))")
    rate=$(python3 -c "print(round($sold / ($t1 - $t0)))")
    [ -z "$base" ] && base=$us
    printf '%-6s %-10s %12s %14s %14s\n' "$round" "$k" "$rate" "$us" "$(python3 -c "print(round($us / $base, 2))")"
  done
done
"${CLI[@]}" UNLINK "${K[@]}" >/dev/null
