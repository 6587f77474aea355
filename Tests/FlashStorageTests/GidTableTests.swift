@testable import FlashStorage
import Testing

/// The journal finds every row by its gid through `GidTable` alone (schema 6 has no gid key),
/// so a row the table loses is a purchase whose retry buys again: checked against a dictionary
/// through growth (more tables, never a copy), removals (backward shifts), keys shared by two
/// gids, and rows past 2^32.
/// A lookup may also offer a row of another key (the table keeps 32 bits of each); the
/// journal reads the row's gid before it trusts it.
@Suite struct GidTableTests {
    @Test func matchesADictionaryThroughInsertsAndRemovals() {
        var table = GidTable()
        let churn = TableChurn(steps: 0...199_999, seed: 7, removeOneIn: 4, hugeOneIn: 50,
                               // Few distinct keys in part of the run, so shared keys and long probe runs happen.
                               key: { step, rng in step % 3 == 0 ? rng.next() % 64 + 1 : rng.next() | 1 },
                               insert: { key, row, _ in table.insert(key, row: row) },
                               remove: { table.remove($0, row: $1) })
        let (model, live) = (churn.model, churn.live)
        // Every row of a key is among its candidates; a candidate of another key (one sharing
        // its 32-bit fingerprint, which the journal's gid check turns away) is rare and live.
        let liveRows = Set(live.map(\.1))
        var strangers = 0
        for (key, rows) in model {
            let c = table.candidates(key)
            let found = Set([c.first].compactMap { $0 } + c.more)
            #expect(found.isSuperset(of: rows), "key \(key)")
            #expect(found.isSubset(of: liveRows), "key \(key)")
            strangers += found.subtracting(rows).count
        }
        #expect(strangers < model.count / 1000, "\(strangers) candidates of other keys")
        #expect(table.candidates(0xdead_beef_0000_0001).first == nil)
        // The run grew the table past its first: rows in every table were found above.
        #expect(table.tableCount >= 3, "\(table.tableCount) tables")
    }

    /// The loader's batches land in a table that has grown, and may repeat rows the writer added.
    @Test func batchesAfterGrowthFindEveryRowOnce() {
        var table = GidTable(capacity: 1000)
        for row in 1...3000 { table.insert(UInt64(row) &* 0x9E37_79B9_7F4A_7C15, row: Int64(row)) }
        #expect(table.tableCount == 2)
        // Rows 2001...3000 again (seen by the writer, then by the scan), and 3001...40000 new.
        let batch = (2001...40_000).map { (key: UInt64($0) &* 0x9E37_79B9_7F4A_7C15, row: Int64($0)) }
        table.insert(batch: batch)
        #expect(table.count == 40_000)
        #expect(table.tableCount == 3)
        for row in 1...40_000 {
            let c = table.candidates(UInt64(row) &* 0x9E37_79B9_7F4A_7C15)
            #expect(c.first == Int64(row) && c.more.isEmpty, "row \(row)")
        }
    }

    @Test func aGidsKeyIsItsDigestOrAHashOfItsText() {
        #expect(GidTable.key("node-00000000000000ff") == 0xff)
        #expect(GidTable.key("a-b-0123456789abcdef") == 0x0123_4567_89ab_cdef)
        // Not 16 lowercase hex digits after the dash: the whole text is hashed, and still a key.
        #expect(GidTable.key("g1") != 0 && GidTable.key("g1") != GidTable.key("g2"))
        #expect(GidTable.key("node-0123456789ABCDEF") != 0x0123_4567_89ab_cdef)
        #expect(GidTable.key("node-0000000000000000") == 1, "0 marks an empty slot")
    }
}
