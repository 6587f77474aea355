#!/usr/bin/env bash
# Builds flashd_<version>_amd64.deb from this checkout: release binaries with the Swift
# standard library linked statically (so Depends names only Debian's libraries), the systemd
# units, sysusers entry, conffile, journal catalog, man pages and shell completions.
# The last line printed is the path of the .deb.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

echo "== release build (static Swift stdlib)" >&2
BIN=$(scripts/build-release.sh)

VERSION=$("$BIN/flashd" --version)
ARCH=$(dpkg --print-architecture)
OUT=out
PKG="$OUT/flashd_${VERSION}_${ARCH}"
rm -rf "$PKG"
install -d "$PKG/DEBIAN"

# Binaries, stripped.
install -D -m 0755 "$BIN/flashd" "$PKG/usr/bin/flashd"
install -D -m 0755 "$BIN/flashsalectl" "$PKG/usr/bin/flashsalectl"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$PKG/usr/bin/flashd" "$PKG/usr/bin/flashsalectl"

# systemd: units under /lib (Debian 12's place for packaged units), sysusers, catalog.
install -D -m 0644 systemd/flashd.service "$PKG/lib/systemd/system/flashd.service"
install -D -m 0644 systemd/flashd.socket "$PKG/lib/systemd/system/flashd.socket"
install -D -m 0644 packaging/flashd.sysusers "$PKG/usr/lib/sysusers.d/flashd.conf"
install -D -m 0644 packaging/flashd.catalog "$PKG/usr/lib/systemd/catalog/flashd.catalog"
install -D -m 0644 packaging/flashd.conf "$PKG/etc/flashd/flashd.conf"

# Man pages (generated from the parsers by `make man`) and completions (from the binary).
for page in flashd flashsalectl; do
  install -d "$PKG/usr/share/man/man1"
  gzip -9n < "packaging/man/$page.1" > "$PKG/usr/share/man/man1/$page.1.gz"
done
install -d "$PKG/usr/share/man/man5"
gzip -9n < packaging/man/flashd.conf.5 > "$PKG/usr/share/man/man5/flashd.conf.5.gz"
install -d "$PKG/usr/share/bash-completion/completions" "$PKG/usr/share/zsh/vendor-completions" \
  "$PKG/usr/share/fish/vendor_completions.d"
"$BIN/flashsalectl" --generate-completion-script bash > "$PKG/usr/share/bash-completion/completions/flashsalectl"
"$BIN/flashsalectl" --generate-completion-script zsh > "$PKG/usr/share/zsh/vendor-completions/_flashsalectl"
"$BIN/flashsalectl" --generate-completion-script fish > "$PKG/usr/share/fish/vendor_completions.d/flashsalectl.fish"
"$BIN/flashd" --print-completion bash > "$PKG/usr/share/bash-completion/completions/flashd"
"$BIN/flashd" --print-completion zsh > "$PKG/usr/share/zsh/vendor-completions/_flashd"
"$BIN/flashd" --print-completion fish > "$PKG/usr/share/fish/vendor_completions.d/flashd.fish"
# bash-completion sources these files: no #! line (lintian: bash-completion-with-hashbang).
sed -i '1{/^#!/d}' "$PKG"/usr/share/bash-completion/completions/*
chmod 0644 "$PKG"/usr/share/*/completions/* "$PKG"/usr/share/zsh/vendor-completions/* "$PKG"/usr/share/fish/vendor_completions.d/*

# Documentation.
install -D -m 0644 packaging/debian/copyright "$PKG/usr/share/doc/flashd/copyright"
gzip -9n < packaging/debian/changelog > "$PKG/usr/share/doc/flashd/changelog.gz"
chmod 0644 "$PKG/usr/share/doc/flashd/changelog.gz"
install -D -m 0644 packaging/nginx/flashd.conf "$PKG/usr/share/doc/flashd/examples/nginx-flashd.conf"
# The API's contract, as the binary serves it at GET /v1/openapi.json.
"$BIN/flashd" --print-openapi > "$PKG/usr/share/doc/flashd/openapi.json"
chmod 0644 "$PKG/usr/share/doc/flashd/openapi.json"
install -D -m 0644 packaging/grafana/flashd-dashboard.json "$PKG/usr/share/doc/flashd/examples/grafana-flashd-dashboard.json"
install -D -m 0644 packaging/prometheus/flashd-alerts.yml "$PKG/usr/share/doc/flashd/examples/prometheus-flashd-alerts.yml"

# Control files.
for script in postinst prerm postrm; do
  install -m 0755 "packaging/debian/$script" "$PKG/DEBIAN/$script"
done
echo /etc/flashd/flashd.conf > "$PKG/DEBIAN/conffiles"
chmod 0644 "$PKG/DEBIAN/conffiles"
(cd "$PKG" && find . -type f ! -path './DEBIAN/*' -printf '%P\0' | sort -z | xargs -0 md5sum > DEBIAN/md5sums)
chmod 0644 "$PKG/DEBIAN/md5sums"

# Depends from what the binaries actually link (dpkg-shlibdeps wants a source tree; this
# asks dpkg which installed package ships each library, with the version built against).
DEPENDS=$(for f in "$PKG/usr/bin/"*; do objdump -p "$f" | awk '/NEEDED/ {print $2}'; done | sort -u | while read -r lib; do
  path=$(ldconfig -p | awk -v l="$lib" '$1 == l && /x86-64/ {print $NF; exit}')
  real=$(readlink -f "$path")
  pkg=""
  # dpkg knows each file by the path its package ships; with merged /usr that may be the
  # /lib or the /usr/lib spelling, so try both.
  for candidate in "$path" "$real" "${path#/usr}" "/usr$path" "${real#/usr}"; do
    pkg=$(dpkg -S "$candidate" 2>/dev/null | head -n1 | cut -d: -f1) && [ -n "$pkg" ] && break
  done
  [ -n "$pkg" ] || { echo "no package ships $lib" >&2; exit 1; }
  ver=$(dpkg-query -W -f='${Version}' "$pkg" | sed 's/-[^-]*$//; s/+.*$//')
  echo "$pkg (>= $ver)"
done | sort -u | paste -sd, | sed 's/,/, /g')
SIZE=$(du -sk --exclude=DEBIAN "$PKG" | cut -f1)

cat > "$PKG/DEBIAN/control" <<CONTROL
Package: flashd
Version: $VERSION
Architecture: $ARCH
Maintainer: flashd maintainers <maintainers@users.noreply.r-seed-b534df60.example>
Installed-Size: $SIZE
Depends: $DEPENDS
Recommends: redis-server
Section: misc
Priority: optional
Homepage: https://github.com/flashd/flashd
Description: flash-sale daemon that never oversells or loses an order
 flashd sells limited stock in a flash sale. It takes purchases on a Unix
 socket (HTTP/1.1 + JSON), deducts stock in Redis with one atomic Lua script,
 journals every global transaction in SQLite before touching Redis, and after
 a crash settles every unfinished transaction by itself, so Redis stock and
 orders always converge. flashsalectl creates sales, buys and audits.
CONTROL

dpkg-deb --root-owner-group -Zxz --build "$PKG" "$OUT/" >&2
echo "$(pwd)/$OUT/flashd_${VERSION}_${ARCH}.deb"
