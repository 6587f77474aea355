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
}
