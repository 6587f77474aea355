#!/usr/bin/env bash
# lintian on the .deb: 0 errors and 0 warnings, or this fails. Overrides, if any, live in
# packaging/lintian-overrides with a comment justifying each.
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
[ "$errors" -eq 0 ] && [ "$warnings" -eq 0 ]
