#!/usr/bin/env bash
# Every test, from a fresh checkout: install what's missing, build, run unit, store-level and
# end-to-end tests. Tests start their own redis-server processes on temporary Unix sockets and
# their own flashd binaries; nothing needs to be running beforehand.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build
# The end-to-end suites kill and restart real processes and time them: run them one at a time
# on these 2-core machines rather than racing each other.
swift test --no-parallel
