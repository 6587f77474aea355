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

    /// The disk, the file or another process is at fault, and the same call can succeed later:
    /// busy or locked (5, 6), out of memory (7), read-only (8), an I/O error (10), full (13),
    /// can't open (14), a lock protocol error (15). Anything else is a logic fault (a refused
    /// constraint, a misuse, an error the journal raised itself): retrying can't help.
    public var isEnvironmental: Bool { [5, 6, 7, 8, 10, 13, 14, 15].contains(code & 0xff) }

    public var description: String { "sqlite error \(code): \(message)" }
}
