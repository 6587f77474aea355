import FlashCore
import FlashStorage
import Foundation
import Testing
import TestSupport

/// Schema 6 finds rows through an index in memory that a journal rebuilds in the background at
/// open (`JournalIndexLoader`). What a restart does before that ends must still be right:
/// recovery settles its prepared rows at once, a retry of an old order waits and finds it
/// (never a second row), and the totals add up before and after.
@Suite struct JournalIndexLoadTests {
    let dir: String
    var path: String { dir + "/j.db" }

    init() throws { dir = try TempDir.make(prefix: "jil") }

    func record(_ gid: String) -> TxnRecord {
        TxnRecord(gid: "n-\(gid)", item: "sku", round: 1, user: gid, requestID: "r", createdMs: 1000, updatedMs: 1000, nextCheckMs: 4000)
    }

    func order(_ gid: String) -> Order {
        Order(orderID: "ord-n-\(gid)", gid: "n-\(gid)", item: "sku", round: 1, user: gid, requestID: "r", createdMs: 2000)
    }

    @Test func recoveryRunsAndRetriesWaitWhileTheIndexLoads() async throws {
        let j = try await SQLiteJournal(path: path)
        for g in (0..<200).map({ "old\($0)" }) {
            _ = try await j.prepare(record(g))
            _ = try await j.commitOrder(order(g), nowMs: 2000)
        }
        _ = try await j.prepare(record("pending"))
        _ = try await j.prepare(record("doomed"))
        await j.close()

        let started = ContinuousClock.now
        let again = try await SQLiteJournal(path: path, indexDelay: .milliseconds(800))
        // Recovery's rows are in the index from the start: no wait for the load.
        #expect(try await again.commitOrder(order("pending"), nowMs: 3000).inserted)
        try await again.commitFailure(gid: "n-doomed", reason: .rolledBack, nowMs: 3000)
        // Totals while loading are counted in the file, and already include both.
        #expect(try await again.totals() == (201, 0))
        #expect(ContinuousClock.now - started < .milliseconds(700), "recovery waited for the index")

        // A retry of an old order must find it: it waits for the load rather than insert a row.
        let retry = try await again.prepare(record("old7"))
        #expect(!retry.inserted && retry.record.state == .succeeded)
        #expect(ContinuousClock.now - started >= .milliseconds(750))
        #expect(try await again.order(gid: "n-old150")?.orderID == "ord-n-old150")
        // The running totals: the loader's snapshot plus what changed while it read.
        #expect(try await again.totals() == (201, 0))
        #expect(try await again.prepare(record("new")).inserted)
        #expect(try await again.totals() == (201, 1))
        await again.close()
    }

    /// A buyer's orders come from the index in memory (the file has none on the buyer): after a
    /// restart the listing waits for the load, then finds the orders the file held and those
    /// made since, newest first, and never another buyer's, a failed attempt, or a row whose
    /// batch rolled back.
    @Test func aBuyersOrdersAreListedFromTheLoadedIndex() async throws {
        let j = try await SQLiteJournal(path: path)
        func buy(_ journal: SQLiteJournal, _ gid: String, user: String, at ms: Int64) async throws {
            var r = record(gid)
            r.user = user
            r.createdMs = ms
            _ = try await journal.prepare(r)
            var o = order(gid)
            o.user = user
            _ = try await journal.commitOrder(o, nowMs: ms)
        }
        for i in 0..<300 { try await buy(j, "b\(i)", user: i % 3 == 0 ? "carol" : "other\(i)", at: 1000 + Int64(i)) }
        var failed = record("lost")
        failed.user = "carol"
        _ = try await j.prepare(failed)
        try await j.commitFailure(gid: "n-lost", reason: .soldOut, nowMs: 1500)
        await j.close()

        let again = try await SQLiteJournal(path: path, indexDelay: .milliseconds(500))
        let started = ContinuousClock.now
        let page = try await again.orders(OrderQuery(user: "carol"), limit: 500, before: nil)
        #expect(ContinuousClock.now - started >= .milliseconds(400), "listed before the index was loaded")
        #expect(page.rows.count == 100 && page.rows.allSatisfy { $0.user == "carol" })
        #expect(page.rows.map(\.gid).first == "n-b297" && page.rows.map(\.gid).last == "n-b0")
        // An order made after the restart joins them; pages continue where they ended.
        try await buy(again, "late", user: "carol", at: 9000)
        let first = try await again.orders(OrderQuery(user: "carol"), limit: 60, before: nil)
        #expect(first.rows.first?.gid == "n-late" && first.rows.count == 60)
        let rest = try await again.orders(OrderQuery(user: "carol"), limit: 60, before: first.next)
        #expect(rest.rows.count == 41 && rest.next == nil)
        #expect(Set(first.rows.map(\.gid) + rest.rows.map(\.gid)).count == 101)
        #expect(try await again.orders(OrderQuery(item: "sku", user: "other1"), limit: 10, before: nil).rows.map(\.gid) == ["n-b1"])
        #expect(try await again.orders(OrderQuery(user: "nobody"), limit: 10, before: nil).rows.isEmpty)
        await again.close()
    }
}
