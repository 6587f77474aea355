import SQLiteStore

/// The journal's tables. States and reasons are stored as text so `sqlite3 flashd.db` shows
/// them plainly to an operator (and to the torture test, which reads the file directly).
///
/// Version 2 keeps each order in its transaction's row (`order_id`, `ordered_ms`, state
/// `succeeded`) and shows the orders through the `orders` view. Version 1 had an `orders` table
/// keyed by order id with a unique gid: two more B-tree indexes on random keys, so each order
/// dirtied two more random pages, and the WAL bytes per purchase tripled. With the same writes
/// in the same batches version 1 ran at less than half the rate (scripts/journal-schema-bench.py,
/// BENCHMARKS.md). One row per gid also makes "one gid, at most one order" a property of the
/// table, not of a check.
///
/// Version 3 adds `txns_user`, so a buyer's orders are found without a scan (`GET
/// /v1/orders?user=`). It is partial: only rows that became orders are in it, so a purchase
/// that fails or is refused writes no entry.
///
/// Version 4 adds checkout holds (G7) to the order's row: `hold` (NULL for a final order),
/// `expires_ms` on Redis' clock and `release_cause`, with the partial index `txns_hold_intent`
/// that finds the confirms and releases a crash left, and nothing else: a row is in it only
/// while an intent is, so a purchase writes no entry. (An index of every held order by expiry
/// cost held purchases about 5%; the coordinator keeps that schedule in memory instead.)
///
/// Version 5 adds the outbox (G8): `changes`, one row per order made and per hold decided, in
/// the commit that makes it; its row id is the delivery sequence (`OrderChange`). Rows are
/// appended at the B-tree's right edge, so a purchase dirties one more page that the next
/// purchases share. `meta.delivered_seq` is the deliverer's mark.
///
/// Version 6 appends: `txns` has no key on the gid, so a new row goes to the table's right
/// edge (rowid order is time order) instead of a random page of a gid index, and the gid → row
/// map is in memory (`GidTable`, rebuilt from the file at open). Every other index of `txns` is
/// led by columns whose new entries are also at an edge (item and round, state and time), but
/// `txns_user`: a buyer's orders need a lookup by buyer, and that index stays the one random
/// page an order dirties. The outbox names its order's row (`changes.txn`) rather than its
/// gid. On a journal of a million rows the journal alone ran 1.3–2.2× as fast, together with
/// glibc keeping freed memory (BENCHMARKS.md). `meta.orders_total` and `meta.pending_total`
/// keep the totals, written with each batch that changes them; a tool that edits rows by hand
/// deletes them, and the next open counts again.
///
/// Since then `txns_user` is gone too: the buyer → orders map is in memory (`BuyerTable`),
/// rebuilt by the same scan as the gid's, and `indexes` drops the index at open. The journal
/// alone ran 1.1–1.3× as fast without it (BENCHMARKS.md). The tables are unchanged, so the
/// version stays 6: an older flashd that opens the file makes the index again, and works.
///
/// Then `txns_item` (item, round, state) and `txns_state` (state, created_ms) gave way to
/// partial indexes, one per state, for the same reason: a purchase wrote an entry in each at
/// prepare and moved both when it became an order, four B-tree changes beyond the row's own.
/// Now a prepare adds an entry to `txns_pending` and the order takes it out and adds one to
/// `txns_orders` (a sale's orders, by item and round). `txns_failed` is written only by a
/// purchase that fails. Listings walk the rows newest first by rowid, which is the order the
/// journal wrote them (a cursor's gid names its row through the index in memory), so no index
/// on time is needed. The journal's writer spent 17% less CPU per purchase (BENCHMARKS.md).
enum JournalSchema {
    static let version = 6

    /// Every table, as version 6 makes them. On a journal of an older version the existing
    /// tables stay as they are until its migrations run; the indexes come after (`indexes`).
    static let tables = """
        CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS txns(\(txnsColumns));
        CREATE TABLE IF NOT EXISTS changes(
            seq INTEGER PRIMARY KEY,
            gid TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state = 'final' OR state = 'held' OR state = 'confirmed' OR state = 'released'),
            at_ms INTEGER NOT NULL,
            txn INTEGER
        );
        INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', '6');
        -- Version 2 → 3 was the buyer index, nothing else (in memory now: `BuyerTable`).
        UPDATE meta SET value = '3' WHERE key = 'schema_version' AND value = '2';
        """

    /// The columns of `txns`; no PRIMARY KEY: the gid's uniqueness is the writer's, through
    /// `GidTable` (a retry finds its row there before it would insert one).
    static let txnsColumns = """
            gid TEXT NOT NULL,
            item TEXT NOT NULL,
            round INTEGER NOT NULL,
            user TEXT NOT NULL,
            request_id TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state = 'prepared' OR state = 'succeeded' OR state = 'failed'),
            reason TEXT,
            order_id TEXT,
            created_ms INTEGER NOT NULL,
            updated_ms INTEGER NOT NULL,
            next_check_ms INTEGER NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            ordered_ms INTEGER,
            hold TEXT CHECK (hold = 'held' OR hold = 'confirming' OR hold = 'releasing' OR hold = 'confirmed' OR hold = 'released'),
            expires_ms INTEGER,
            release_cause TEXT,
            CHECK ((state = 'succeeded') = (order_id IS NOT NULL))
        """

    /// After any migration: the indexes and the `orders` view for the sqlite3 shell.
    static let indexes = """
        -- Partial, each of one state: an entry is written only when a row enters that state.
        CREATE INDEX IF NOT EXISTS txns_orders ON txns(item, round) WHERE state = 'succeeded';
        CREATE INDEX IF NOT EXISTS txns_pending ON txns(state) WHERE state = 'prepared';
        CREATE INDEX IF NOT EXISTS txns_failed ON txns(state) WHERE state = 'failed';
        -- Their place was taken by the three above; each row moved its entry in both when it
        -- became an order.
        DROP INDEX IF EXISTS txns_item;
        DROP INDEX IF EXISTS txns_state;
        -- A buyer's orders are found through the journal's memory (`BuyerTable`).
        DROP INDEX IF EXISTS txns_user;
        -- The confirms and releases journaled and not finished; a row is in it only while an
        -- intent is, so a purchase writes no entry.
        CREATE INDEX IF NOT EXISTS txns_hold_intent ON txns(gid) WHERE hold IN ('confirming', 'releasing');
        CREATE VIEW IF NOT EXISTS orders AS
            SELECT order_id, gid, item, round, user, request_id, ordered_ms AS created_ms FROM txns WHERE state = 'succeeded';
        """

    /// Version 1 → 2, in one transaction: each order moves into its transaction's row.
    static let migrateFrom1 = """
        BEGIN IMMEDIATE;
        ALTER TABLE txns ADD COLUMN ordered_ms INTEGER;
        UPDATE txns SET ordered_ms = (SELECT o.created_ms FROM orders o WHERE o.gid = txns.gid) WHERE state = 'succeeded';
        DROP INDEX IF EXISTS orders_item;
        DROP TABLE orders;
        DROP INDEX IF EXISTS txns_prepared;
        CREATE INDEX txns_item ON txns(item, round, state);
        CREATE VIEW orders AS
            SELECT order_id, gid, item, round, user, request_id, ordered_ms AS created_ms FROM txns WHERE state = 'succeeded';
        UPDATE meta SET value = '2' WHERE key = 'schema_version';
        COMMIT;
        """

    /// Version 3 → 4, in one transaction: the hold columns (NULL: every order so far is final).
    static let migrateFrom3 = """
        BEGIN IMMEDIATE;
        ALTER TABLE txns ADD COLUMN hold TEXT CHECK (hold IN ('held', 'confirming', 'releasing', 'confirmed', 'released'));
        ALTER TABLE txns ADD COLUMN expires_ms INTEGER;
        ALTER TABLE txns ADD COLUMN release_cause TEXT;
        UPDATE meta SET value = '4' WHERE key = 'schema_version';
        COMMIT;
        """

    /// Version 4 → 5, in one transaction: the outbox, filled with every order so far in the
    /// order they were made, each in the state it has now (its earlier states are gone). `tables`
    /// has made the table already, empty, as it runs first on every open; version 5 → 6 names
    /// each change's row.
    static let migrateFrom4 = """
        BEGIN IMMEDIATE;
        INSERT INTO changes(gid, state, at_ms)
            SELECT gid, CASE WHEN hold IS NULL THEN 'final' WHEN hold IN ('confirmed', 'released') THEN hold ELSE 'held' END,
                   updated_ms
            FROM txns WHERE state = 'succeeded' ORDER BY ordered_ms, gid;
        UPDATE meta SET value = '5' WHERE key = 'schema_version';
        COMMIT;
        """

    /// Version 5 → 6, in one transaction: the rows copied, in the order they were made, into a
    /// table with no gid key; each change gets its row's new rowid (through an index on the gid
    /// made for the copy and dropped after it). The old table's indexes go with it; `indexes`
    /// makes the new ones. A journal of version 5 has no `changes.txn`: `addTxnToChanges` runs
    /// first when the column is missing.
    static let migrateFrom5 = """
        BEGIN IMMEDIATE;
        DROP VIEW IF EXISTS orders;
        CREATE TABLE txns_appended(\(txnsColumns));
        INSERT INTO txns_appended(\(allColumns)) SELECT \(allColumns) FROM txns ORDER BY created_ms, gid;
        DROP TABLE txns;
        ALTER TABLE txns_appended RENAME TO txns;
        CREATE INDEX migrate_gid ON txns(gid);
        UPDATE changes SET txn = (SELECT rowid FROM txns WHERE txns.gid = changes.gid);
        DROP INDEX migrate_gid;
        -- Counted again at open (a journal turned back to an older schema by hand may keep them).
        DELETE FROM meta WHERE key IN ('orders_total', 'pending_total');
        UPDATE meta SET value = '6' WHERE key = 'schema_version';
        COMMIT;
        """

    static let addTxnToChanges = "ALTER TABLE changes ADD COLUMN txn INTEGER"

    /// The CHECKs that earlier versions wrote as IN lists, and the same tests as `tables` and
    /// `txnsColumns` write them now, as ORs. For an IN list of three or more constants SQLite
    /// builds an ephemeral table each time a statement runs: a B-tree opened, filled and closed
    /// per row written, four times a purchase, about 8 of the writer's 30 µs (BENCHMARKS.md).
    /// The same rows pass either way, so `rewriteListChecks` edits the tables' text in place.
    static let listChecks = [
        ("state IN ('prepared', 'succeeded', 'failed')", "state = 'prepared' OR state = 'succeeded' OR state = 'failed'"),
        ("hold IN ('held', 'confirming', 'releasing', 'confirmed', 'released')",
         "hold = 'held' OR hold = 'confirming' OR hold = 'releasing' OR hold = 'confirmed' OR hold = 'released'"),
        ("state IN ('final', 'held', 'confirmed', 'released')",
         "state = 'final' OR state = 'held' OR state = 'confirmed' OR state = 'released'"),
    ]

    /// Rewrites the IN-list CHECKs of `txns` and `changes` as `listChecks` says, in one
    /// transaction, by SQLite's documented way of changing a constraint that every row already
    /// satisfies (writable_schema, then a new schema_version, lang_altertable.html section 7).
    /// Nothing to do on a journal made by this version.
    static func rewriteListChecks(_ db: SQLiteDatabase) throws {
        var rewritten: [(table: String, sql: String)] = []
        for table in ["txns", "changes"] {
            let sql = try db.query("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", [.text(table)]) { s in
                try s.step() ? s.text(0) : nil
            }
            guard let sql else { continue }
            let new = listChecks.reduce(sql) { $0.replacing($1.0, with: $1.1) }
            if new != sql { rewritten.append((table, new)) }
        }
        guard !rewritten.isEmpty else { return }
        try db.execute("BEGIN IMMEDIATE")
        do {
            let version = try db.scalarInt("PRAGMA schema_version")
            try db.execute("PRAGMA writable_schema = ON")
            for (table, sql) in rewritten {
                try db.statement("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?").run([.text(sql), .text(table)])
            }
            try db.execute("PRAGMA schema_version = \(version + 1)")
            try db.execute("PRAGMA writable_schema = OFF")
            try db.execute("COMMIT")
        } catch {
            try? db.execute("PRAGMA writable_schema = OFF")
            if db.isInTransaction { try? db.execute("ROLLBACK") }
            throw error
        }
    }

    static let allColumns = txnColumns + ", ordered_ms, hold, expires_ms, release_cause"

    static let txnColumns = "gid, item, round, user, request_id, state, reason, order_id, created_ms, updated_ms, next_check_ms, attempts, last_error"
    static let orderColumns = "order_id, gid, item, round, user, request_id, ordered_ms, hold, expires_ms, release_cause"
    /// The same, of `txns` named `t` in a join.
    static let orderColumnsOfT = "t.order_id, t.gid, t.item, t.round, t.user, t.request_id, t.ordered_ms, t.hold, t.expires_ms, t.release_cause"
}
