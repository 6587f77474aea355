import FlashCore
import FlashStorage
import Foundation
import SQLiteStore
import Testing
import TestSupport

/// A sale round's orders, pending purchases and holds as `counts` and `holdCounts` give them
/// (`SaleOrderCounts`, which reuses what it counted before), against COUNT(*) over the same
/// file on a connection of its own, after every step of random purchases on two items and two
/// rounds: orders, failures, discards, purchases left prepared across many counts, and a
/// round whose orders start holding halfway, confirmed and released at random.
@Suite struct SaleOrderCountsTests {
    let dir: String
    var path: String { dir + "/j.db" }

    init() throws { dir = try TempDir.make(prefix: "sc") }

    /// A purchase of `sku` round 1 journaled as prepared, its gid its buyer and request id.
    func prepare(_ j: SQLiteJournal, _ gid: String) async throws {
        _ = try await j.prepare(TxnRecord(gid: gid, item: "sku", round: 1, user: gid, requestID: gid, createdMs: 1,
                                          updatedMs: 1, nextCheckMs: 1))
    }

    /// That purchase's order.
    func order(_ j: SQLiteJournal, _ gid: String) async throws {
        _ = try await j.commitOrder(Order(orderID: "o-\(gid)", gid: gid, item: "sku", round: 1, user: gid, requestID: gid,
                                          createdMs: 2), nowMs: 2)
    }

    @Test func countsMatchACountOfEveryRowAfterEachStep() async throws {
        let j = try await SQLiteJournal(path: path)
        let check = try SQLiteDatabase(path: path)
        defer { check.close() }
        var rng = SystemRandomNumberGenerator()
        let sales = [("a", 1), ("a", 2), ("b", 1)]
        var pending: [(gid: String, item: String, round: Int)] = []
        var holding: [String] = []
        var settled = 0
        for step in 0..<1200 {
            let roll = Int.random(in: 0..<10, using: &rng)
            if roll < 5 || pending.isEmpty {
                let (item, round) = sales.randomElement(using: &rng)!
                let gid = "g\(step)"
                _ = try await j.prepare(TxnRecord(gid: gid, item: item, round: round, user: "u\(step)", requestID: "r\(step)",
                                                  createdMs: Int64(step), updatedMs: Int64(step), nextCheckMs: Int64(step)))
                pending.append((gid, item, round))
            } else {
                // Mostly the newest (a purchase in flight), sometimes the oldest (one left
                // prepared for long, holding the count's starting point back), then any.
                let i = roll == 9 ? 0 : (roll == 8 ? Int.random(in: 0..<pending.count, using: &rng) : pending.count - 1)
                let p = pending.remove(at: i)
                switch Int.random(in: 0..<6, using: &rng) {
                case 0: try await j.commitFailure(gid: p.gid, reason: .soldOut, nowMs: Int64(step))
                case 1: try await j.discard(gid: p.gid)
                default:
                    // Round 1 of b holds its orders from the middle of the run on: its holds
                    // are counted as none until then, and must show from its first.
                    let held = p.item == "b" && step >= 600
                    _ = try await j.commitOrder(Order(orderID: "o-\(p.gid)", gid: p.gid, item: p.item, round: p.round,
                                                      user: "u", requestID: "r", createdMs: Int64(step),
                                                      hold: held ? .held : nil, expiresMs: held ? 10_000 : nil), nowMs: Int64(step))
                    if held { holding.append(p.gid) }
                    settled += 1
                }
            }
            if !holding.isEmpty && Int.random(in: 0..<4, using: &rng) == 0 {
                let gid = holding.remove(at: Int.random(in: 0..<holding.count, using: &rng))
                _ = try await j.setHold(gid: gid, to: Bool.random(using: &rng) ? .confirmed : .released, cause: nil, nowMs: Int64(step))
            }
            for (item, round) in sales where step % 3 == 0 || item == "a" {
                let got = try await j.counts(item: item, round: round)
                let orders = try check.scalarInt("SELECT COUNT(*) FROM txns WHERE item = ? AND round = ? AND state = 'succeeded'",
                                                 [.text(item), .int(Int64(round))])
                let waiting = try check.scalarInt("SELECT COUNT(*) FROM txns WHERE item = ? AND round = ? AND state = 'prepared'",
                                                  [.text(item), .int(Int64(round))])
                guard got == (Int(orders), Int(waiting)) else {
                    Issue.record("step \(step), \(item) round \(round): counts gave \(got), the rows hold (\(orders), \(waiting))")
                    await j.close()
                    return
                }
                var holds = HoldCounts()
                try check.query("SELECT hold, COUNT(*) FROM txns WHERE item = ? AND round = ? AND hold IS NOT NULL GROUP BY hold",
                                [.text(item), .int(Int64(round))]) { s in
                    while try s.step() {
                        switch s.text(0) {
                        case "held": holds.held = Int(s.int(1))
                        case "confirmed": holds.confirmed = Int(s.int(1))
                        case "released": holds.released = Int(s.int(1))
                        default: holds.deciding += Int(s.int(1))
                        }
                    }
                }
                let gotHolds = try await j.holdCounts(item: item, round: round)
                guard gotHolds == holds else {
                    Issue.record("step \(step), \(item) round \(round): holdCounts gave \(gotHolds), the rows hold \(holds)")
                    await j.close()
                    return
                }
            }
        }
        #expect(settled > 300, "the sequence made orders")
        #expect(try await j.holdCounts(item: "b", round: 1) != HoldCounts(), "b's holds were counted")
        await j.close()
    }

    /// With nothing pending the whole file is final; a count after that reads only the rows
    /// added since, and still finds an order made from a row that was prepared all along.
    @Test func aRowPreparedAllAlongIsCountedWhenItBecomesAnOrder() async throws {
        let j = try await SQLiteJournal(path: path)
        try await prepare(j, "old")
        for i in 0..<50 { try await prepare(j, "g\(i)"); try await order(j, "g\(i)") }
        #expect(try await j.counts(item: "sku", round: 1) == (50, 1))
        for i in 50..<80 { try await prepare(j, "g\(i)"); try await order(j, "g\(i)") }
        #expect(try await j.counts(item: "sku", round: 1) == (80, 1))
        try await order(j, "old")
        #expect(try await j.counts(item: "sku", round: 1) == (81, 0))
        try await prepare(j, "new")
        #expect(try await j.counts(item: "sku", round: 1) == (81, 1))
        try await order(j, "new")
        #expect(try await j.counts(item: "sku", round: 1) == (82, 0))
        await j.close()
    }

    /// SQLite gives a new row the highest rowid still there plus one: rows discarded at the
    /// top give their rowids back, below where a count would otherwise have called every row
    /// final. The count must still find the order made on a reused rowid.
    @Test func anOrderOnARowidGivenBackIsCounted() async throws {
        let j = try await SQLiteJournal(path: path)
        try await prepare(j, "a")
        try await order(j, "a")
        try await prepare(j, "b")
        try await prepare(j, "c")
        try await j.discard(gid: "b")
        #expect(try await j.counts(item: "sku", round: 1) == (1, 1))
        try await j.discard(gid: "c")
        try await prepare(j, "d")
        try await order(j, "d")
        #expect(try await j.counts(item: "sku", round: 1) == (2, 0))
        await j.close()
    }
}
