import FlashCore
import SQLiteStore

#if canImport(Glibc)
import Glibc
#endif

/// `Journal` on a SQLite file in WAL mode, one connection on its own thread, every call
/// group-committed (`GroupCommitter`): concurrent purchases share transactions and fsyncs.
///
/// Durability: `synchronous=FULL` by default, so a commit is on disk (WAL fsynced) before the
/// purchase is acknowledged, and an acknowledged order survives power loss (G3). `normal` skips
/// the fsync per commit: it survives a crash of flashd, not of the machine.
public final class SQLiteJournal: Journal {
    public enum Durability: String, Sendable, CaseIterable {
        case full
        case normal
    }

    public let path: String
    private let conn: GroupCommitter
    private let reader: JournalReader
    /// Where each gid's row is, and the running totals (`JournalIndex`).
    let index: JournalIndex
    /// Each sale round's orders counted so far, and the rounds without holds (`SaleOrderCounts`).
    let saleCounts = SaleOrderCounts()
    /// How long a caller waits for the group-commit thread before it gets journal_unavailable.
    private let deadline: DeadlineWatch
    /// The key of the gids' keyed hash (`GlobalTransactionID`): 128 random bits made when the
    /// journal is first opened and kept in it (`meta.gid_key`), so the gids of its rows stay
    /// the gids of their purchases across restarts, and nobody without the file can aim a
    /// request id at another buyer's gid.
    public let gidKey: (UInt64, UInt64)

    /// `deadline`: how long a call may wait for the journal's thread (a hung disk) before its
    /// caller gets journal_unavailable; the call itself still completes when the disk does.
    /// `vfs`: a SQLite VFS by name (the power-cut tests' `PowerCutVFS`), nil for the default.
    /// `indexDelay`: the tests' hold on the background index load (`JournalIndexLoader`), so
    /// what runs before it ends (recovery, retries, status) can be seen doing so.
    public init(path: String, durability: Durability = .full, deadline: Duration = .seconds(5), vfs: String? = nil,
                indexDelay: Duration = .zero) async throws {
        Self.keepFreedMemory
        self.path = path
        let watch = DeadlineWatch(limit: .milliseconds(deadline.milliseconds))
        self.deadline = watch
        let db: SQLiteDatabase
        do {
            db = try SQLiteDatabase(path: path, vfs: vfs)
        } catch let e as SQLiteError {
            watch.stop()
            throw Self.engineError(e)
        }
        let index = JournalIndex()
        self.index = index
        let committer = GroupCommitter(db, finishing: { try index.persist($0) }, committed: { index.committed() },
                                       rolledBack: { index.rolledBack() })
        conn = committer
        do {
            gidKey = try await committer.exclusive { db in
                try db.execute("PRAGMA busy_timeout = 2000")
                // WAL: readers (status, audit) never block the purchase path's writes.
                try db.execute("PRAGMA journal_mode = WAL")
                try db.execute("PRAGMA synchronous = \(durability == .full ? "FULL" : "NORMAL")")
                try db.execute("PRAGMA foreign_keys = ON")
                try db.execute("CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)")
                let schema = { try db.scalarInt("SELECT value FROM meta WHERE key = 'schema_version'") }
                if try schema() == 1 { try db.execute(JournalSchema.migrateFrom1) }
                try db.execute(JournalSchema.tables)
                if try schema() == 3 { try db.execute(JournalSchema.migrateFrom3) }
                if try schema() == 4 { try db.execute(JournalSchema.migrateFrom4) }
                if try schema() == 5 {
                    if try db.scalarInt("SELECT COUNT(*) FROM pragma_table_info('changes') WHERE name = 'txn'") == 0 {
                        try db.execute(JournalSchema.addTxnToChanges)
                    }
                    try db.execute(JournalSchema.migrateFrom5)
                }
                try JournalSchema.rewriteListChecks(db)
                try db.execute(JournalSchema.indexes)
                let version = try schema()
                guard version == JournalSchema.version else {
                    throw SQLiteError(code: 1, message: "journal schema version \(version) is not \(JournalSchema.version)")
                }
                try Self.readTotals(db, into: index)
                return try Self.gidKey(db)
            }
            reader = try JournalReader(path: path, vfs: vfs)
            // Before anything is written: the loader's snapshot must come first.
            try await JournalIndexLoader.start(path: path, vfs: vfs, index: index, delay: indexDelay)
        } catch let e as SQLiteError {
            watch.stop()
            try? await committer.exclusive { $0.close() }
            await committer.shutdown()
            throw Self.engineError(e)
        }
    }

    /// Once per process: up to 8 MiB freed stays with it for the next commit instead of going
    /// back to the kernel after each one (`SQLiteDatabase.keepFreedMemory`).
    private static let keepFreedMemory: Void = SQLiteDatabase.keepFreedMemory(upTo: 8 << 20)

    public func close() async {
        deadline.stop()
        await reader.close()
        try? await conn.exclusive { $0.close() }
        await conn.shutdown()
    }

    /// Commits so far, the largest batch, and the calls they carried.
    public var groupCommitStatistics: (commits: Int, largest: Int, calls: Int) { conn.statistics }

    /// Fault injection: blocks the journal's thread for `seconds`, as a hung disk would. Every
    /// purchase stalls and the health check fails, so the watchdog lets systemd restart flashd.
    public func wedge(seconds: UInt32) {
        Task { _ = try? await conn.exclusive { _ in sleep(seconds) } }
    }

    // MARK: Journal

    public func prepare(_ record: TxnRecord) async throws -> (record: TxnRecord, inserted: Bool) {
        // Whether the gid has a row is known once every row is indexed (a moment after open).
        if !index.isComplete { await index.complete() }
        return try await call { [index] db in
            // A retry finds its row through the index (there is no gid key in the file).
            if let existing = try self.loadTxn(db, gid: record.gid) { return (existing, false) }
            try db.statement("""
                INSERT INTO txns(\(JournalSchema.txnColumns)) VALUES (?, ?, ?, ?, ?, 'prepared', NULL, NULL, ?, ?, ?, 0, NULL)
                """).run([.text(record.gid), .text(record.item), .int(Int64(record.round)), .text(record.user),
                          .text(record.requestID), .int(record.createdMs), .int(record.updatedMs), .int(record.nextCheckMs)])
            index.added(record.gid, row: db.lastInsertRowID, state: .prepared)
            return (record, true)
        }
    }

    public func commitOrder(_ order: Order, nowMs: Int64) async throws -> (order: Order, inserted: Bool) {
        try await call { [index] db in
            /// The prepared row `row` of `buyer` became the order: the index's totals, the
            /// buyer's orders and the outbox follow.
            func ordered(_ row: Int64, buyer: UInt64) throws -> (order: Order, inserted: Bool) {
                if order.hold != nil { self.saleCounts.heldOrderWritten(item: order.item, round: order.round) }
                index.moved(from: .prepared, to: .succeeded)
                index.ordered(buyer: buyer, row: row)
                try Self.appendChange(db, gid: order.gid, row: row, state: DeliveredState(hold: order.hold), atMs: nowMs)
                return (order, true)
            }
            // The common case is one statement: the row the index names, if it is this gid's
            // and still prepared, becomes the order. Anything else takes the long way.
            if let row = index.candidates(order.gid).first, let buyer = try Self.makeOrder(db, order, row: row, nowMs: nowMs) {
                return try ordered(row, buyer: buyer)
            }
            guard let (row, state) = try self.locate(db, gid: order.gid) else {
                throw SQLiteError(code: 1, message: "no journal row for \(order.gid)")
            }
            switch state {
            case .prepared:
                guard let buyer = try Self.makeOrder(db, order, row: row, nowMs: nowMs) else {
                    throw SQLiteError(code: 1, message: "transaction \(order.gid) stayed prepared")
                }
                return try ordered(row, buyer: buyer)
            case .succeeded:
                if let existing = try self.loadOrder(db, gid: order.gid) { return (existing, false) }
                throw SQLiteError(code: 1, message: "transaction \(order.gid) succeeded without an order")
            case .failed:
                // Can't happen while the barrier protocol holds: a failed gid has its rollback
                // marker, so no deduction for it can exist. Refuse loudly rather than guess.
                let reason = try self.loadTxn(db, gid: order.gid)?.reason
                throw SQLiteError(code: 1, message: "transaction \(order.gid) already failed (\(reason?.rawValue ?? "?"))")
            }
        }
    }

    /// The prepared row `row` of `order`'s gid becomes the order; its buyer's key (of the row's
    /// `user`, for `BuyerTable`), or nil when the row is not that (a fingerprint shared with
    /// another gid, or no longer prepared). A final order (no hold) leaves the hold columns
    /// alone, so SQLite has no hold index to weigh.
    ///
    /// A SELECT, then an UPDATE by rowid: only this thread writes, so nothing comes between
    /// them. One `UPDATE … RETURNING user` did both, but SQLite keeps a RETURNING row in an
    /// ephemeral table, a B-tree it opens and closes per statement, as it does for an IN list
    /// of three (`JournalSchema.listChecks`).
    private static func makeOrder(_ db: SQLiteDatabase, _ order: Order, row: Int64, nowMs: Int64) throws -> UInt64? {
        let buyer = try db.query("SELECT user FROM txns WHERE rowid = ? AND gid = ? AND state = 'prepared'",
                                 [.int(row), .text(order.gid)]) { s in
            try s.step() ? s.withBytes(0) { BuyerTable.key($0) } : nil
        }
        guard let buyer else { return nil }
        if order.hold == nil {
            try db.statement("UPDATE txns SET state = 'succeeded', order_id = ?, reason = NULL, updated_ms = ?, ordered_ms = ? WHERE rowid = ?")
                .run([.text(order.orderID), .int(nowMs), .int(order.createdMs), .int(row)])
        } else {
            try db.statement("""
                UPDATE txns SET state = 'succeeded', order_id = ?, reason = NULL, updated_ms = ?, ordered_ms = ?,
                    hold = ?, expires_ms = ?, release_cause = ?
                WHERE rowid = ?
                """).run([.text(order.orderID), .int(nowMs), .int(order.createdMs), optional(order.hold?.rawValue),
                          order.expiresMs.map(SQLiteValue.int) ?? .null, optional(order.releaseCause?.rawValue), .int(row)])
        }
        return buyer
    }

    public func commitFailure(gid: String, reason: FailureReason, nowMs: Int64) async throws {
        try await call { [index] db in
            guard let (row, state) = try self.locate(db, gid: gid), state == .prepared else { return }
            try db.statement("UPDATE txns SET state = 'failed', reason = ?, updated_ms = ? WHERE rowid = ?")
                .run([.text(reason.rawValue), .int(nowMs), .int(row)])
            index.moved(from: .prepared, to: .failed)
        }
    }

    public func discard(gid: String) async throws {
        try await call { [index] db in
            guard let (row, state) = try self.locate(db, gid: gid), state == .prepared else { return }
            try db.statement("DELETE FROM txns WHERE rowid = ?").run([.int(row)])
            index.removed(gid, row: row, state: .prepared)
        }
    }

    public func recordRetry(gid: String, attempts: Int, nextCheckMs: Int64, error: String, nowMs: Int64) async throws {
        try await call { db in
            guard let (row, state) = try self.locate(db, gid: gid), state == .prepared else { return }
            try db.statement("UPDATE txns SET attempts = ?, next_check_ms = ?, last_error = ?, updated_ms = ? WHERE rowid = ?")
                .run([.int(Int64(attempts)), .int(nextCheckMs), .text(String(error.prefix(500))), .int(nowMs), .int(row)])
        }
    }

    public func transaction(gid: String) async throws -> TxnRecord? {
        try await read { db in try self.loadTxn(db, gid: gid) }
    }

    public func order(gid: String) async throws -> Order? {
        try await read { db in try self.loadOrder(db, gid: gid) }
    }

    public func preparedTransactions() async throws -> [TxnRecord] {
        try await read { db in
            try db.query("SELECT \(JournalSchema.txnColumns) FROM txns WHERE state = 'prepared' ORDER BY created_ms") { s in
                var rows: [TxnRecord] = []
                while try s.step() { rows.append(try Self.txn(s)) }
                return rows
            }
        }
    }

    public func counts(item: String, round: Int) async throws -> (orders: Int, pending: Int) {
        try await read { [saleCounts] db in try saleCounts.count(db, item: item, round: round) }
    }

    /// Running totals kept by the writer (`JournalIndex`): no COUNT(*) over every row.
    public func totals() async throws -> (orders: Int, pending: Int) {
        index.totals
    }

    /// Returns once every row of the journal is indexed (see `JournalIndexLoader`).
    public func waitForIndex() async {
        await index.complete()
    }

    /// One node's orders of one round (its gids start with `NODE-`): what the fence counts and
    /// the repair re-applies, so both read the same rows.
    private static let nodeOrders = "item = ? AND round = ? AND state = 'succeeded' AND substr(gid, 1, ?) = ?"

    private static func nodeOrderParams(_ item: String, _ round: Int, _ gidPrefix: String) -> [SQLiteValue] {
        [.text(item), .int(Int64(round)), .int(Int64(gidPrefix.utf8.count)), .text(gidPrefix)]
    }

    public func orderCount(item: String, round: Int, gidPrefix: String) async throws -> Int {
        try await read { db in
            Int(try db.scalarInt("SELECT COUNT(*) FROM txns WHERE \(Self.nodeOrders)", Self.nodeOrderParams(item, round, gidPrefix)))
        }
    }

    public func orderRefs(item: String, round: Int, gidPrefix: String) async throws -> [OrderRef] {
        try await read { db in
            try db.query("SELECT gid, user, hold, request_id, ordered_ms FROM txns WHERE \(Self.nodeOrders) ORDER BY gid",
                         Self.nodeOrderParams(item, round, gidPrefix)) { s in
                var rows: [OrderRef] = []
                while try s.step() {
                    rows.append(OrderRef(gid: s.text(0) ?? "", user: s.text(1) ?? "", hold: s.text(2).flatMap(HoldState.init(rawValue:)),
                                         requestID: s.text(3) ?? "", createdMs: s.int(4)))
                }
                return rows
            }
        }
    }

    public func history(after rowID: Int64, limit: Int) async throws -> (rows: [JournalEntry], next: Int64?) {
        try await read { db in
            try db.query("SELECT rowid, item, round, gid, hold, expires_ms FROM txns WHERE rowid > ? ORDER BY rowid LIMIT ?",
                         [.int(rowID), .int(Int64(limit))]) { s in
                var rows: [JournalEntry] = []
                var last = rowID
                while try s.step() {
                    last = s.int(0)
                    rows.append(JournalEntry(item: s.text(1) ?? "", round: Int(s.int(2)), gid: s.text(3) ?? "",
                                             hold: s.text(4).flatMap(HoldState.init(rawValue:)), expiresMs: s.isNull(5) ? nil : s.int(5)))
                }
                return (rows, rows.count < limit ? nil : last)
            }
        }
    }

    public func ping() async throws {
        try await call { db in _ = try db.scalarInt("SELECT 1") }
    }

    // MARK: plumbing

    /// A read, on the reader's connection and thread.
    func read<T: Sendable>(_ body: @escaping @Sendable (SQLiteDatabase) throws -> T) async throws -> T {
        do {
            return try await reader.read(body)
        } catch is JournalIndex.NotLoaded {
            await index.complete()
            return try await read(body)
        } catch let e as SQLiteError {
            throw Self.engineError(e)
        }
    }

    /// A write (or a read that must be in the same transaction as writes), group-committed.
    func call<T: Sendable>(_ body: @escaping @Sendable (SQLiteDatabase) throws -> T) async throws -> T {
        do {
            return try await conn.run(deadline: deadline, body)
        } catch is JournalIndex.NotLoaded {
            await index.complete()
            return try await call(body)
        } catch let e as SQLiteError {
            throw Self.engineError(e)
        }
    }

    /// A fault of the disk or the file is 503 `journal_unavailable` (retry later); a logic
    /// fault is 500 `internal`: retrying it can't help, and a 503 would say it could.
    static func engineError(_ e: SQLiteError) -> EngineError {
        e.isEnvironmental ? .journalUnavailable("journal: \(e.message) (sqlite \(e.code))")
                          : EngineError(.internalError, "journal: \(e.message) (sqlite \(e.code))")
    }
}
