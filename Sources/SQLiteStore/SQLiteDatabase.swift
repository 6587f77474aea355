import CSQLite

/// One SQLite connection. Like GRDB's `Database`: it must be closed explicitly, it is not
/// Sendable, and its owner runs every call on one serial thread.
public final class SQLiteDatabase {
    let handle: OpaquePointer
    private var statements: [String: SQLiteStatement] = [:]
    private var closed = false

    /// `vfs`: a registered VFS by name (`PowerCutVFS`), nil for SQLite's default.
    public init(path: String, vfs: String? = nil) throws {
        var db: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, vfs)
        guard rc == SQLITE_OK, let db else {
            let msg = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            if let db { sqlite3_close_v2(db) }
            throw SQLiteError(code: rc, message: "open \(path): \(msg)")
        }
        self.handle = db
        sqlite3_extended_result_codes(db, 1)
    }

    deinit {
        assert(closed, "SQLiteDatabase deinitialised without close()")
        if !closed { close() }
    }

    public func close() {
        guard !closed else { return }
        statements.removeAll()  // finalizes them before the connection goes
        sqlite3_close_v2(handle)
        closed = true
    }

    /// Runs one or more statements that take no parameters and return no rows we need.
    public func execute(_ sql: String) throws {
        try checkOpen()
        var err: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &err)
        if rc != SQLITE_OK {
            let msg = err.map { String(cString: $0) } ?? lastMessage
            sqlite3_free(err)
            throw SQLiteError(code: rc, message: msg)
        }
    }

    /// A prepared statement, cached by its SQL text so the hot path never re-parses.
    public func statement(_ sql: String) throws -> SQLiteStatement {
        try checkOpen()
        if let s = statements[sql] {
            s.reset()
            return s
        }
        let s = try SQLiteStatement(db: self, sql: sql)
        statements[sql] = s
        return s
    }

    public func scalarInt(_ sql: String, _ params: [SQLiteValue] = []) throws -> Int64 {
        let s = try statement(sql)
        defer { s.reset() }
        try s.bind(params)
        guard try s.step() else { return 0 }
        return s.int(0)
    }

    /// Binds `params`, hands the statement to `body` to step through, and resets it afterwards
    /// whatever happens, so no read transaction outlives the call.
    public func query<T>(_ sql: String, _ params: [SQLiteValue] = [], _ body: (SQLiteStatement) throws -> T) throws -> T {
        let s = try statement(sql)
        defer { s.reset() }
        try s.bind(params)
        return try body(s)
    }

    private func checkOpen() throws {
        // A job queued behind close() must not touch a freed handle.
        if closed { throw SQLiteError(code: 21, message: "database is closed") }  // SQLITE_MISUSE
    }

    public var changes: Int { Int(sqlite3_changes(handle)) }

    /// glibc gives a thread's freed memory back to the kernel as soon as 128 KiB are free at the
    /// top of its arena, and SQLite frees about that much after each commit, so every group
    /// commit paid for fresh pages again: page faults and madvise were a fifth of the journal
    /// writer's time, and the journal alone ran at 0.7 of the rate it has with a higher
    /// threshold (BENCHMARKS.md). Process-wide, so it is called once, by the journal's opener.
    public static func keepFreedMemory(upTo bytes: Int32) {
        _ = flashd_malloc_trim_threshold(bytes)
    }

    /// The rowid of the last row this connection inserted.
    public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// True between BEGIN and COMMIT/ROLLBACK (SQLite may also end a transaction itself on an
    /// I/O or disk-full error, which this reflects).
    public var isInTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    var lastMessage: String { String(cString: sqlite3_errmsg(handle)) }
}

@available(*, unavailable)
extension SQLiteDatabase: Sendable {}
