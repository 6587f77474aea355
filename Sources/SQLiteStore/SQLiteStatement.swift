import CSQLite

/// A value bound to a `?` parameter. Everything a client sends reaches SQL through these,
/// never through string interpolation.
public enum SQLiteValue: Sendable, Equatable {
    case null
    case int(Int64)
    case text(String)
}

/// A prepared statement; finalized when it is dropped from its database's cache.
public final class SQLiteStatement {
    private let db: SQLiteDatabase
    private let stmt: OpaquePointer

    init(db: SQLiteDatabase, sql: String) throws {
        var s: OpaquePointer?
        let rc = sqlite3_prepare_v3(db.handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &s, nil)
        guard rc == SQLITE_OK, let s else {
            throw SQLiteError(code: rc, message: "prepare: \(db.lastMessage) in \(sql)")
        }
        self.db = db
        self.stmt = s
    }

    deinit { sqlite3_finalize(stmt) }

    /// Ends the statement's current use. A statement left mid-result keeps its read
    /// transaction open, and an open read transaction pins the WAL: checkpoints can't fold it
    /// back, and it grows until the disk is full. Every reader resets when it's done.
    public func reset() {
        sqlite3_reset(stmt)
        sqlite3_clear_bindings(stmt)
    }

    public func bind(_ values: [SQLiteValue]) throws {
        for (i, v) in values.enumerated() {
            let idx = Int32(i + 1)
            let rc: Int32
            switch v {
            case .null: rc = sqlite3_bind_null(stmt, idx)
            case .int(let n): rc = sqlite3_bind_int64(stmt, idx, n)
            case .text(let t): rc = sqlite3_bind_text(stmt, idx, t, -1, flashd_sqlite_transient())
            }
            guard rc == SQLITE_OK else { throw SQLiteError(code: rc, message: "bind \(idx): \(db.lastMessage)") }
        }
    }

    /// Advances one row. Returns true while a row is available, false when done.
    @discardableResult
    public func step() throws -> Bool {
        let rc = sqlite3_step(stmt)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            let err = SQLiteError(code: rc, message: db.lastMessage)
            sqlite3_reset(stmt)
            throw err
        }
    }

    /// Binds, steps to completion and resets: for INSERT/UPDATE/DELETE.
    public func run(_ values: [SQLiteValue]) throws {
        try bind(values)
        defer { sqlite3_reset(stmt) }
        while try step() {}
    }

    public func int(_ col: Int32) -> Int64 { sqlite3_column_int64(stmt, col) }
    public func isNull(_ col: Int32) -> Bool { sqlite3_column_type(stmt, col) == SQLITE_NULL }

    public func text(_ col: Int32) -> String? {
        guard sqlite3_column_type(stmt, col) != SQLITE_NULL, let p = sqlite3_column_text(stmt, col) else { return nil }
        return String(cString: p)
    }

    /// A text column's bytes in place, valid only inside `body`: for a scan of many rows that
    /// needs no String of each.
    public func withBytes<T>(_ col: Int32, _ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        let p = sqlite3_column_text(stmt, col)
        let n = Int(sqlite3_column_bytes(stmt, col))
        return try body(UnsafeRawBufferPointer(start: p.map { UnsafeRawPointer($0) }, count: p == nil ? 0 : n))
    }

}

@available(*, unavailable)
extension SQLiteStatement: Sendable {}
