/// The journal's tables. States and reasons are stored as text so `sqlite3 flashd.db` shows
/// them plainly to an operator (and to the torture test, which reads the file directly).
enum JournalSchema {
    static let version = 1

    static let create = """
        CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS txns(
            gid TEXT PRIMARY KEY,
            item TEXT NOT NULL,
            round INTEGER NOT NULL,
            user TEXT NOT NULL,
            request_id TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('prepared', 'succeeded', 'failed')),
            reason TEXT,
            order_id TEXT,
            created_ms INTEGER NOT NULL,
            updated_ms INTEGER NOT NULL,
            next_check_ms INTEGER NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT
        );
        CREATE INDEX IF NOT EXISTS txns_prepared ON txns(item, round) WHERE state = 'prepared';
        CREATE INDEX IF NOT EXISTS txns_state ON txns(state, created_ms);
        CREATE TABLE IF NOT EXISTS orders(
            order_id TEXT PRIMARY KEY,
            gid TEXT NOT NULL UNIQUE REFERENCES txns(gid),
            item TEXT NOT NULL,
            round INTEGER NOT NULL,
            user TEXT NOT NULL,
            request_id TEXT NOT NULL,
            created_ms INTEGER NOT NULL
        );
        CREATE INDEX IF NOT EXISTS orders_item ON orders(item, round);
        INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', '1');
        """

    static let txnColumns = "gid, item, round, user, request_id, state, reason, order_id, created_ms, updated_ms, next_check_ms, attempts, last_error"
    static let orderColumns = "order_id, gid, item, round, user, request_id, created_ms"
}
