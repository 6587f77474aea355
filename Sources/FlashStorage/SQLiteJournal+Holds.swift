import FlashCore
import SQLiteStore

/// Checkout holds in the journal (G7): an order's hold moves held → confirming/releasing (the
/// intent, before Redis is asked) → confirmed/released (Redis' verdict). A decided hold never
/// moves again, so a late or repeated step can't undo a verdict.
extension SQLiteJournal {
    public func setHold(gid: String, to state: HoldState, cause: ReleaseCause?, nowMs: Int64) async throws -> Order? {
        try await call { db in
            // Back to held only from a release intent (an expiry Redis said was early); every
            // other move starts from an undecided hold. ORs, not an IN list of three: SQLite
            // would build a table of the list for each run (`JournalSchema.listChecks`).
            let from = state == .held ? "hold = 'releasing'" : "(hold = 'held' OR hold = 'confirming' OR hold = 'releasing')"
            guard let row = try self.orderRow(db, gid: gid) else { return nil }
            try db.statement("UPDATE txns SET hold = ?, release_cause = ?, updated_ms = ? WHERE rowid = ? AND \(from)")
                .run([.text(state.rawValue), Self.optional(cause?.rawValue), .int(nowMs), .int(row)])
            // A verdict is news outside; an intent, or back to held, is not (it showed held already).
            if db.changes == 1, state.isFinal {
                try Self.appendChange(db, gid: gid, row: row, state: DeliveredState(hold: state), atMs: nowMs)
            }
            return try self.loadOrder(db, gid: gid)
        }
    }

    public func holdIntents(limit: Int) async throws -> [Order] {
        try await read { db in
            // Along txns_hold_intent: only rows with an intent are in it.
            try Self.orders(db, where: "hold IN ('confirming', 'releasing')", [.int(Int64(limit))])
        }
    }

    public func holdCounts(item: String, round: Int) async throws -> HoldCounts {
        try await read { [saleCounts] db in
            try saleCounts.holds(item: item, round: round) {
                try db.query("""
                    SELECT hold, COUNT(*) FROM txns WHERE item = ? AND round = ? AND state = 'succeeded' AND hold IS NOT NULL GROUP BY hold
                    """, [.text(item), .int(Int64(round))]) { s in
                    var counts = HoldCounts()
                    while try s.step() {
                        let n = Int(s.int(1))
                        switch HoldState(rawValue: s.text(0) ?? "") {
                        case .held: counts.held += n
                        case .confirmed: counts.confirmed += n
                        case .released: counts.released += n
                        case .confirming, .releasing: counts.deciding += n
                        case nil: break
                        }
                    }
                    return counts
                }
            }
        }
    }

    private static func orders(_ db: SQLiteDatabase, where condition: String, _ params: [SQLiteValue]) throws -> [Order] {
        // No `state = 'succeeded'`: only orders have a hold, and that term would lead the
        // planner to the state index instead of txns_hold_intent.
        try db.query("SELECT \(JournalSchema.orderColumns) FROM txns WHERE \(condition) LIMIT ?", params) { s in
            var rows: [Order] = []
            while try s.step() { rows.append(order(s)) }
            return rows
        }
    }
}
