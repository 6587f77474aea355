import FlashCore
import SQLiteStore
import Synchronization

/// A sale round's orders, pending purchases and holds, counted without reading every order
/// each time. The per-sale gauges ask every 2 s and `status` on each call; a COUNT(*) over a
/// round of a million orders takes about 0.12 s of the reader's CPU (BENCHMARKS.md).
///
/// What makes a count reusable: only a prepared row ever changes its state or goes away
/// (`SQLiteJournal`: the order, the failure, the discard), and a new row takes a rowid above
/// every row still there, so above every final row. So every row below both the oldest
/// prepared row (of any sale) and the row after the newest final one is final, no row will
/// ever be made there, and the number of a round's orders among them is final too. Each count
/// remembers that number and where it stopped (`below`); the next one reads only the index
/// entries from there (`txns_orders` is on (item, round), and the rowid follows in each
/// entry, so the range is a seek). In a sale that point is a purchase in flight, so that is
/// the last few seconds' orders. A purchase left prepared for long (Redis down, a back-check
/// waiting) holds `below` where it is: the counts stay right and cost what they cost before.
///
/// Everything is read in one read transaction, the reader's snapshot (`JournalReader.read`).
///
/// A round's holds by state are counted by reading its orders' rows, held or not: the journal
/// has no index on the hold, which would cost every held order a B-tree entry and a move at
/// each step (6–10% of the journal alone in a held sale, BENCHMARKS.md). Most sales have no
/// hold, so a round whose count found none is remembered, and not read again until the writer
/// makes an order with a hold in it (`heldOrderWritten`, before its batch commits).
final class SaleOrderCounts: Sendable {
    private struct Frozen {
        var orders: Int
        var below: Int64
    }

    private let known = Mutex<[SaleRound: Frozen]>([:])
    /// Rounds an order with a hold was made in since the journal opened, and rounds whose
    /// orders were all counted without a hold (and none made since).
    private let holdRounds = Mutex<(made: Set<SaleRound>, none: Set<SaleRound>)>(([], []))

    /// On the writer's thread, inside the batch, before its commit: a reader whose snapshot
    /// misses this order finds `made` set once its count is done, and remembers nothing.
    func heldOrderWritten(item: String, round: Int) {
        let key = SaleRound(item: item, round: round)
        holdRounds.withLock { r in
            r.made.insert(key)
            r.none.remove(key)
        }
    }

    /// On the reader's connection: `count` (which reads the round's orders), unless a count
    /// found no hold in the round and no held order has been made in it since.
    func holds(item: String, round: Int, _ count: () throws -> HoldCounts) throws -> HoldCounts {
        let key = SaleRound(item: item, round: round)
        if holdRounds.withLock({ $0.none.contains(key) }) { return HoldCounts() }
        let counts = try count()
        if counts == HoldCounts() {
            holdRounds.withLock { r in
                if !r.made.contains(key) { r.none.insert(key) }
            }
        }
        return counts
    }

    /// On the reader's connection, inside its read transaction.
    func count(_ db: SQLiteDatabase, item: String, round: Int) throws -> (orders: Int, pending: Int) {
        let key = SaleRound(item: item, round: round)
        // The oldest prepared row, through txns_pending (its entries are in rowid order), and
        // no higher than just above the newest final row, walking back from the table's end
        // past the purchases in flight. The second bound is there because SQLite gives a new
        // row the highest rowid *still there* plus one: once the prepared rows at the top are
        // discarded, their rowids are handed out again, but never one at or below a final
        // row, and final rows are never deleted.
        let oldest = try db.scalarInt("""
            SELECT MIN(COALESCE((SELECT MIN(rowid) FROM txns WHERE state = 'prepared'), 9223372036854775807),
                       COALESCE((SELECT rowid FROM txns WHERE +state <> 'prepared' ORDER BY rowid DESC LIMIT 1), 0) + 1)
            """)
        // A count made at a later snapshot than this one (never on the one reader thread, but
        // cheap to rule out) would have its `below` above ours: start from nothing then.
        let start = known.withLock { $0[key] }.flatMap { $0.below <= oldest ? $0 : nil } ?? Frozen(orders: 0, below: 0)
        let (settled, recent) = try db.query("""
            SELECT COUNT(*) FILTER (WHERE rowid < ?), COUNT(*) FROM txns
            WHERE item = ? AND round = ? AND state = 'succeeded' AND rowid >= ?
            """, [.int(oldest), .text(item), .int(Int64(round)), .int(start.below)]) { s in
            try s.step() ? (Int(s.int(0)), Int(s.int(1))) : (0, 0)
        }
        let pending = try db.scalarInt("SELECT COUNT(*) FROM txns WHERE item = ? AND round = ? AND state = 'prepared'",
                                       [.text(item), .int(Int64(round))])
        let frozen = Frozen(orders: start.orders + settled, below: oldest)
        known.withLock { k in
            if (k[key]?.below ?? 0) <= frozen.below { k[key] = frozen }
        }
        return (start.orders + recent, Int(pending))
    }
}
