import FlashCore
import SQLiteStore

/// The journal's rows: found through the index in memory (schema 6 has no gid key), read into
/// records and orders, and the bits of the file that aren't rows (the gid key, the totals).
extension SQLiteJournal {
    /// The totals the file keeps; counted once when it has none (a journal from before schema 6).
    static func readTotals(_ db: SQLiteDatabase, into index: JournalIndex) throws {
        let kept = try db.query("""
            SELECT (SELECT value FROM meta WHERE key = 'orders_total'), (SELECT value FROM meta WHERE key = 'pending_total')
            """) { s in
            try s.step() && !s.isNull(0) && !s.isNull(1) ? (Int(s.int(0)), Int(s.int(1))) : nil
        }
        if let (orders, pending) = kept { return index.setTotals(orders: orders, pending: pending) }
        let orders = Int(try db.scalarInt("SELECT COUNT(*) FROM txns WHERE state = 'succeeded'"))
        let pending = Int(try db.scalarInt("SELECT COUNT(*) FROM txns WHERE state = 'prepared'"))
        try JournalIndex.writeTotals(db, orders: orders, pending: pending)
        index.setTotals(orders: orders, pending: pending)
    }

    static func gidKey(_ db: SQLiteDatabase) throws -> (UInt64, UInt64) {
        func parse(_ hex: String?) -> (UInt64, UInt64)? {
            guard let hex, hex.count == 32, let a = UInt64(hex.prefix(16), radix: 16), let b = UInt64(hex.suffix(16), radix: 16) else { return nil }
            return (a, b)
        }
        let read = { try db.query("SELECT value FROM meta WHERE key = 'gid_key'") { s in try s.step() ? s.text(0) : nil } }
        if let key = parse(try read()) { return key }
        var g = SystemRandomNumberGenerator()
        let hex = (g.next() as UInt64).hex16 + (g.next() as UInt64).hex16
        try db.statement("INSERT INTO meta(key, value) VALUES ('gid_key', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value")
            .run([.text(hex)])
        guard let key = parse(try read()) else { throw SQLiteError(code: 1, message: "gid_key unreadable after writing it") }
        return key
    }

    /// The row of `gid` and its state, through the index; nil when the journal has none. Reads
    /// the state only: the write path needs no more, and a whole record costs a String a column.
    func locate(_ db: SQLiteDatabase, gid: String) throws -> (row: Int64, state: TxnState)? {
        func at(_ row: Int64) throws -> TxnState? {
            try db.query("SELECT state FROM txns WHERE rowid = ? AND gid = ?", [.int(row), .text(gid)]) { s in
                try s.step() ? s.withBytes(0) { Self.state($0) } : nil
            }
        }
        let complete = index.isComplete
        let c = index.candidates(gid)
        if let row = c.first, let state = try at(row) { return (row, state) }
        for row in c.more { if let state = try at(row) { return (row, state) } }
        // Read before the lookup: a row the loader adds after it was looked for is not missed.
        if !complete { throw JournalIndex.NotLoaded() }
        return nil
    }

    /// A state column's text, by its first letter (the CHECK allows only the three).
    static func state(_ text: UnsafeRawBufferPointer) -> TxnState {
        switch text.first {
        case UInt8(ascii: "p"): .prepared
        case UInt8(ascii: "s"): .succeeded
        default: .failed
        }
    }

    /// The row of `gid`, when it is an order.
    func orderRow(_ db: SQLiteDatabase, gid: String) throws -> Int64? {
        guard let (row, state) = try locate(db, gid: gid), state == .succeeded else { return nil }
        return row
    }

    func loadTxn(_ db: SQLiteDatabase, gid: String) throws -> TxnRecord? {
        guard let (row, _) = try locate(db, gid: gid) else { return nil }
        return try db.query("SELECT \(JournalSchema.txnColumns) FROM txns WHERE rowid = ?", [.int(row)]) { s in
            try s.step() ? try Self.txn(s) : nil
        }
    }

    func loadOrder(_ db: SQLiteDatabase, gid: String) throws -> Order? {
        guard let row = try orderRow(db, gid: gid) else { return nil }
        return try db.query("SELECT \(JournalSchema.orderColumns) FROM txns WHERE rowid = ?", [.int(row)]) { s in
            try s.step() ? Self.order(s) : nil
        }
    }

    static func txn(_ s: SQLiteStatement) throws -> TxnRecord {
        guard let state = TxnState(rawValue: s.text(5) ?? "") else {
            throw SQLiteError(code: 1, message: "unknown state \(s.text(5) ?? "NULL") in journal")
        }
        return TxnRecord(gid: s.text(0) ?? "", item: s.text(1) ?? "", round: Int(s.int(2)), user: s.text(3) ?? "",
                         requestID: s.text(4) ?? "", state: state, reason: s.text(6).flatMap(FailureReason.init(rawValue:)),
                         orderID: s.text(7), createdMs: s.int(8), updatedMs: s.int(9), nextCheckMs: s.int(10),
                         attempts: Int(s.int(11)), lastError: s.text(12))
    }

    /// An order from `orderColumns`, starting at column `i`.
    static func order(_ s: SQLiteStatement, from i: Int32 = 0) -> Order {
        Order(orderID: s.text(i) ?? "", gid: s.text(i + 1) ?? "", item: s.text(i + 2) ?? "", round: Int(s.int(i + 3)),
              user: s.text(i + 4) ?? "", requestID: s.text(i + 5) ?? "", createdMs: s.int(i + 6),
              hold: s.text(i + 7).flatMap(HoldState.init(rawValue:)), expiresMs: s.isNull(i + 8) ? nil : s.int(i + 8),
              releaseCause: s.text(i + 9).flatMap(ReleaseCause.init(rawValue:)))
    }

    /// The outbox row of a change, in the caller's transaction: the change and its sequence
    /// commit together or not at all.
    static func appendChange(_ db: SQLiteDatabase, gid: String, row: Int64, state: DeliveredState, atMs: Int64) throws {
        try db.statement("INSERT INTO changes(gid, txn, state, at_ms) VALUES (?, ?, ?, ?)")
            .run([.text(gid), .int(row), .text(state.rawValue), .int(atMs)])
    }

    static func optional(_ text: String?) -> SQLiteValue { text.map(SQLiteValue.text) ?? .null }
}
