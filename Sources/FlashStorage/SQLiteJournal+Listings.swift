import FlashCore
import SQLiteStore

/// The journal's listings: pages of orders (all, or a buyer's through `BuyerTable`) and of
/// transactions, newest first, each continuing where the last ended (`ListCursor`).
///
/// Newest first is rowid order, the order the journal wrote its rows in: no index on time has
/// to follow every purchase. A cursor keeps its public form (the last row's time and gid), and
/// its gid names the row through the index in memory.
extension SQLiteJournal {
    public func orders(_ query: OrderQuery, limit: Int, before: ListCursor?) async throws -> Page<Order> {
        try await read { [index] db in
            var filter = ""
            var params: [SQLiteValue] = []
            // `+`: no index for these. An item's orders are in `txns_orders`, but read through
            // it they would all be sorted for one page; walking back from the newest row finds
            // a live sale's at once.
            for (column, value) in [("user", query.user), ("item", query.item), ("request_id", query.requestID),
                                    ("hold", query.hold?.rawValue)] {
                guard let value else { continue }
                filter += " AND +t.\(column) = ?"
                params.append(.text(value))
            }
            if let before {
                let (condition, values) = try self.before(db, before, table: "t.")
                filter += " AND " + condition
                params += values
            }
            // A buyer's orders: the rows the buyer index in memory names (the file has no index
            // on the buyer), read by rowid; CROSS JOIN keeps SQLite from walking every row
            // instead. The `user = ?` above drops the rows of other buyers among them.
            // Otherwise: newest purchases first, back from the last row.
            let source: String
            if let user = query.user {
                source = "json_each(?) AS c CROSS JOIN txns AS t ON t.rowid = c.value"
                params.insert(.text("[" + (try index.buyerCandidates(user)).map(String.init).joined(separator: ",") + "]"), at: 0)
            } else {
                source = "txns AS t"
            }
            return try db.query("""
                SELECT \(JournalSchema.orderColumnsOfT), t.created_ms FROM \(source) WHERE t.state = 'succeeded' \(filter)
                ORDER BY t.rowid DESC LIMIT ?
                """, params + [.int(Int64(limit))]) { s in
                var rows: [Order] = []
                var last: ListCursor?
                while try s.step() {
                    let o = Self.order(s)
                    rows.append(o)
                    last = ListCursor(createdMs: s.int(10), gid: o.gid)
                }
                return Page(rows: rows, next: rows.count == limit ? last : nil)
            }
        }
    }

    public func transactions(state: TxnState?, limit: Int, before: ListCursor?) async throws -> Page<TxnRecord> {
        try await read { db in
            var conditions: [String] = []
            var params: [SQLiteValue] = []
            if let state {
                // Written out, not bound: SQLite uses a partial index (`txns_pending`,
                // `txns_failed`) only for a state it can see when it plans the query.
                conditions.append("state = '\(state.rawValue)'")
            }
            if let before {
                let (condition, values) = try self.before(db, before, table: "")
                conditions.append(condition)
                params += values
            }
            let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            return try db.query("SELECT \(JournalSchema.txnColumns) FROM txns \(filter) ORDER BY rowid DESC LIMIT ?",
                                params + [.int(Int64(limit))]) { s in
                var rows: [TxnRecord] = []
                while try s.step() { rows.append(try Self.txn(s)) }
                let next = rows.count == limit ? rows.last.map { ListCursor(createdMs: $0.createdMs, gid: $0.gid) } : nil
                return Page(rows: rows, next: next)
            }
        }
    }

    /// The condition for the rows older than `cursor`'s: those written before its row, found
    /// through its gid (`locate`). A cursor whose gid the journal has no row for (made by hand,
    /// or by another node), or not yet while the index loads, still pages: by its time and gid,
    /// which costs a walk past the newer rows.
    private func before(_ db: SQLiteDatabase, _ cursor: ListCursor, table t: String) throws -> (String, [SQLiteValue]) {
        do {
            if let (row, _) = try locate(db, gid: cursor.gid) { return ("\(t)rowid < ?", [.int(row)]) }
        } catch is JournalIndex.NotLoaded {}
        return ("(\(t)created_ms, \(t)gid) < (?, ?)", [.int(cursor.createdMs), .text(cursor.gid)])
    }
}
