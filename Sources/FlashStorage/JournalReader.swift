import NIOPosix
import SQLiteStore

/// The journal's reads, on a second SQLite connection and a thread of their own: listings,
/// counts and the gate's history never queue behind the group-commit thread, and a long read
/// never holds a write transaction (WAL lets readers run beside the writer, each on the last
/// committed state). A read sees every commit that was answered before it started, so a
/// caller reading right after its own commit finds it.
final class JournalReader: @unchecked Sendable {
    // @unchecked Sendable: `db` is touched only on `pool`'s single thread, in `read` and `close`.
    private let db: SQLiteDatabase
    private let pool: NIOThreadPool

    /// Opens a reader on a journal whose schema the writer has already made.
    init(path: String, vfs: String? = nil) throws {
        db = try SQLiteDatabase(path: path, vfs: vfs)
        do {
            try db.execute("PRAGMA busy_timeout = 2000")
            // A reader never writes: a bug that tried would fail here, not corrupt anything.
            try db.execute("PRAGMA query_only = 1")
            // Its reads are lookups by row and pages of listings, and a history scanned once at
            // start (`history(after:limit:)`): 512 KiB of cache, not SQLite's 2 MiB, keeps the
            // pages they share; the kernel's page cache has the rest (peak memory, BENCHMARKS.md).
            try db.execute("PRAGMA cache_size = -512")
        } catch {
            db.close()
            throw error
        }
        pool = NamedThread.pool("flashd-reader")
    }

    /// Runs `body` in one read transaction: its statements see one snapshot.
    func read<T: Sendable>(_ body: @escaping @Sendable (SQLiteDatabase) throws -> T) async throws -> T {
        try await pool.runIfActive { [self] in
            try db.execute("BEGIN")
            defer { if db.isInTransaction { try? db.execute("COMMIT") } }
            return try body(db)
        }
    }

    func close() async {
        _ = try? await pool.runIfActive { [self] in db.close() }
        try? await pool.shutdownGracefully()
    }
}
