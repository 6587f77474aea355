/// Every failure of the SQLite wrapper, carrying SQLite's own result code.
public struct SQLiteError: Error, CustomStringConvertible, Sendable {
    /// The primary result code (`SQLITE_BUSY`, `SQLITE_FULL`, ...), as SQLite numbers it.
    public let code: Int32
    public let message: String
    public let file: String
    public let line: Int

    public init(code: Int32, message: String, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.message = message
        self.file = file
        self.line = line
    }

    /// SQLITE_BUSY or SQLITE_LOCKED: another connection holds the lock; worth retrying.
    public var isBusy: Bool { code & 0xff == 5 || code & 0xff == 6 }
    /// SQLITE_FULL: the disk (or the quota) is full.
    public var isFull: Bool { code & 0xff == 13 }
    /// SQLITE_CONSTRAINT: a UNIQUE or CHECK constraint refused the row.
    public var isConstraint: Bool { code & 0xff == 19 }

    public var description: String { "sqlite error \(code): \(message)" }
}
