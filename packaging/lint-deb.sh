#!/usr/bin/env bash
# lintian on the .deb: 0 errors and 0 warnings, or this fails (there are no overrides), and
# the service unit's hardening checked offline: exposure at most 2.0.
set -euo pipefail
cd "$(dirname "$0")/.."
DEB=${1:-$(ls -t out/flashd_*.deb 2>/dev/null | head -n1)}
[ -n "$DEB" ] || DEB=$(packaging/build-deb.sh | tail -n1)
command -v lintian >/dev/null || { apt-get update -q; DEBIAN_FRONTEND=noninteractive apt-get install -y -q lintian; }
out=$(lintian --tag-display-limit 0 "$DEB" 2>&1 || true)
echo "$out"
errors=$(printf '%s\n' "$out" | grep -c '^E: ' || true)
warnings=$(printf '%s\n' "$out" | grep -c '^W: ' || true)
echo "lintian: $errors errors, $warnings warnings ($DEB)"
# --threshold counts tenths of the exposure level: 20 = 2.0. It exits 1 above it.
security=0
report=$(systemd-analyze security --offline=true --threshold=20 systemd/flashd.service) || security=$?
echo "systemd-analyze security (offline): $(printf '%s\n' "$report" | tail -n 1)"
[ "$errors" -eq 0 ] && [ "$warnings" -eq 0 ] && [ "$security" -eq 0 ]
