#!/usr/bin/env bash
# The debug build the demos run: builds (one summary line on stderr) and prints the directory
# of the binaries, as build-release.sh does for the release build.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== building (debug)" >&2
swift build 2>&1 | tail -n 1 >&2
swift build --show-bin-path
