/// buyer → the rows of the buyer's orders, in memory: what finds a buyer's orders (`GET
/// /v1/orders?user=`) without an index on the buyer in the file.
///
/// The file had one (`txns_user`), and it was the costliest of the journal's indexes: every
/// order added an entry at the buyer's place in it, a page no other purchase of the batch
/// shared, written to the WAL and checkpointed again. Without it the journal alone ran 1.1–1.3×
/// as fast on a million rows, and flashd's own p99 paced at 5,000/s fell by a fifth to a third
/// (BENCHMARKS.md).
///
/// A slot keeps the row (4 bytes) and 8 bits of the buyer's key, not the buyer: a lookup gives
/// the rows of its probe run with those 8 bits, the buyer's and about one in 256 of the others,
/// and the journal's query keeps those whose `user` is the buyer. So a million orders cost
/// 6.4 MiB. Open addressing with linear probing, each table at most 3/4 full; with no key in a
/// slot a table can't be rehashed, so when the last table is full another one comes, an eighth
/// of the size of all before it (no copy, so no peak of two tables' memory, and little room
/// unused), and a lookup probes each: the first holds every order the journal had at open,
/// and a sale of as many orders again adds six more. Removal (a batch rolled back)
/// leaves a tombstone. A row past 2^32 - 2 goes to `extra`, a candidate for every buyer.
struct BuyerTable {
    private static let empty: UInt32 = 0
    private static let removed = UInt32.max

    private var tables: [[UInt32]] = []
    /// Beside each slot: the low 8 bits of its buyer's key.
    private var prints: [[UInt8]] = []
    /// Slots taken in each table, tombstones included (they still lengthen probes).
    private var used: [Int] = []
    private var extra: [Int64] = []
    /// Where `insertNew(batch:)`'s early loads go, so they are not dropped as unused.
    private var sink: UInt32 = 0
    private(set) var count = 0

    /// Room for `capacity` rows before a second table is needed.
    init(capacity: Int = 0) {
        addTable(rows: max(768, capacity))
    }

    /// The key of a buyer: FNV-1a of the name's bytes.
    static func key(_ user: String) -> UInt64 {
        var user = user
        return user.withUTF8 { key(UnsafeRawBufferPointer($0)) }
    }

    static func key(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h
    }

    /// Every row that may be the buyer's, each once; the caller compares the buyer of each.
    func candidates(_ key: UInt64) -> [Int64] {
        var rows: [Int64] = []
        let print = Self.print(key)
        for t in tables.indices {
            var i = home(key, t)
            while tables[t][i] != Self.empty {
                if prints[t][i] == print && tables[t][i] != Self.removed { rows.append(Int64(tables[t][i])) }
                i = next(i, t)
            }
        }
        return rows + extra
    }

    /// The loader's first scan (`insert(_:row:new:)` with `new`), many rows at once: the slots
    /// they will probe are loaded first, together, so their cache misses overlap (as
    /// `GidTable.insert(batch:)` does).
    mutating func insertNew(batch: [(buyer: UInt64, row: Int64)]) {
        let t = tables.count - 1
        var touched: UInt32 = 0
        tables[t].withUnsafeBufferPointer { slots in
            for e in batch { touched &+= slots[home(e.buyer, t)] }
        }
        sink &+= touched
        for e in batch { insert(e.buyer, row: e.row, new: true) }
    }

    /// Adds `row` under `key`; a row it has already (seen by the loader and by the writer) is
    /// not added twice. `new`: the caller knows the row isn't in the table (the loader's first
    /// scan: the writer adds only rows that became orders after its snapshot), so no probe
    /// run is searched for it first.
    mutating func insert(_ key: UInt64, row: Int64, new: Bool = false) {
        guard row > 0, row < Int64(Self.removed) else {
            if !extra.contains(row) { extra.append(row) }
            return
        }
        let slot = UInt32(row)
        let print = Self.print(key)
        for t in tables.indices where !new {
            var i = home(key, t)
            while tables[t][i] != Self.empty {
                if tables[t][i] == slot && prints[t][i] == print { return }
                i = next(i, t)
            }
        }
        var t = tables.count - 1
        if used[t] + 1 > tables[t].count * 3 / 4 {
            addTable(rows: max(768, count / 8))
            t += 1
        }
        var i = home(key, t)
        while tables[t][i] != Self.empty && tables[t][i] != Self.removed { i = next(i, t) }
        if tables[t][i] == Self.empty { used[t] += 1 }
        tables[t][i] = slot
        prints[t][i] = print
        count += 1
    }

    mutating func remove(_ key: UInt64, row: Int64) {
        if let at = extra.firstIndex(of: row) {
            extra.remove(at: at)
            return
        }
        let print = Self.print(key)
        for t in tables.indices {
            var i = home(key, t)
            while tables[t][i] != Self.empty {
                if Int64(tables[t][i]) == row, prints[t][i] == print, tables[t][i] != Self.removed {
                    tables[t][i] = Self.removed
                    count -= 1
                    return
                }
                i = next(i, t)
            }
        }
    }

    private mutating func addTable(rows: Int) {
        let size = (rows * 4 / 3 + 64) / 64 * 64
        tables.append(Array(repeating: Self.empty, count: size))
        prints.append(Array(repeating: 0, count: size))
        used.append(0)
    }

    private static func print(_ key: UInt64) -> UInt8 { UInt8(truncatingIfNeeded: key) }

    private func home(_ key: UInt64, _ t: Int) -> Int { GidTable.slot(hashing: key, size: tables[t].count) }

    private func next(_ i: Int, _ t: Int) -> Int { i + 1 == tables[t].count ? 0 : i + 1 }
}
