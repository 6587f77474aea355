import FlashCore
import FlashStorage
import Foundation
import Testing
import TestSupport

/// The journal on real SQLite files.
@Suite struct SQLiteJournalTests {
    let dir: String
    var path: String { dir + "/j.db" }

    init() throws { dir = try TempDir.make(prefix: "jt") }

    func record(_ gid: String, user: String = "alice", created: Int64 = 1000) -> TxnRecord {
        TxnRecord(gid: gid, item: "sku", round: 1, user: user, requestID: "r-\(gid)", createdMs: created, updatedMs: created,
                  nextCheckMs: created + 3000)
    }

    func order(_ gid: String) -> Order {
        Order(orderID: "ord-\(gid)", gid: gid, item: "sku", round: 1, user: "alice", requestID: "r-\(gid)", createdMs: 2000)
    }

    @Test func prepareInsertsOnceThenReturnsTheExistingRow() async throws {
        let j = try await SQLiteJournal(path: path)
        let first = try await j.prepare(record("g1"))
        #expect(first.inserted)
        let second = try await j.prepare(record("g1", created: 5000))
        #expect(!second.inserted)
        #expect(second.record.createdMs == 1000)
        #expect(second.record.state == .prepared)
        await j.close()
    }

    @Test func commitOrderIsAtomicAndIdempotent() async throws {
        let j = try await SQLiteJournal(path: path)
        _ = try await j.prepare(record("g1"))
        let o = try await j.commitOrder(order("g1"), nowMs: 2000)
        #expect(o.orderID == "ord-g1")
        let again = try await j.commitOrder(order("g1"), nowMs: 3000)
        #expect(again == o)
        #expect(try await j.transaction(gid: "g1")?.state == .succeeded)
        #expect(try await j.orders(item: "sku", limit: 10).count == 1)
        #expect(try await j.counts(item: "sku", round: 1) == (1, 0))
        await j.close()
    }

    @Test func failedTransactionsNeverGetAnOrder() async throws {
        let j = try await SQLiteJournal(path: path)
        _ = try await j.prepare(record("g1"))
        try await j.commitFailure(gid: "g1", reason: .rolledBack, nowMs: 2000)
        await #expect(throws: EngineError.self) { try await j.commitOrder(order("g1"), nowMs: 3000) }
        #expect(try await j.orders(item: nil, limit: 10).isEmpty)
        // Failing again, or with another reason, changes nothing: final states are final.
        try await j.commitFailure(gid: "g1", reason: .soldOut, nowMs: 4000)
        #expect(try await j.transaction(gid: "g1")?.reason == .rolledBack)
        await j.close()
    }

    @Test func preparedRowsAndRetriesSurviveReopening() async throws {
        var j = try await SQLiteJournal(path: path)
        _ = try await j.prepare(record("g1"))
        _ = try await j.prepare(record("g2", user: "bob"))
        _ = try await j.prepare(record("g3", user: "carol"))
        _ = try await j.commitOrder(order("g2"), nowMs: 2000)
        try await j.recordRetry(gid: "g3", attempts: 2, nextCheckMs: 9000, error: "redis_unavailable: down", nowMs: 2500)
        await j.close()

        j = try await SQLiteJournal(path: path)
        let prepared = try await j.preparedTransactions()
        #expect(prepared.map(\.gid) == ["g1", "g3"])
        let g3 = try #require(prepared.last)
        #expect(g3.attempts == 2 && g3.nextCheckMs == 9000 && g3.lastError == "redis_unavailable: down")
        #expect(try await j.totals() == (1, 2))
        #expect(try await j.transactions(state: .prepared, limit: 10).count == 2)
        await j.close()
    }

    @Test func journalFileIsReadableWithTheSqliteShell() async throws {
        let j = try await SQLiteJournal(path: path)
        _ = try await j.prepare(record("g1"))
        _ = try await j.commitOrder(order("g1"), nowMs: 2000)
        await j.close()
        let out = try Shell.run(try Executables.find("sqlite3"), [path, "SELECT state, order_id FROM txns; PRAGMA journal_mode;"])
        #expect(out == "succeeded|ord-g1\nwal\n")
    }

    /// Readers must not pin the WAL: with a statement left mid-result, checkpoints can't fold the
    /// WAL back and it grows with every commit until the disk is full.
    @Test func walStaysBoundedUnderReadsAndWrites() async throws {
        let j = try await SQLiteJournal(path: path, durability: .normal)
        for i in 0..<3000 {
            _ = try await j.prepare(record("g\(i)", user: "u\(i)"))
            _ = try await j.transaction(gid: "g\(i)")
            _ = try await j.commitOrder(order("g\(i)"), nowMs: 2000)
            _ = try await j.order(gid: "g\(i)")
            if i % 100 == 0 { _ = try await j.counts(item: "sku", round: 1) }
        }
        let wal = try FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int ?? 0
        // wal_autocheckpoint is 1000 pages (4 MiB); a pinned WAL here passes 30 MiB.
        #expect(wal < 8 << 20, "WAL is \(wal) bytes")
        await j.close()
    }

    @Test func unopenableJournalIsAnEngineError() async throws {
        await #expect(throws: EngineError.self) { _ = try await SQLiteJournal(path: dir + "/missing/dir/j.db") }
    }
}
