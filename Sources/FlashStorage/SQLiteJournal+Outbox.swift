import FlashCore
import SQLiteStore

/// The outbox (G8): the feed and the deliverer read `changes` on the reader's connection, so
/// neither ever queues behind purchases; only the deliverer's mark is a write.
extension SQLiteJournal {
    public func changes(after seq: Int64, limit: Int) async throws -> [OrderChange] {
        try await read { db in
            // Along the primary key, then one row lookup by rowid per change.
            try db.query("""
                SELECT c.seq, c.state, c.at_ms, \(JournalSchema.orderColumnsOfT)
                FROM changes c JOIN txns t ON t.rowid = c.txn
                WHERE c.seq > ? ORDER BY c.seq LIMIT ?
                """, [.int(seq), .int(Int64(limit))]) { s in
                var rows: [OrderChange] = []
                while try s.step() {
                    guard let state = DeliveredState(rawValue: s.text(1) ?? "") else {
                        throw SQLiteError(code: 1, message: "unknown change state \(s.text(1) ?? "NULL") in the outbox")
                    }
                    rows.append(OrderChange(seq: s.int(0), state: state, atMs: s.int(2), order: Self.order(s, from: 3)))
                }
                return rows
            }
        }
    }

    public func newestChange() async throws -> Int64 {
        try await read { db in try db.scalarInt("SELECT COALESCE(MAX(seq), 0) FROM changes") }
    }

    public func outboxLag() async throws -> OutboxLag {
        try await read { db in
            let delivered = try db.scalarInt("SELECT COALESCE(MAX(CAST(value AS INTEGER)), 0) FROM meta WHERE key = 'delivered_seq'")
            let newest = try db.scalarInt("SELECT COALESCE(MAX(seq), 0) FROM changes")
            let oldest = try db.query("SELECT at_ms FROM changes WHERE seq > ? ORDER BY seq LIMIT 1", [.int(delivered)]) { s in
                try s.step() ? s.int(0) : nil
            }
            return OutboxLag(delivered: delivered, newest: newest, oldestUndeliveredMs: oldest)
        }
    }

    public func markDelivered(upTo seq: Int64) async throws {
        try await call { db in
            // Never back: a late mark from a batch that was sent again must not undo a newer one.
            try db.statement("""
                INSERT INTO meta(key, value) VALUES ('delivered_seq', ?)
                ON CONFLICT(key) DO UPDATE SET value = excluded.value WHERE CAST(value AS INTEGER) < CAST(excluded.value AS INTEGER)
                """).run([.text(String(seq))])
        }
    }
}
