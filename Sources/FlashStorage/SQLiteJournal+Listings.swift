import FlashCore
import SQLiteStore

/// The journal's listings: pages of orders (all, or a buyer's through `BuyerTable`) and of
/// transactions, newest first, each continuing where the last ended (`ListCursor`).
extension SQLiteJournal {
    public func orders(_ query: OrderQuery, limit: Int, before: ListCursor?) async throws -> Page<Order> {
        try await read { [index] db in
            var filter = ""
            var params: [SQLiteValue] = []
            for (column, value) in [("user", query.user), ("item", query.item), ("request_id", query.requestID),
                                    ("hold", query.hold?.rawValue)] {
                guard let value else { continue }
                filter += " AND t.\(column) = ?"
                params.append(.text(value))
            }
            if let before {
                filter += " AND (t.created_ms, t.gid) < (?, ?)"
                params += [.int(before.createdMs), .text(before.gid)]
            }
            // A buyer's orders: the rows the buyer index in memory names (the file has no index
            // on the buyer), read by rowid; CROSS JOIN keeps SQLite from walking txns_state
            // instead. The `user = ?` above drops the rows of other buyers among them.
            // Otherwise: newest purchases first, along the (state, created_ms) index.
            let source: String
            if let user = query.user {
                source = "json_each(?) AS c CROSS JOIN txns AS t ON t.rowid = c.value"
                params.insert(.text("[" + (try index.buyerCandidates(user)).map(String.init).joined(separator: ",") + "]"), at: 0)
            } else {
                source = "txns AS t"
            }
            return try db.query("""
                SELECT \(JournalSchema.orderColumnsOfT), t.created_ms FROM \(source) WHERE t.state = 'succeeded' \(filter)
                ORDER BY t.created_ms DESC, t.gid DESC LIMIT ?
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
                conditions.append("state = ?")
                params.append(.text(state.rawValue))
            }
            if let before {
                conditions.append("(created_ms, gid) < (?, ?)")
                params += [.int(before.createdMs), .text(before.gid)]
            }
            let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            return try db.query("SELECT \(JournalSchema.txnColumns) FROM txns \(filter) ORDER BY created_ms DESC, gid DESC LIMIT ?",
                                params + [.int(Int64(limit))]) { s in
                var rows: [TxnRecord] = []
                while try s.step() { rows.append(try Self.txn(s)) }
                let next = rows.count == limit ? rows.last.map { ListCursor(createdMs: $0.createdMs, gid: $0.gid) } : nil
                return Page(rows: rows, next: next)
            }
        }
    }
}
