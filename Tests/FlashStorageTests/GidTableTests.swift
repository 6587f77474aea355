@testable import FlashStorage
import Testing

/// The journal finds every row by its gid through `GidTable` alone (schema 6 has no gid key),
/// so a row the table loses is a purchase whose retry buys again: checked against a dictionary
/// through growth, removals (backward shifts), keys shared by two gids, and rows past 2^32.
/// A lookup may also offer a row of another key (the table keeps 32 bits of each); the
/// journal reads the row's gid before it trusts it.
@Suite struct GidTableTests {
    @Test func matchesADictionaryThroughInsertsAndRemovals() {
        var table = GidTable()
        var model: [UInt64: Set<Int64>] = [:]
        var rng = SplitMix(seed: 7)
        var live: [(UInt64, Int64)] = []
        for step in 0..<200_000 {
            // Few distinct keys in part of the run, so shared keys and long probe runs happen.
            let key = step % 3 == 0 ? rng.next() % 64 + 1 : rng.next() | 1
            if live.count > 10, rng.next() % 4 == 0 {
                let (k, r) = live.remove(at: Int(rng.next() % UInt64(live.count)))
                table.remove(k, row: r)
                model[k]?.remove(r)
            } else {
                let row = rng.next() % 50 == 0 ? Int64(UInt32.max) + Int64(step) : Int64(step)
                table.insert(key, row: row)
                model[key, default: []].insert(row)
                live.append((key, row))
            }
        }
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

/// A small deterministic generator, so a failure replays.
private struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
