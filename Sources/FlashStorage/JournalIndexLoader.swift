import FlashCore
import NIOPosix
import SQLiteStore

#if canImport(Glibc)
import Glibc
#endif

/// Reads every row of the journal into its index (`JournalIndex`) in the background, on a
/// connection and a thread of its own, so a journal of a million rows doesn't hold up READY.
///
/// The one read transaction pins a snapshot before the journal writes anything: every row in it
/// goes into the table, and every row written after it is one the index records itself. Before `start` returns, the rows recovery and the hold intents
/// touch (prepared rows, confirms and releases; few, along their indexes) are in the table
/// already: recovery runs during the scan. A lookup that misses while the scan runs waits for
/// it (`JournalIndex.NotLoaded`): a miss can't be trusted until every row has been seen.
final class JournalIndexLoader: @unchecked Sendable {
    // @unchecked Sendable: `db` is used only on `pool`'s one thread.
    private let db: SQLiteDatabase
    private let pool = NamedThread.pool("flashd-index")
    private let index: JournalIndex
    /// Rows a scan hands to the index at once (`GidTable.insert(batch:)`).
    private static let batchSize = 512

    private init(db: SQLiteDatabase, index: JournalIndex) {
        self.db = db
        self.index = index
    }

    /// Pins the snapshot and primes the index, then scans on in the background.
    static func start(path: String, vfs: String?, index: JournalIndex, delay: Duration = .zero) async throws {
        let loader = JournalIndexLoader(db: try SQLiteDatabase(path: path, vfs: vfs), index: index)
        do {
            try await loader.pool.runIfActive { try loader.prime() }
        } catch {
            loader.db.close()
            try? await loader.pool.shutdownGracefully()
            throw error
        }
        loader.pool.submit { _ in
            if delay > .zero { usleep(UInt32(delay.milliseconds * 1000)) }
            loader.scan()
        }
    }

    private func prime() throws {
        try db.execute("PRAGMA query_only = 1")
        // One pass over the file, each page read once: SQLite's default 2 MiB of cache would
        // only add to flashd's peak memory (it counts against the 64 MiB goal of BENCHMARKS.md).
        try db.execute("PRAGMA cache_size = -256")
        try db.execute("BEGIN")
        // Every row, and a quarter more for the sale to come before the table has to grow.
        let last = Int(try db.scalarInt("SELECT COALESCE(MAX(rowid), 0) FROM txns"))
        let capacity = last + last / 4
        var rows: [(key: UInt64, row: Int64)] = []
        for sql in ["SELECT rowid, gid FROM txns WHERE state = 'prepared'",
                    "SELECT rowid, gid FROM txns WHERE hold IN ('confirming', 'releasing')"] {
            try db.query(sql) { s in
                while try s.step() { rows.append((s.withBytes(1) { GidTable.key($0) }, s.int(0))) }
            }
        }
        index.prime(rows, capacity: capacity)
    }

    private func scan() {
        var batch: [(key: UInt64, row: Int64)] = []
        var orders: [(buyer: UInt64, row: Int64)] = []
        batch.reserveCapacity(Self.batchSize)
        orders.reserveCapacity(Self.batchSize)
        var firstScan = true
        while true {
            do {
                // The buyer of an order only: a buyer's failed attempts are never listed.
                try db.query("SELECT rowid, gid, state = 'succeeded', user FROM txns") { s in
                    while try s.step() {
                        let row = s.int(0)
                        batch.append((s.withBytes(1) { GidTable.key($0) }, row))
                        if s.int(2) == 1 { orders.append((s.withBytes(3) { BuyerTable.key($0) }, row)) }
                        if batch.count == Self.batchSize {
                            index.loaded(batch, orders: orders, firstScan: firstScan)
                            batch.removeAll(keepingCapacity: true)
                            orders.removeAll(keepingCapacity: true)
                        }
                    }
                }
                index.loaded(batch, orders: orders, firstScan: firstScan)
                try? db.execute("COMMIT")
                index.finishLoading()
                close()
                return
            } catch {
                // A read that failed (an I/O error): the rows seen so far stay (the table
                // ignores a row it has), and the scan runs again in a newer snapshot: a row
                // written since is in the index already.
                try? db.execute("ROLLBACK")
                batch.removeAll(keepingCapacity: true)
                orders.removeAll(keepingCapacity: true)
                firstScan = false
                sleep(1)
                try? db.execute("BEGIN")
            }
        }
    }

    private func close() {
        db.close()
        // The pool can't be shut down from its own thread.
        let pool = self.pool
        Task.detached { try? await pool.shutdownGracefully() }
    }
}
