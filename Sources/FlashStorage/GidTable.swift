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
/// with linear probing in two flat arrays, 12 bytes a slot, so a million rows cost about 24 MiB
/// and no allocation per row; rows past 2^32, and a second gid on a key, go to `extra`.
struct GidTable {
    private var keys: [UInt64]
    private var rows: [UInt32]
    private var extra: [UInt64: [Int64]] = [:]
    private var shift: UInt64
    private(set) var count = 0

    /// A key's rows: at most one in the table, and the rare others.
    struct Candidates {
        var first: Int64?
        var more: [Int64] = []
    }

    init(capacity: Int = 0) {
        var bits: UInt64 = 10
        while (1 << bits) * 3 / 4 < capacity { bits += 1 }
        keys = Array(repeating: 0, count: 1 << bits)
        rows = Array(repeating: 0, count: 1 << bits)
        shift = 64 - bits
    }

    /// The key of a gid: its digest when it is `NODE-` and 16 hex digits, else FNV-1a of its bytes.
    static func key(_ gid: String) -> UInt64 {
        var gid = gid
        return gid.withUTF8 { key(UnsafeRawBufferPointer($0)) }
    }

    static func key(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        let n = bytes.count
        if n > 17, bytes[n - 17] == UInt8(ascii: "-") {
            var v: UInt64 = 0
            var ok = true
            for i in (n - 16)..<n {
                let c = bytes[i]
                let d: UInt8
                switch c {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): d = c - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): d = c - UInt8(ascii: "a") + 10
                default: ok = false; d = 0
                }
                v = v << 4 | UInt64(d)
            }
            if ok { return v == 0 ? 1 : v }
        }
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h == 0 ? 1 : h
    }

    func candidates(_ key: UInt64) -> Candidates {
        var c = Candidates()
        var i = home(key)
        while keys[i] != 0 {
            if keys[i] == key {
                c.first = Int64(rows[i])
                break
            }
            i = (i + 1) & mask
        }
        if !extra.isEmpty, let more = extra[key] { c.more = more }
        return c
    }

    mutating func insert(_ key: UInt64, row: Int64) {
        if (count + 1) > keys.count * 3 / 4 { grow() }
        guard row >= 0, row < Int64(UInt32.max) else { return extra[key, default: []].append(row) }
        var i = home(key)
        while keys[i] != 0 {
            if keys[i] == key { return extra[key, default: []].append(row) }
            i = (i + 1) & mask
        }
        keys[i] = key
        rows[i] = UInt32(row)
        count += 1
    }

    mutating func remove(_ key: UInt64, row: Int64) {
        if var more = extra[key], let at = more.firstIndex(of: row) {
            more.remove(at: at)
            extra[key] = more.isEmpty ? nil : more
            return
        }
        var i = home(key)
        while keys[i] != 0 {
            if keys[i] == key {
                guard Int64(rows[i]) == row else { return }
                delete(at: i)
                return
            }
            i = (i + 1) & mask
        }
    }

    private var mask: Int { keys.count - 1 }

    private func home(_ key: UInt64) -> Int {
        // Fibonacci hashing: the FNV keys are not uniform in their low bits; the digests are.
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    /// Backward-shift deletion: no tombstones, so lookups never slow down after removals.
    private mutating func delete(at slot: Int) {
        var hole = slot
        var j = slot
        while true {
            j = (j + 1) & mask
            if keys[j] == 0 { break }
            let h = home(keys[j])
            // The entry at j may move into the hole unless its home lies cyclically in (hole, j].
            let stays = hole <= j ? (h > hole && h <= j) : (h > hole || h <= j)
            if !stays {
                keys[hole] = keys[j]
                rows[hole] = rows[j]
                hole = j
            }
        }
        keys[hole] = 0
        count -= 1
    }

    private mutating func grow() {
        var bigger = GidTable(capacity: keys.count)
        bigger.extra = extra
        for i in 0..<keys.count where keys[i] != 0 { bigger.insert(keys[i], row: Int64(rows[i])) }
        self = bigger
    }
}
