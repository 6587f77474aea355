#!/usr/bin/env bash
# Installs the Debian packages flashd builds and tests with, if any is missing.
# Used by `make demo`, `make test` and .ci/run alike, so a fresh machine needs nothing else.
set -euo pipefail
PACKAGES=(libhiredis-dev libsqlite3-dev libsystemd-dev redis-server redis-tools sqlite3 curl systemd nginx-light postgresql chromium python3 debhelper)
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}" >&2
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=300 install -y -q "${missing[@]}"
fi
# promtool checks the shipped alert rules (packaging/prometheus). Only the tool: the prometheus
# package would also install and start a Prometheus server, so the tool is taken out of it.
if ! command -v promtool >/dev/null 2>&1; then
  echo "installing: promtool (from Debian's prometheus package)" >&2
  tmp=$(mktemp -d)
  (cd "$tmp" && { apt-get download -q prometheus 2>/dev/null || { $SUDO apt-get update -q && apt-get download -q prometheus; }; })
  dpkg-deb -x "$tmp"/prometheus_*.deb "$tmp/x"
  $SUDO install -m 0755 "$tmp/x/usr/bin/promtool" /usr/local/bin/promtool
  rm -rf "$tmp"
fi
