import SQLiteStore
import Synchronization

/// Group commit: journal work from many concurrent purchases shares one SQLite transaction and
/// one fsync, and each caller is answered only after the COMMIT that made its work durable.
///
/// Calls queue up; the connection's one thread takes everything queued, runs it inside one
/// BEGIN IMMEDIATE … COMMIT, then resumes every caller. No timer and no batch size to tune:
/// while one batch is being fsynced the next one gathers, so batches grow with the load, and a
/// lone call still commits at once.
///
/// A call that throws inside a batch rolls the whole batch back, and each of its calls runs
/// again in a transaction of its own: the failing one gets its error, the others commit. Errors
/// are rare (a full disk, a logic error the journal refuses loudly), so that slow path costs
/// nothing in the common case, and no half-done call ever commits.
final class GroupCommitter: @unchecked Sendable {
    // @unchecked Sendable: `db` is touched only on the worker's thread, inside `commit`.
    private let db: SQLiteDatabase
    private var worker: BatchWorker<SQLiteDatabase, Call>!
    /// Commits so far, the largest batch, and the calls they carried (for tests and BENCHMARKS.md).
    private let stats = Mutex<(commits: Int, largest: Int, calls: Int)>((0, 0, 0))

    /// One queued call, type-erased: `perform` runs it and keeps its result, `finish` hands that
    /// result (or an error) to the waiting caller.
    private final class Call: @unchecked Sendable {
        // @unchecked: created on the caller's thread, then used only on the worker's thread.
        let perform: (SQLiteDatabase) -> (any Error)?
        let finish: ((any Error)?) -> Void
        init(perform: @escaping (SQLiteDatabase) -> (any Error)?, finish: @escaping ((any Error)?) -> Void) {
            self.perform = perform
            self.finish = finish
        }
    }

    /// Run inside each batch's transaction after its calls (a write that sums the batch up),
    /// and told after each COMMIT and each ROLLBACK, on the worker's thread, before any of its
    /// callers is answered: what the journal keeps in memory follows the file.
    private let finishing: (SQLiteDatabase) throws -> Void
    private let committed: () -> Void
    private let rolledBack: () -> Void

    init(_ db: SQLiteDatabase, finishing: @escaping (SQLiteDatabase) throws -> Void = { _ in },
         committed: @escaping () -> Void = {}, rolledBack: @escaping () -> Void = {}) {
        self.db = db
        self.finishing = finishing
        self.committed = committed
        self.rolledBack = rolledBack
        worker = BatchWorker(db, name: "flashd-journal", process: { [unowned self] _, batch in self.commit(batch) },
                             reject: { $0.finish(SQLiteError(code: 14, message: "journal is closed (flashd is stopping)")) })
    }

    var statistics: (commits: Int, largest: Int, calls: Int) { stats.withLock { $0 } }

    /// Runs `body` in the next batch and returns its result once that batch is committed, or
    /// throws once `deadline` says it has waited too long (the call still runs later; only the
    /// caller stops waiting for it).
    func run<T: Sendable>(deadline: DeadlineWatch? = nil, _ body: @escaping @Sendable (SQLiteDatabase) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let box = ResultBox<T>()
            let once = ResumeOnce(continuation)
            let ticket = deadline?.watch {
                once.resume(with: .failure(SQLiteError(code: 5, message: "the journal did not answer in time (disk hung or "
                                                       + "very slow); the call completes when it can")))
            }
            worker.submit(Call(
                perform: { db in
                    do {
                        box.value = try body(db)
                        return nil
                    } catch {
                        return error
                    }
                },
                finish: { error in
                    if let ticket { deadline?.done(ticket) }
                    if let error {
                        once.resume(with: .failure(error))
                    } else {
                        once.resume(with: .success(box.value!))
                    }
                }))
        }
    }

    /// Runs `body` on the connection's thread outside any batch transaction. For set-up
    /// (PRAGMA journal_mode can't run inside a transaction), closing, and the wedge fault.
    func exclusive<T: Sendable>(_ body: @escaping @Sendable (SQLiteDatabase) throws -> T) async throws -> T {
        try await worker.exclusive(body)
    }

    func shutdown() async {
        await worker.shutdown()
    }

    private func commit(_ batch: [Call]) {
        if batch.count > 1, let outcomes = together(batch) {
            stats.withLock {
                $0.commits += 1
                $0.calls += batch.count
                $0.largest = max($0.largest, batch.count)
            }
            for (call, error) in zip(batch, outcomes) { call.finish(error) }
            return
        }
        // One call, or a batch that failed: each in a transaction of its own.
        for call in batch {
            let error = alone(call)
            stats.withLock {
                $0.commits += 1
                $0.calls += 1
                $0.largest = max($0.largest, 1)
            }
            call.finish(error)
        }
    }

    /// The whole batch in one transaction; nil when any call (or the COMMIT) failed, after
    /// rolling everything back.
    private func together(_ batch: [Call]) -> [(any Error)?]? {
        do {
            try db.execute("BEGIN IMMEDIATE")
        } catch {
            return nil
        }
        for call in batch {
            if call.perform(db) != nil {
                rollback()
                return nil
            }
        }
        do {
            try finishing(db)
            try db.execute("COMMIT")
        } catch {
            rollback()
            return nil
        }
        committed()
        return Array(repeating: nil, count: batch.count)
    }

    private func alone(_ call: Call) -> (any Error)? {
        do {
            try db.execute("BEGIN IMMEDIATE")
        } catch {
            return error
        }
        if let error = call.perform(db) {
            rollback()
            return error
        }
        do {
            try finishing(db)
            try db.execute("COMMIT")
            committed()
            return nil
        } catch {
            rollback()
            return error
        }
    }

    private func rollback() {
        // SQLite may have rolled back already (I/O error, disk full): then there is nothing to end.
        if db.isInTransaction { try? db.execute("ROLLBACK") }
        rolledBack()
    }
}

/// Where a queued call leaves its result between `perform` and `finish` (both on the pool's thread).
private final class ResultBox<T>: @unchecked Sendable {
    var value: T?
}
