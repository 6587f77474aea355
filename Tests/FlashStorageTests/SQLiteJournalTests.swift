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
        let (o, inserted) = try await j.commitOrder(order("g1"), nowMs: 2000)
        #expect(o.orderID == "ord-g1" && inserted)
        let again = try await j.commitOrder(order("g1"), nowMs: 3000)
        #expect(again.order == o && !again.inserted)
        #expect(try await j.transaction(gid: "g1")?.state == .succeeded)
        #expect(try await j.orders(item: "sku", limit: 10).count == 1)
        #expect(try await j.counts(item: "sku", round: 1) == (1, 0))
        await j.close()
    }

    @Test func failedTransactionsNeverGetAnOrder() async throws {
        let j = try await SQLiteJournal(path: path)
        _ = try await j.prepare(record("g1"))
        try await j.commitFailure(gid: "g1", reason: .rolledBack, nowMs: 2000)
        // A logic fault, not the disk's: 500 internal, not a 503 that invites a retry.
        do {
            _ = try await j.commitOrder(order("g1"), nowMs: 3000)
            Issue.record("an order was committed for a failed transaction")
        } catch let e as EngineError {
            #expect(e.code == .internalError, "\(e)")
        }
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

    /// Group commit: many concurrent writers share commits, and every acknowledged write is in
    /// the file when it is reopened (no reply before its batch committed).
    @Test func concurrentWritesShareCommitsAndAllLand() async throws {
        let j = try await SQLiteJournal(path: path)
        let n = 400
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<n {
                group.addTask {
                    _ = try await j.prepare(record("g\(i)", user: "u\(i)"))
                    if i % 2 == 0 {
                        _ = try await j.commitOrder(order("g\(i)"), nowMs: 2000)
                    } else {
                        try await j.commitFailure(gid: "g\(i)", reason: .soldOut, nowMs: 2000)
                    }
                }
            }
            try await group.waitForAll()
        }
        let stats = j.groupCommitStatistics
        #expect(stats.calls >= 2 * n)
        #expect(stats.commits < stats.calls, "no two calls ever shared a commit: \(stats)")
        await j.close()
        let reopened = try await SQLiteJournal(path: path)
        #expect(try await reopened.totals() == (n / 2, 0))
        #expect(try await reopened.transactions(state: .failed, limit: 1000).count == n / 2)
        await reopened.close()
    }

    /// A call that fails inside a batch must not take the others down with it, nor commit half
    /// of itself: the batch is rolled back and each call runs again alone.
    @Test func aFailingCallInABatchFailsAloneAndCommitsNothingOfItself() async throws {
        let j = try await SQLiteJournal(path: path)
        _ = try await j.prepare(record("bad"))
        try await j.commitFailure(gid: "bad", reason: .rolledBack, nowMs: 1500)
        let results = await withTaskGroup(of: (String, Bool).self) { group in
            for i in 0..<50 {
                group.addTask {
                    do {
                        _ = try await j.prepare(record("ok\(i)", user: "u\(i)"))
                        _ = try await j.commitOrder(order("ok\(i)"), nowMs: 2000)
                        return ("ok\(i)", true)
                    } catch {
                        return ("ok\(i)", false)
                    }
                }
            }
            group.addTask {
                // Refused: the transaction already failed (it has its rollback marker).
                (try? await j.commitOrder(order("bad"), nowMs: 2000)) == nil ? ("bad", false) : ("bad", true)
            }
            var all: [(String, Bool)] = []
            for await r in group { all.append(r) }
            return all
        }
        #expect(results.filter { $0.0 != "bad" }.allSatisfy { $0.1 })
        #expect(results.first { $0.0 == "bad" }?.1 == false)
        #expect(try await j.transaction(gid: "bad")?.state == .failed)
        #expect(try await j.order(gid: "bad") == nil)
        #expect(try await j.totals() == (50, 0))
        // The buyers' orders in memory followed the rollback and the calls run again alone:
        // each buyer lists its one order, once.
        for i in [0, 17, 49] {
            #expect(try await j.orders(OrderQuery(user: "u\(i)"), limit: 10, before: nil).rows.map(\.gid) == ["ok\(i)"])
        }
        await j.close()
        // The totals the file keeps went with the commits, not with the rolled-back batch: a
        // reopen reads them (no count) and they match the rows.
        let again = try await SQLiteJournal(path: path)
        #expect(try await again.totals() == (50, 0))
        await again.close()
        let counted = try Shell.run(try Executables.find("sqlite3"), [path, "SELECT (SELECT COUNT(*) FROM orders) || ' ' || "
                                                                      + "(SELECT value FROM meta WHERE key = 'orders_total')"])
        #expect(counted == "50 50\n")
    }

    /// A journal written by version 1 (orders in a table of their own) opens as version 2 with
    /// every order, every pending transaction and the `orders` view for the sqlite3 shell.
    @Test func aVersion1JournalIsMigrated() async throws {
        let v1 = """
            CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE txns(gid TEXT PRIMARY KEY, item TEXT NOT NULL, round INTEGER NOT NULL, user TEXT NOT NULL,
              request_id TEXT NOT NULL, state TEXT NOT NULL CHECK (state IN ('prepared', 'succeeded', 'failed')), reason TEXT,
              order_id TEXT, created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL, next_check_ms INTEGER NOT NULL,
              attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT);
            CREATE INDEX txns_prepared ON txns(item, round) WHERE state = 'prepared';
            CREATE INDEX txns_state ON txns(state, created_ms);
            CREATE TABLE orders(order_id TEXT PRIMARY KEY, gid TEXT NOT NULL UNIQUE REFERENCES txns(gid), item TEXT NOT NULL,
              round INTEGER NOT NULL, user TEXT NOT NULL, request_id TEXT NOT NULL, created_ms INTEGER NOT NULL);
            CREATE INDEX orders_item ON orders(item, round);
            INSERT INTO meta VALUES ('schema_version', '1');
            INSERT INTO txns VALUES ('g1', 'sku', 1, 'alice', 'r-g1', 'succeeded', NULL, 'ord-g1', 1000, 2000, 4000, 0, NULL);
            INSERT INTO orders VALUES ('ord-g1', 'g1', 'sku', 1, 'alice', 'r-g1', 1500);
            INSERT INTO txns VALUES ('g2', 'sku', 1, 'bob', 'r-g2', 'prepared', NULL, NULL, 1100, 1100, 4100, 0, NULL);
            """
        _ = try Shell.run(try Executables.find("sqlite3"), [path, v1])
        let j = try await SQLiteJournal(path: path)
        #expect(try await j.order(gid: "g1") == Order(orderID: "ord-g1", gid: "g1", item: "sku", round: 1, user: "alice",
                                                      requestID: "r-g1", createdMs: 1500))
        #expect(try await j.preparedTransactions().map(\.gid) == ["g2"])
        #expect(try await j.counts(item: "sku", round: 1) == (1, 1))
        await j.close()
        let out = try Shell.run(try Executables.find("sqlite3"), [path, "SELECT order_id, created_ms FROM orders; "
                                                                  + "SELECT value FROM meta WHERE key = 'schema_version';"])
        #expect(out == "ord-g1|1500\n6\n")
        // The gid key was made at the first open and stays: reopened, the same key.
        let key = try Shell.run(try Executables.find("sqlite3"), [path, "SELECT value FROM meta WHERE key = 'gid_key';"])
        #expect(key.trimmingCharacters(in: .whitespacesAndNewlines).count == 32)
        let again = try await SQLiteJournal(path: path)
        #expect(again.gidKey == j.gidKey)
        await again.close()
    }

    /// Version 2 → 3 added the buyer index (in memory now, `BuyerTable`: a file's is dropped at
    /// open, here one an older flashd made), 3 → 4 the hold columns and their index; old
    /// orders stay final, and a buyer's are listed.
    @Test func aVersion2JournalGainsHoldsAndListsItsBuyers() async throws {
        let j = try await SQLiteJournal(path: path)
        _ = try await j.prepare(record("g1", user: "alice"))
        _ = try await j.commitOrder(Order(orderID: "ord-g1", gid: "g1", item: "sku", round: 1, user: "alice", requestID: "r-g1",
                                          createdMs: 1500), nowMs: 1500)
        await j.close()
        _ = try Shell.run(try Executables.find("sqlite3"), [path, """
            CREATE INDEX txns_user ON txns(user, created_ms) WHERE state = 'succeeded';
            DROP INDEX txns_hold_intent; ALTER TABLE txns DROP COLUMN hold; ALTER TABLE txns DROP COLUMN expires_ms;
            ALTER TABLE txns DROP COLUMN release_cause; DROP TABLE changes; UPDATE meta SET value = '2' WHERE key = 'schema_version';
            """])
        let again = try await SQLiteJournal(path: path)
        #expect(try await again.order(gid: "g1")?.hold == nil)
        #expect(try await again.holdIntents(limit: 10).isEmpty)
        #expect(try await again.orders(OrderQuery(user: "alice"), limit: 10, before: nil).rows.map(\.gid) == ["g1"])
        await again.close()
        let out = try Shell.run(try Executables.find("sqlite3"), [path, "SELECT value FROM meta WHERE key = 'schema_version'; "
                                                                  + "EXPLAIN QUERY PLAN SELECT gid FROM txns WHERE state = 'succeeded' "
                                                                  + "AND user = 'alice' ORDER BY created_ms DESC; "
                                                                  + "EXPLAIN QUERY PLAN SELECT gid FROM txns WHERE "
                                                                  + "hold IN ('confirming', 'releasing');"])
        #expect(out.hasPrefix("6\n") && !out.contains("txns_user") && out.contains("txns_hold_intent"), "\(out)")
    }

    /// The outbox (G8): a change per order made and per verdict, in commit order, none for an
    /// intent or a replayed commit; the delivery mark never moves back; the lag is counted.
    @Test func everyOrderAndVerdictGetsItsSequenceInTheSameCommit() async throws {
        let j = try await SQLiteJournal(path: path)
        for (gid, hold) in [("a", HoldState?.none), ("b", .held), ("c", .held)] {
            _ = try await j.prepare(record(gid, user: gid))
            var o = order(gid)
            o.hold = hold
            o.expiresMs = hold == nil ? nil : 9000
            _ = try await j.commitOrder(o, nowMs: 100)
            _ = try await j.commitOrder(o, nowMs: 200)  // a replay: no second change
        }
        _ = try await j.setHold(gid: "b", to: .confirming, cause: nil, nowMs: 300)  // an intent: not news
        _ = try await j.setHold(gid: "b", to: .confirmed, cause: nil, nowMs: 310)
        _ = try await j.setHold(gid: "b", to: .confirmed, cause: nil, nowMs: 320)  // already decided: nothing
        _ = try await j.setHold(gid: "c", to: .released, cause: .expired, nowMs: 400)
        let all = try await j.changes(after: 0, limit: 100)
        #expect(all.map(\.seq) == [1, 2, 3, 4, 5])
        #expect(all.map { "\($0.order.gid) \($0.state.rawValue) \($0.atMs)" } == ["a final 100", "b held 100", "c held 100",
                                                                                 "b confirmed 310", "c released 400"])
        // Each change carries the order as it is now.
        #expect(all[1].order.hold == .confirmed && all[2].order.releaseCause == .expired)
        #expect(try await j.changes(after: 3, limit: 1).map(\.seq) == [4])
        #expect(try await j.newestChange() == 5)
        #expect(try await j.outboxLag() == OutboxLag(delivered: 0, newest: 5, oldestUndeliveredMs: 100))
        try await j.markDelivered(upTo: 4)
        try await j.markDelivered(upTo: 2)  // a late mark never moves it back
        #expect(try await j.outboxLag() == OutboxLag(delivered: 4, newest: 5, oldestUndeliveredMs: 400))
        await j.close()
    }

    /// A version 4 journal gains the outbox, filled with its orders in the order they were
    /// made, each in the state it has now.
    @Test func aVersion4JournalGetsItsOrdersIntoTheOutbox() async throws {
        let j = try await SQLiteJournal(path: path)
        for (gid, made) in [("late", Int64(900)), ("early", 100)] {
            _ = try await j.prepare(record(gid, user: gid))
            var o = order(gid)
            o.createdMs = made
            o.hold = .held
            _ = try await j.commitOrder(o, nowMs: made)
        }
        _ = try await j.setHold(gid: "late", to: .released, cause: .cancelled, nowMs: 950)
        _ = try await j.prepare(record("pending", user: "p"))
        await j.close()
        _ = try Shell.run(try Executables.find("sqlite3"), [path, "DROP TABLE changes; UPDATE meta SET value = '4' WHERE key = 'schema_version';"])
        let again = try await SQLiteJournal(path: path)
        #expect(try await again.changes(after: 0, limit: 10).map { "\($0.seq) \($0.order.gid) \($0.state.rawValue)" }
                == ["1 early held", "2 late released"])
        await again.close()
    }

    /// A hold moves held → intent → verdict and never back from a verdict; due holds and
    /// intents are found, by hold state counts too.
    @Test func aHoldMovesForwardOnly() async throws {
        let j = try await SQLiteJournal(path: path)
        for (gid, expires) in [("h1", Int64(1000)), ("h2", 2000), ("h3", 9000)] {
            _ = try await j.prepare(record(gid, user: gid))
            _ = try await j.commitOrder(Order(orderID: "ord-\(gid)", gid: gid, item: "sku", round: 1, user: gid, requestID: "r",
                                              createdMs: 10, hold: .held, expiresMs: expires), nowMs: 10)
        }
        // The history the hold schedule is rebuilt from carries each order's hold and expiry.
        let history = try await j.history(after: 0, limit: 10).rows
        #expect(history.map(\.hold) == [.held, .held, .held] && history.map(\.expiresMs) == [1000, 2000, 9000])
        #expect(try await j.setHold(gid: "h1", to: .releasing, cause: .cancelled, nowMs: 20)?.hold == .releasing)
        #expect(try await j.holdIntents(limit: 10).map(\.gid) == ["h1"])
        #expect(try await j.setHold(gid: "h1", to: .released, cause: .cancelled, nowMs: 30)?.hold == .released)
        // A verdict stands: neither a late confirm nor a step back to held moves it.
        #expect(try await j.setHold(gid: "h1", to: .confirmed, cause: nil, nowMs: 40)?.hold == .released)
        #expect(try await j.setHold(gid: "h1", to: .held, cause: nil, nowMs: 40)?.hold == .released)
        #expect(try await j.setHold(gid: "h2", to: .confirming, cause: nil, nowMs: 50)?.hold == .confirming)
        // Back to held only from a release intent (an early expiry).
        #expect(try await j.setHold(gid: "h2", to: .held, cause: nil, nowMs: 50)?.hold == .confirming)
        #expect(try await j.setHold(gid: "h2", to: .confirmed, cause: nil, nowMs: 60)?.hold == .confirmed)
        #expect(try await j.holdCounts(item: "sku", round: 1) == HoldCounts(held: 1, confirmed: 1, released: 1))
        #expect(try await j.orders(OrderQuery(hold: .released), limit: 10, before: nil).rows.map(\.gid) == ["h1"])
        let released = try #require(try await j.order(gid: "h1"))
        #expect(released.releaseCause == .cancelled && released.expiresMs == 1000)
        await j.close()
    }

    /// The sold-out gate reads the journal's history a page at a time, in write order.
    @Test func historyPagesThroughEveryRowOnce() async throws {
        let j = try await SQLiteJournal(path: path)
        for i in 0..<25 { _ = try await j.prepare(record("g\(i)", user: "u\(i)")) }
        var seen: [String] = []
        var after: Int64 = 0
        while true {
            let page = try await j.history(after: after, limit: 10)
            seen += page.rows.map(\.gid)
            guard let next = page.next else { break }
            after = next
        }
        #expect(seen == (0..<25).map { "g\($0)" })
        await j.close()
    }

    @Test func unopenableJournalIsAnEngineError() async throws {
        await #expect(throws: EngineError.self) { _ = try await SQLiteJournal(path: dir + "/missing/dir/j.db") }
    }
}
