import FlashCore
import SQLiteStore
import Synchronization

/// What the journal keeps in memory beside its file: where each gid's row is (`GidTable`), which
/// rows are each buyer's orders (`BuyerTable`), and how many rows are orders and how many
/// pending, so `status` (every 2 s from the health monitor) costs no COUNT(*) over a million
/// rows. The totals are also in the file (`meta.orders_total`, `meta.pending_total`), written by
/// each batch that changed them in its own transaction (`persist`), so an open reads them
/// instead of counting.
///
/// The writer changes it as it writes, inside the group commit's transaction, and records each
/// change in an undo log: `committed()` forgets the log, `rolledBack()` undoes it, so the index
/// always matches the file's committed rows once the batch has ended. A reader that looks in
/// the middle of a batch may find a row not yet committed; it reads the row by rowid in its own
/// snapshot and finds nothing, which is what "not there yet" means anyway.
///
/// At open it holds only the rows recovery needs; `JournalIndexLoader` adds the rest in the
/// background. Until then a lookup that misses proves nothing (`NotLoaded`).
final class JournalIndex: Sendable {
    /// A lookup missed before every row was loaded: wait for `complete()` and ask again.
    struct NotLoaded: Error {}

    private enum Change {
        case added(UInt64, Int64, TxnState)
        case removed(UInt64, Int64, TxnState)
        case moved(TxnState, TxnState)
        case ordered(buyer: UInt64, Int64)
    }

    private struct State {
        var table: GidTable
        var buyers = BuyerTable()
        var orders = 0
        var pending = 0
        var undo: [Change] = []
        var complete = false
        /// The totals changed in the batch now running: `persist` writes them.
        var dirty = false
        var waiters: [CheckedContinuation<Void, Never>] = []

        mutating func count(_ state: TxnState, _ delta: Int) {
            dirty = true
            switch state {
            case .succeeded: orders += delta
            case .prepared: pending += delta
            case .failed: break
            }
        }

        mutating func apply(_ change: Change, undoing: Bool) {
            switch (change, undoing) {
            case (.added(let key, let row, let state), false), (.removed(let key, let row, let state), true):
                table.insert(key, row: row)
                count(state, 1)
            case (.removed(let key, let row, let state), false), (.added(let key, let row, let state), true):
                table.remove(key, row: row)
                count(state, -1)
            case (.moved(let from, let to), false):
                count(from, -1)
                count(to, 1)
            case (.moved(let from, let to), true):
                count(to, -1)
                count(from, 1)
            case (.ordered(let buyer, let row), false):
                buyers.insert(buyer, row: row)
            case (.ordered(let buyer, let row), true):
                buyers.remove(buyer, row: row)
            }
        }
    }

    private let state: Mutex<State>

    init() {
        state = Mutex(State(table: GidTable()))
    }

    var isComplete: Bool { state.withLock { $0.complete } }

    /// Returns once every row of the journal is in the table.
    func complete() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = state.withLock { s -> Bool in
                if s.complete { return true }
                s.waiters.append(c)
                return false
            }
            if now { c.resume() }
        }
    }

    /// Open: the totals the file holds.
    func setTotals(orders: Int, pending: Int) {
        state.withLock { s in
            s.orders = orders
            s.pending = pending
        }
    }

    /// Inside a batch's transaction, before its COMMIT: the totals it changed go with it.
    func persist(_ db: SQLiteDatabase) throws {
        guard let (orders, pending) = state.withLock({ $0.dirty ? ($0.orders, $0.pending) : nil }) else { return }
        try Self.writeTotals(db, orders: orders, pending: pending)
    }

    static func writeTotals(_ db: SQLiteDatabase, orders: Int, pending: Int) throws {
        try db.statement("INSERT INTO meta(key, value) VALUES ('orders_total', ?), ('pending_total', ?) "
                         + "ON CONFLICT(key) DO UPDATE SET value = excluded.value")
            .run([.text(String(orders)), .text(String(pending))])
    }

    /// Start-up: room for every row and every order the file holds, and the rows recovery will
    /// look up. (The buyers' orders come with the scan: recovery reads none.)
    func prime(_ rows: [(key: UInt64, row: Int64)], capacity: Int) {
        state.withLock { s in
            s.table = GidTable(capacity: capacity)
            s.table.insert(batch: rows)
            s.buyers = BuyerTable(capacity: s.orders)
        }
    }

    /// Rows of the loader's snapshot, and those of them that are orders, by buyer. `firstScan`:
    /// none of these orders is in the buyer table yet (see `BuyerTable.insert`).
    func loaded(_ rows: [(key: UInt64, row: Int64)], orders: [(buyer: UInt64, row: Int64)] = [], firstScan: Bool = false) {
        state.withLock { s in
            s.table.insert(batch: rows)
            if firstScan {
                s.buyers.insertNew(batch: orders)
            } else {
                for o in orders { s.buyers.insert(o.buyer, row: o.row) }
            }
        }
    }

    /// The loader has seen every row.
    func finishLoading() {
        let waiters = state.withLock { s in
            s.complete = true
            defer { s.waiters = [] }
            return s.waiters
        }
        for w in waiters { w.resume() }
    }

    /// The rows that may be `gid`'s; the caller compares the gid of each.
    func candidates(_ gid: String) -> GidTable.Candidates {
        let key = GidTable.key(gid)
        return state.withLock { $0.table.candidates(key) }
    }

    /// The rows that may be `user`'s orders; the caller compares the buyer of each. Only once
    /// every row is loaded (else `NotLoaded`): before, a buyer's older orders may be missing.
    func buyerCandidates(_ user: String) throws -> [Int64] {
        let key = BuyerTable.key(user)
        return try state.withLock { s in
            guard s.complete else { throw NotLoaded() }
            return s.buyers.candidates(key)
        }
    }

    var totals: (orders: Int, pending: Int) { state.withLock { ($0.orders, $0.pending) } }

    func added(_ gid: String, row: Int64, state s: TxnState) { record(.added(GidTable.key(gid), row, s)) }
    func removed(_ gid: String, row: Int64, state s: TxnState) { record(.removed(GidTable.key(gid), row, s)) }
    func moved(from: TxnState, to: TxnState) { record(.moved(from, to)) }
    /// The row `row` became an order of the buyer whose key is `buyer`.
    func ordered(buyer: UInt64, row: Int64) { record(.ordered(buyer: buyer, row)) }

    func committed() {
        state.withLock { s in
            s.undo.removeAll(keepingCapacity: true)
            s.dirty = false
        }
    }

    func rolledBack() {
        state.withLock { s in
            while let change = s.undo.popLast() { s.apply(change, undoing: true) }
            // Back to the totals the file has.
            s.dirty = false
        }
    }

    private func record(_ change: Change) {
        state.withLock { s in
            s.apply(change, undoing: false)
            s.undo.append(change)
        }
    }
}
