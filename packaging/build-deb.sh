#!/usr/bin/env bash
# Builds flashd_<version>_<arch>.deb from this checkout as a Debian package is built:
# dpkg-buildpackage -b with debhelper, from debian/ (control, rules, changelog, copyright and
# the units, sysusers entry and maintainer scripts debhelper installs and completes). The
# release binaries link the Swift standard library statically, so Depends (from dpkg-shlibdeps)
# names only Debian's libraries. The last line printed is the path of the .deb.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

VERSION=$(dpkg-parsechangelog -S Version)
ARCH=$(dpkg --print-architecture)
mkdir -p out
echo "== dpkg-buildpackage -b (debhelper; release build with the static Swift stdlib)" >&2
dpkg-buildpackage -b -us -uc \
  --buildinfo-file="out/flashd_${VERSION}_${ARCH}.buildinfo" --buildinfo-option=-uout \
  --changes-file="out/flashd_${VERSION}_${ARCH}.changes" --changes-option=-uout >&2
echo "$(pwd)/out/flashd_${VERSION}_${ARCH}.deb"
