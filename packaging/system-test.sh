#!/usr/bin/env bash
# The system test: boot a debootstrapped Debian 12 with systemd-nspawn, install the .deb with
# apt inside it (redis-server comes in as a Recommends), and check flashd as an operator meets
# it: start, socket permissions, a purchase by a flashd-group member, journal fields, reload,
# kill -9 → restart with convergence, a buy during the restart, the watchdog, stop, purge.
# Usage: packaging/system-test.sh [path/to/flashd_*.deb]   (builds it when not given)
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "system-test needs root (debootstrap, systemd-nspawn)" >&2; exit 1; }

DEB=${1:-}
if [ -z "$DEB" ]; then DEB=$(packaging/build-deb.sh | tail -n 1); fi
DEB=$(readlink -f "$DEB")

export DEBIAN_FRONTEND=noninteractive
need=()
for p in debootstrap systemd-container; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || need+=("$p"); done
if [ ${#need[@]} -gt 0 ]; then apt-get update -q; apt-get -o DPkg::Lock::Timeout=300 install -y -q "${need[@]}"; fi

WORK=$(mktemp -d /var/tmp/flashd-st.XXXXXX)
ROOT="$WORK/root"
NSPAWN=""
cleanup() {
  status=$?
  if [ -n "$NSPAWN" ] && kill -0 "$NSPAWN" 2>/dev/null; then
    kill -TERM "$NSPAWN" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$NSPAWN" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$NSPAWN" 2>/dev/null || true
  fi
  if [ $status -ne 0 ] && [ -f "$WORK/nspawn.log" ]; then echo "--- nspawn log (tail)"; tail -n 40 "$WORK/nspawn.log"; fi
  rm -rf "$WORK"
  exit $status
}
trap cleanup EXIT

# The bootstrapped root is cached per machine as a tarball keyed by this script's package list;
# every run unpacks a fresh copy, so nothing of an earlier run leaks into the next.
# man-db: systemd-analyze verify resolves the units' Documentation=man:... pages with it.
INCLUDE=systemd,systemd-sysv,dbus,libpam-systemd,procps,iproute2,ca-certificates,man-db
CACHE=/var/cache/flashd-system-test
KEY=$(echo "bookworm $INCLUDE" | sha256sum | cut -c1-16)
TARBALL="$CACHE/bookworm-$KEY.tar"
mkdir -p "$ROOT" "$CACHE"
if [ -f "$TARBALL" ]; then
  echo "== unpacking cached bookworm root"
  tar -C "$ROOT" -xf "$TARBALL"
else
  MIRROR=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  MIRROR=${MIRROR:-http://deb.debian.org/debian}
  echo "== debootstrap bookworm from $MIRROR"
  debootstrap --variant=minbase --include="$INCLUDE" bookworm "$ROOT" "$MIRROR" > "$WORK/debootstrap.log" 2>&1 \
    || { tail -n 30 "$WORK/debootstrap.log"; exit 1; }
  tar -C "$ROOT" -cf "$TARBALL.tmp" . && mv "$TARBALL.tmp" "$TARBALL"
fi
mkdir -p "$WORK/debs"
cp "$DEB" "$WORK/debs/"

echo "== booting systemd in a container"
setsid systemd-nspawn --boot -D "$ROOT" --register=no --keep-unit --console=pipe --quiet \
  --bind-ro="$WORK/debs:/mnt/debs" </dev/null >"$WORK/nspawn.log" 2>&1 &
NSPAWN=$!
# nspawn forks twice: a short-lived outer child in our PID namespace sets things up, then the
# container's PID 1 runs in a new one. Picking "the first child" can catch the outer child just
# before it exits (CI saw that once: nsenter then found no /proc/PID/ns). So the leader is the
# child in another PID namespace.
HOST_PIDNS=$(readlink /proc/self/ns/pid)
LEADER=""
for _ in $(seq 200); do
  for pid in $(ps -o pid= --ppid "$NSPAWN" 2>/dev/null || true); do
    ns=$(readlink "/proc/$pid/ns/pid" 2>/dev/null || true)
    if [ -n "$ns" ] && [ "$ns" != "$HOST_PIDNS" ]; then LEADER=$pid; break; fi
  done
  [ -n "$LEADER" ] && break
  kill -0 "$NSPAWN" 2>/dev/null || break
  sleep 0.1
done
[ -n "$LEADER" ] || { echo "container did not start"; exit 1; }

in_ct() { nsenter -t "$LEADER" -a /bin/sh -c "$*"; }
pass=0
fail=0
check() {  # check "what" command...
  local what=$1; shift
  if out=$(in_ct "$@" 2>&1); then
    echo "ok   $what"; pass=$((pass + 1))
  else
    echo "FAIL $what"; echo "$out" | sed 's/^/     /' | tail -n 20; fail=$((fail + 1))
  fi
}
wait_for() {  # wait_for seconds "what" command...
  local secs=$1 what=$2; shift 2
  local deadline=$((SECONDS + secs))
  while [ $SECONDS -lt $deadline ]; do
    if in_ct "$@" >/dev/null 2>&1; then echo "ok   $what"; pass=$((pass + 1)); return 0; fi
    sleep 0.5
  done
  echo "FAIL $what (after ${secs} s)"; in_ct "$@" 2>&1 | tail -n 20 | sed 's/^/     /'; fail=$((fail + 1)); return 0
}

# Right after the boot starts, PID 1 may not answer on the bus yet: ask until it does.
state=""
for _ in $(seq 100); do
  state=$(in_ct "systemctl is-system-running --wait" 2>/dev/null || true)
  case "$state" in running|degraded) break ;; esac
  sleep 0.2
done
echo "container systemd: $state"
case "$state" in running|degraded) ;; *) echo "systemd in the container did not come up"; exit 1 ;; esac

echo "== apt install the .deb"
in_ct "apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q /mnt/debs/$(basename "$DEB")" \
  > "$WORK/apt.log" 2>&1 || { tail -n 40 "$WORK/apt.log"; exit 1; }
check "redis-server came in as a recommend" "dpkg-query -W -f='\${Status}' redis-server | grep -q 'ok installed'"
check "flashd.socket enabled and listening" "systemctl is-enabled flashd.socket && systemctl is-active flashd.socket"
check "flashd.service enabled" "systemctl is-enabled flashd.service"
check "socket is 0660 root:flashd" "test \"\$(stat -c '%a %U %G' /run/flashd/flashd.sock)\" = '660 root flashd'"
check "user flashd, groups flashd and flashd-admin exist" "getent passwd flashd && getent group flashd && getent group flashd-admin"
check "systemd-analyze verify is clean" "out=\$(systemd-analyze verify flashd.service flashd.socket 2>&1); echo \"\$out\"; test -z \"\$out\""
# --threshold counts tenths of the exposure level (20 = 2.0) and exits 1 above it.
check "systemd-analyze security exposure <= 2.0" "systemd-analyze security --threshold=20 flashd.service > /root/security.txt"
SECURITY=$(in_ct "tail -n 1 /root/security.txt" || true)
echo "     $SECURITY"

# Test settings: debug logging (every purchase gets journal lines), fault injection for the
# crash and wedge checks, a short check delay.
in_ct "printf 'redis = 127.0.0.1:6379\nlog-level = info\nenable-fault-injection = yes\ncheck-delay = 2\n' > /etc/flashd/flashd.conf"
in_ct "systemctl is-active --quiet redis-server || systemctl start redis-server"

echo "== start"
check "systemctl start flashd" "systemctl start flashd && systemctl is-active flashd"
check "STATUS= text reported" "systemctl show -p StatusText --value flashd | grep -q '^serving: '"
check "journal: started and ready with MESSAGE_IDs" "journalctl -u flashd -o json MESSAGE_ID=6b9c25ecf3ef4c608e56273babaf2eae | grep -q ready"

echo "== upgrade"
# The package installed again runs its postinst as an upgrade: the running flashd is restarted
# onto the (new) binary, and the changed config file is kept.
check "an upgrade restarts the running flashd and keeps the config" "pid=\$(systemctl show -p MainPID --value flashd) && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --reinstall /mnt/debs/$(basename "$DEB") >/dev/null && systemctl is-active flashd && test \"\$(systemctl show -p MainPID --value flashd)\" != \"\$pid\" && grep -q '^check-delay = 2' /etc/flashd/flashd.conf"

echo "== reload to debug logging"
in_ct "sed -i 's/^log-level = info/log-level = debug/' /etc/flashd/flashd.conf"
check "systemctl reload flashd" "systemctl reload flashd && systemctl is-active flashd"
check "journal: configuration reloaded" "journalctl -u flashd MESSAGE_ID=cbc4a32f0b4545fa86b8aeb90b548b0e | grep -q 'log_level=debug\|reloaded'"

echo "== flashsalectl as members of the flashd and flashd-admin groups"
in_ct "useradd --create-home --groups flashd,flashd-admin tester && useradd --groups flashd buyer"
check "a flashd-only member may not create a sale (403, journal entry)" "! runuser -u buyer -- flashsalectl sale create nope --stock 1 && journalctl -u flashd | grep -q 'admin verb refused'"
check "sale create by a flashd-admin member" "runuser -u tester -- flashsalectl sale create sku --stock 100"
check "a flashd-only member may buy" "runuser -u buyer -- flashsalectl buy sku --user zed"
check "buy" "runuser -u tester -- flashsalectl --json buy sku --user alice --request-id r1 > /root/buy.json"
GID=$(in_ct "sed 's/.*\"gid\":\"\([^\"]*\)\".*/\1/' /root/buy.json")
check "journal has the purchase with FLASHD_GID=$GID" "journalctl -u flashd -o json FLASHD_GID=$GID | grep -q '\"FLASHD_STATE\":\"succeeded\"'"
check "a non-member is refused by the socket's mode" "useradd stranger && ! runuser -u stranger -- flashsalectl status"

echo "== kill -9 of MainPID"
in_ct "runuser -u tester -- flashsalectl buy sku --user bob --request-id r2 --crash-after after-stock" || true
in_ct "kill -9 \$(systemctl show -p MainPID --value flashd)"
check "a buy sent during the restart is answered" "runuser -u tester -- flashsalectl buy sku --user carol --request-id r3"
wait_for 20 "systemd restarted flashd (NRestarts=1)" "test \"\$(systemctl show -p NRestarts --value flashd)\" = 1 && systemctl is-active flashd"
wait_for 10 "pending transactions converged, audit consistent" "flashsalectl audit"
check "bob's crashed purchase became his order" "flashsalectl --json orders --item sku | grep -q '\"user\":\"bob\"'"

echo "== crash inside a purchase (exit mode)"
in_ct "runuser -u tester -- flashsalectl buy sku --user dave --request-id r4 --crash-after before-order --crash-mode exit" || true
wait_for 20 "restarted again (NRestarts=2)" "test \"\$(systemctl show -p NRestarts --value flashd)\" = 2 && systemctl is-active flashd"
wait_for 10 "recovered at start-up, audit consistent" "flashsalectl audit && flashsalectl --json orders | grep -q '\"user\":\"dave\"'"
check "journal: transaction recovered" "journalctl -u flashd MESSAGE_ID=acdea5fcf6f94ad6894afce0658bfff6 | grep -q 'transaction recovered'"

echo "== watchdog"
check "wedge the journal" "flashsalectl debug wedge"
wait_for 40 "watchdog killed and systemd restarted flashd (NRestarts=3)" "test \"\$(systemctl show -p NRestarts --value flashd)\" = 3 && systemctl is-active flashd"
check "journal: watchdog timeout" "journalctl -u flashd | grep -qi 'watchdog timeout'"
check "serving after the watchdog restart" "runuser -u tester -- flashsalectl buy sku --user erin && flashsalectl audit"

echo "== stop"
check "systemctl stop flashd" "systemctl stop flashd && ! systemctl is-active flashd"
check "clean exit with STOPPING" "test \"\$(systemctl show -p Result --value flashd)\" = success && journalctl -u flashd MESSAGE_ID=723b5c662b76439da951f48283c1fea7 | grep -q stopping"

# Redis with a password, passed as a systemd credential by the drop-in the unit documents:
# the service's user never reads the root-only file itself.
in_ct "redis-cli CONFIG SET requirepass sys-secret >/dev/null && printf 'sys-secret\n' > /etc/flashd/redis-password && chmod 0600 /etc/flashd/redis-password && mkdir -p /etc/systemd/system/flashd.service.d && printf '[Service]\nLoadCredential=redis-password:/etc/flashd/redis-password\n' > /etc/systemd/system/flashd.service.d/redis-password.conf && systemctl daemon-reload"
check "started with the Redis password as a credential" "systemctl start flashd && systemctl is-active flashd && runuser -u tester -- flashsalectl buy sku --user frank"
check "journal: authenticated, the password nowhere" "journalctl -u flashd -o json | grep -q '\"FLASHD_REDIS_AUTH\":\"user default with a password\"' && ! journalctl -u flashd -o json | grep -q sys-secret"
check "stop, and Redis without a password again" "systemctl stop flashd && redis-cli -a sys-secret --no-auth-warning CONFIG SET requirepass '' && rm -rf /etc/systemd/system/flashd.service.d /etc/flashd/redis-password && systemctl daemon-reload"

echo "== purge"
check "apt purge flashd" "DEBIAN_FRONTEND=noninteractive apt-get purge -y -q flashd"
check "state and units gone" "! test -e /var/lib/flashd && ! test -e /var/lib/private/flashd && ! test -e /lib/systemd/system/flashd.service && ! test -e /etc/flashd/flashd.conf"

echo "system-test: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
