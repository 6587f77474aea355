#!/usr/bin/env bash
# Installs the Debian packages flashd builds and tests with, if any is missing.
# Used by `make demo`, `make test` and .ci/run alike, so a fresh machine needs nothing else.
set -euo pipefail
PACKAGES=(libhiredis-dev libsqlite3-dev libsystemd-dev redis-server redis-tools sqlite3 curl systemd nginx-light)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=300 install -y -q "${missing[@]}"
