#!/usr/bin/env bash
# GidTable alone, as the journal uses it after an open of ROWS rows (a quarter more reserved):
# inserts 1.8 × ROWS gids one at a time, so the table passes its reserve mid-sale, and prints
# the slowest single insert (the writer holds the index's lock through it), the mean lookup
# (half hits, half misses) and the process's peak RSS. No flashd, no SQLite: the table's own
# cost. Usage: scripts/gidtable-growth.sh [ROWS] (default 1000000).
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-1000000}
TMP=$(mktemp -d /tmp/gidtable.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
cat >"$TMP/main.swift" <<SWIFT
import Glibc

let rows = $ROWS
var table = GidTable(capacity: rows + rows / 4)
var state: UInt64 = 0x9E37_79B9_7F4A_7C15
func next() -> UInt64 { state ^= state << 13; state ^= state >> 7; state ^= state << 17; return state }
var kept: [UInt64] = []
let clock = ContinuousClock()
var worst = Duration.zero
var worstAt = 0
for i in 0..<(rows * 9 / 5) {
    let key = next()
    let start = clock.now
    table.insert(key, row: Int64(i + 1))
    let took = clock.now - start
    if took > worst { (worst, worstAt) = (took, i + 1) }
    if i % 7 == 0 { kept.append(key) }
}
let start = clock.now
var hits = 0
var strangers = 0
for key in kept where table.candidates(key).first != nil { hits += 1 }
// Keys never inserted: a candidate here is a 32-bit fingerprint shared by chance.
for _ in kept where table.candidates(next()).first != nil { strangers += 1 }
let perLookup = (clock.now - start) / (kept.count * 2)
// The peak resident set, from /proc (Glibc only: Foundation would add its own megabytes).
var peak = "VmHWM unknown"
if let f = fopen("/proc/self/status", "r") {
    var line = [CChar](repeating: 0, count: 256)
    while fgets(&line, 256, f) != nil {
        let text = String(decoding: line.prefix { \$0 != 0 }.map { UInt8(bitPattern: \$0) }, as: UTF8.self)
        if text.hasPrefix("VmHWM") { peak = String(text.dropLast()) }
    }
    fclose(f)
}
print("rows \(table.count) in \(table.tableCount) table(s); slowest insert \(worst) at row \(worstAt)")
print("lookup \(perLookup), half hits (\(hits) of \(kept.count) found), half misses (\(strangers) offered a row)")
print("peak memory: \(peak)")
SWIFT
swiftc -O Sources/FlashStorage/GidTable.swift "$TMP/main.swift" -o "$TMP/gidtable"
"$TMP/gidtable"
