#!/usr/bin/env bash
# The release build the .deb and the torture harness share: static Swift standard library,
# no $ORIGIN rpath, RELRO + BIND_NOW (hardening lintian asks of ELF binaries). Prints the
# directory of the binaries.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --static-swift-stdlib --disable-local-rpath --scratch-path .build-release \
  -Xlinker -z -Xlinker relro -Xlinker -z -Xlinker now >&2
echo "$(pwd)/.build-release/release"
