/// gid → journal row, in memory: what lets the journal's rows be appended in time order with no
/// index on the gid (`JournalSchema` version 6).
///
/// A gid is a random 64-bit hash, so a B-tree keyed by it puts every new row on a random page:
/// with a million rows each purchase dirtied a page of its own, and every group commit wrote
/// and fsynced one page per purchase. Appended rows share the pages at the table's right edge.
///
/// The key is the gid's digest (its 16 hex digits), or a hash of the whole text for a gid of
/// another shape, so it is only a hint: the journal reads the row and compares the gid, and two
/// gids with one key (another node's id on the same digest) both stay findable. Open addressing
/// with linear probing in flat arrays of 8-byte slots (a 32-bit fingerprint of the key and the
/// row), each at most 3/4 full: a million rows cost 10.7 MiB (13.3 MiB with the quarter more
/// the journal reserves at open), one cache miss a lookup, and no allocation per row;
/// rows past 2^32, and a second key on a fingerprint, go to `extra`.
///
/// When the last table is full another one comes, for a quarter as many rows as all hold (as
/// `BuyerTable` grows). The table once grew by copying itself into one half as big again: on a
/// million rows that held the writer for 19 ms inside the index's lock, every purchase in
/// flight waiting, and the two tables side by side cost 32 MiB at that moment. Now a lookup
/// probes each table, newest first (where a retry's recent row is): four once a sale doubles
/// a million-row journal, and at the next start the file's rows fill one table again.
struct GidTable {
    /// One open-addressing table. A slot: the key's 32-bit fingerprint (never 0) above the row;
    /// 0 is an empty slot. A fingerprint is in one slot of one table at most.
    private struct Slots {
        var slots: [UInt64]
        var count = 0

        /// Room for `rows` at most 3/4 full. Any size, not a power of two: a million rows take
        /// 1.33M slots (10.7 MiB), not 2^21 (16 MiB).
        init(rows: Int) {
            slots = Array(repeating: 0, count: max(1024, (rows * 4 / 3 + 64) / 64 * 64))
        }

        var isFull: Bool { count + 1 > slots.count * 3 / 4 }
        var room: Int { slots.count * 3 / 4 - count }

        /// The row under `fp`, if this table holds it.
        func find(_ fp: UInt32) -> Int64? {
            var i = home(fp)
            while slots[i] != 0 {
                if UInt32(truncatingIfNeeded: slots[i] >> 32) == fp { return Int64(slots[i] & 0xffff_ffff) }
                i = next(i)
            }
            return nil
        }

        /// `fp` must be in no table.
        mutating func place(_ fp: UInt32, row: Int64) {
            var i = home(fp)
            while slots[i] != 0 { i = next(i) }
            slots[i] = UInt64(fp) << 32 | UInt64(row)
            count += 1
        }

        /// Takes `fp`'s slot out if it holds `row`. nil: `fp` is not here; false: it holds
        /// another row (of a key that shares the fingerprint), left alone.
        mutating func remove(_ fp: UInt32, row: Int64) -> Bool? {
            var i = home(fp)
            while slots[i] != 0 {
                if UInt32(truncatingIfNeeded: slots[i] >> 32) == fp {
                    guard Int64(slots[i] & 0xffff_ffff) == row else { return false }
                    delete(at: i)
                    return true
                }
                i = next(i)
            }
            return nil
        }

        /// Loads `fp`'s home slot, so a batch's cache misses overlap (`insert(batch:)`).
        func touch(_ fp: UInt32) -> UInt64 { slots.withUnsafeBufferPointer { $0[home(fp)] } }

        private func next(_ i: Int) -> Int { i + 1 == slots.count ? 0 : i + 1 }

        private func home(_ fp: UInt32) -> Int { GidTable.slot(hashing: UInt64(fp), size: slots.count) }

        /// Backward-shift deletion: no tombstones, so lookups never slow down after removals.
        private mutating func delete(at slot: Int) {
            var hole = slot
            var j = slot
            while true {
                j = next(j)
                if slots[j] == 0 { break }
                let h = home(UInt32(truncatingIfNeeded: slots[j] >> 32))
                // The entry at j may move into the hole unless its home lies cyclically in (hole, j].
                let stays = hole <= j ? (h > hole && h <= j) : (h > hole || h <= j)
                if !stays {
                    slots[hole] = slots[j]
                    hole = j
                }
            }
            slots[hole] = 0
            count -= 1
        }
    }

    /// Oldest first; new rows go to the last.
    private var tables: [Slots]
    private var extra: [UInt32: [Int64]] = [:]
    /// Where the batch insert's early loads go, so they are not dropped as unused.
    private var sink: UInt64 = 0
    private(set) var count = 0

    /// A key's rows: at most one in the tables, and the rare others.
    struct Candidates {
        var first: Int64?
        var more: [Int64] = []
    }

    /// Room for `capacity` rows before a second table is needed.
    init(capacity: Int = 0) {
        tables = [Slots(rows: capacity)]
    }

    /// How many tables a lookup probes (for tests and BENCHMARKS.md).
    var tableCount: Int { tables.count }

    /// The key of a gid: its digest when it is `NODE-` and 16 hex digits, else FNV-1a of its bytes.
    static func key(_ gid: String) -> UInt64 {
        var gid = gid
        return gid.withUTF8 { key(UnsafeRawBufferPointer($0)) }
    }

    static func key(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        let n = bytes.count
        if n > 17, bytes[n - 17] == UInt8(ascii: "-") {
            // 16 lowercase hex digits: each through a table, 0xff for anything else.
            var v: UInt64 = 0
            var bad: UInt8 = 0
            for i in (n - 16)..<n {
                let d = hexValue[Int(bytes[i])]
                bad |= d
                v = v << 4 | UInt64(d & 0x0f)
            }
            if bad & 0xf0 == 0 { return v == 0 ? 1 : v }
        }
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h == 0 ? 1 : h
    }

    private static let hexValue: [UInt8] = (0..<256).map { c in
        switch c {
        case 48...57: UInt8(c - 48)
        case 97...102: UInt8(c - 87)
        default: 0xff
        }
    }

    /// Many rows at once, as the journal's open reads them: the slots they will probe are
    /// loaded first, all together, so their cache misses overlap instead of one after another
    /// (a million rows went from about 0.3 s of misses to a fraction of it).
    mutating func insert(batch: [(key: UInt64, row: Int64)]) {
        if tables[tables.count - 1].room < batch.count { addTable(rows: max(batch.count, count / 4)) }
        var touched: UInt64 = 0
        for t in tables.indices {
            for e in batch { touched &+= tables[t].touch(Self.fingerprint(e.key)) }
        }
        // Keeps the loads above from being dropped as unused.
        sink &+= touched
        for e in batch { insert(e.key, row: e.row) }
    }

    func candidates(_ key: UInt64) -> Candidates {
        let fp = Self.fingerprint(key)
        var c = Candidates()
        for t in tables.indices.reversed() {
            if let row = tables[t].find(fp) {
                c.first = row
                break
            }
        }
        if !extra.isEmpty, let more = extra[fp] { c.more = more }
        return c
    }

    mutating func insert(_ key: UInt64, row: Int64) {
        let fp = Self.fingerprint(key)
        guard row >= 0, row < Int64(UInt32.max) else { return extra[fp, default: []].append(row) }
        for t in tables.indices.reversed() {
            guard let held = tables[t].find(fp) else { continue }
            // The same row again (primed at open, then seen by the scan): nothing to add.
            if held == row || extra[fp]?.contains(row) == true { return }
            return extra[fp, default: []].append(row)
        }
        if tables[tables.count - 1].isFull { addTable(rows: count / 4) }
        tables[tables.count - 1].place(fp, row: row)
        count += 1
    }

    mutating func remove(_ key: UInt64, row: Int64) {
        let fp = Self.fingerprint(key)
        if var more = extra[fp], let at = more.firstIndex(of: row) {
            more.remove(at: at)
            extra[fp] = more.isEmpty ? nil : more
            return
        }
        for t in tables.indices.reversed() {
            guard let removed = tables[t].remove(fp, row: row) else { continue }
            if removed { count -= 1 }
            return
        }
    }

    /// Where `x` starts its probe in a table of `size` slots (`BuyerTable` too): Fibonacci
    /// hashing spreads it over 64 bits, and the high half of its product with the size maps that
    /// onto 0..<size without a division.
    static func slot(hashing x: UInt64, size: Int) -> Int {
        let mixed = x &* 0x9E37_79B9_7F4A_7C15
        return Int(truncatingIfNeeded: mixed.multipliedFullWidth(by: UInt64(size)).high)
    }

    /// 32 bits of the key: two keys may share one (about a hundred pairs in a million rows);
    /// the second goes to `extra`, and the journal's check of the gid tells them apart.
    private static func fingerprint(_ key: UInt64) -> UInt32 {
        let fp = UInt32(truncatingIfNeeded: key >> 32) ^ UInt32(truncatingIfNeeded: key)
        return fp == 0 ? 1 : fp
    }

    /// Another table, for at least `rows`: no copy of the ones before.
    private mutating func addTable(rows: Int) {
        tables.append(Slots(rows: max(16_384, rows)))
    }
}
