import FlashCore
import FlashStorage
import Foundation
import Testing
import TestSupport

/// The journal's listings walk its rows newest first by rowid, and its indexes are partial, one
/// per state (`JournalSchema.indexes`). A page must continue where the last ended, each row
/// once, whatever the rows' times; a state's listing and recovery must be served by that state's
/// index, since a scan of a million rows is what the indexes are for.
@Suite struct JournalListingTests {
    let dir: String
    var path: String { dir + "/j.db" }

    init() throws { dir = try TempDir.make(prefix: "jl") }

    func record(_ gid: String, created: Int64) -> TxnRecord {
        TxnRecord(gid: gid, item: "sku", round: 1, user: "u-\(gid)", requestID: "r-\(gid)", createdMs: created,
                  updatedMs: created, nextCheckMs: created + 3000)
    }

    /// 30 purchases: every third fails, every third stays prepared, the rest become orders.
    /// Their times repeat and run backwards, so neither time nor gid gives the write order.
    func fill(_ j: SQLiteJournal) async throws -> [(gid: String, state: TxnState)] {
        var written: [(gid: String, state: TxnState)] = []
        for i in 0..<30 {
            let gid = "g\(String(i, radix: 7))-\(29 - i)"
            _ = try await j.prepare(record(gid, created: 5000 - Int64(i / 4) * 10))
            switch i % 3 {
            case 0:
                try await j.commitFailure(gid: gid, reason: .soldOut, nowMs: 6000)
                written.append((gid, .failed))
            case 1:
                written.append((gid, .prepared))
            default:
                _ = try await j.commitOrder(Order(orderID: "ord-\(gid)", gid: gid, item: "sku", round: 1, user: "u-\(gid)",
                                                  requestID: "r-\(gid)", createdMs: 6000), nowMs: 6000)
                written.append((gid, .succeeded))
            }
        }
        return written
    }

    func allPages<Row>(_ page: (ListCursor?) async throws -> Page<Row>) async throws -> (rows: [Row], pages: Int) {
        var rows: [Row] = []
        var cursor: ListCursor?
        var pages = 0
        repeat {
            let p = try await page(cursor)
            rows += p.rows
            pages += 1
            cursor = p.next
        } while cursor != nil && pages < 100
        return (rows, pages)
    }

    @Test func pagesGoNewestFirstInWriteOrderEachRowOnce() async throws {
        let j = try await SQLiteJournal(path: path)
        let written = try await fill(j)
        let newestFirst = written.reversed()

        let orders = try await allPages { try await j.orders(OrderQuery(), limit: 4, before: $0) }
        #expect(orders.rows.map(\.gid) == newestFirst.filter { $0.state == .succeeded }.map(\.gid))
        #expect(orders.pages == 3)
        let ofItem = try await allPages { try await j.orders(OrderQuery(item: "sku"), limit: 3, before: $0) }
        #expect(ofItem.rows.map(\.gid) == orders.rows.map(\.gid))

        for state in [TxnState.prepared, .failed, .succeeded] {
            let txns = try await allPages { try await j.transactions(state: state, limit: 3, before: $0) }
            #expect(txns.rows.map(\.gid) == newestFirst.filter { $0.state == state }.map(\.gid), "\(state)")
            #expect(txns.rows.allSatisfy { $0.state == state })
        }
        let every = try await allPages { try await j.transactions(state: nil, limit: 7, before: $0) }
        #expect(every.rows.map(\.gid) == newestFirst.map(\.gid))
        await j.close()
    }

    /// A cursor whose gid has no row here (made by hand, or by another node's flashd) still
    /// pages, by its time: nothing newer than it, nothing twice.
    @Test func aCursorOfAnUnknownGidPagesByTime() async throws {
        let j = try await SQLiteJournal(path: path)
        for i in 0..<6 {
            _ = try await j.prepare(record("t\(i)", created: 1000 + Int64(i) * 100))
        }
        let page = try await j.transactions(state: .prepared, limit: 10, before: ListCursor(createdMs: 1300, gid: "z-elsewhere"))
        #expect(page.rows.map(\.gid) == ["t3", "t2", "t1", "t0"])
        #expect(page.next == nil)
        await j.close()
    }

    /// A journal an older flashd left, with its indexes on (item, round, state) and (state,
    /// created_ms), opens with the partial ones instead, and its queries by state use them.
    @Test func theOldIndexesGiveWayToOnePerState() async throws {
        let first = try await SQLiteJournal(path: path)
        _ = try await fill(first)
        await first.close()
        let sqlite3 = try Executables.find("sqlite3")
        _ = try Shell.run(sqlite3, [path, """
            CREATE INDEX txns_item ON txns(item, round, state); CREATE INDEX txns_state ON txns(state, created_ms);
            DROP INDEX txns_orders; DROP INDEX txns_pending; DROP INDEX txns_failed;
            """])
        let j = try await SQLiteJournal(path: path)
        #expect(try await j.preparedTransactions().count == 10)
        #expect(try await j.counts(item: "sku", round: 1) == (10, 10))
        await j.close()
        let indexes = try Shell.run(sqlite3, [path, "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'txns' ORDER BY name"])
        #expect(indexes.split(separator: "\n") == ["txns_failed", "txns_hold_intent", "txns_orders", "txns_pending"])
        // The plans of recovery's query, a state's page, and a sale's count from where the last
        // one stopped (`SaleOrderCounts`).
        for (query, index) in [("SELECT gid FROM txns WHERE state = 'prepared' ORDER BY created_ms", "txns_pending"),
                               ("SELECT gid FROM txns WHERE state = 'failed' ORDER BY rowid DESC LIMIT 5", "txns_failed"),
                               ("SELECT COUNT(*) FROM txns WHERE item = 'sku' AND round = 1 AND state = 'succeeded' AND rowid >= 5",
                                "txns_orders (item=? AND round=? AND rowid>?)")] {
            let plan = try Shell.run(sqlite3, [path, "EXPLAIN QUERY PLAN " + query])
            #expect(plan.contains("USING INDEX \(index)") || plan.contains("USING COVERING INDEX \(index)")
                    || plan.contains("USING \(index)"), "\(query): \(plan)")
        }
    }
}
