import Foundation
import Testing
import TestSupport

/// A journal written by schema 2 (rows keyed by gid, no holds, no outbox) with purchases left
/// prepared by a kill -9: the new flashd migrates it to the appended layout of schema 6 and its
/// recovery settles every one of them from the migrated rows (G3, G4).
@Suite(.serialized) struct JournalMigrationTests {
    /// Schema 6's `txns` and `changes` turned back into schema 2's by hand, as a journal left by
    /// that version would be: the gid the primary key, and none of the later columns or tables.
    static let downgradeTo2 = """
        BEGIN;
        DROP VIEW orders;
        CREATE TABLE txns2(gid TEXT PRIMARY KEY, item TEXT NOT NULL, round INTEGER NOT NULL, user TEXT NOT NULL,
          request_id TEXT NOT NULL, state TEXT NOT NULL CHECK (state IN ('prepared', 'succeeded', 'failed')), reason TEXT,
          order_id TEXT, created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL, next_check_ms INTEGER NOT NULL,
          attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, ordered_ms INTEGER,
          CHECK ((state = 'succeeded') = (order_id IS NOT NULL)));
        INSERT INTO txns2 SELECT gid, item, round, user, request_id, state, reason, order_id, created_ms, updated_ms,
          next_check_ms, attempts, last_error, ordered_ms FROM txns ORDER BY gid;
        DROP TABLE txns;
        ALTER TABLE txns2 RENAME TO txns;
        CREATE INDEX txns_item ON txns(item, round, state);
        CREATE INDEX txns_state ON txns(state, created_ms);
        CREATE VIEW orders AS
          SELECT order_id, gid, item, round, user, request_id, ordered_ms AS created_ms FROM txns WHERE state = 'succeeded';
        DROP TABLE changes;
        UPDATE meta SET value = '2' WHERE key = 'schema_version';
        COMMIT;
        """

    @Test func aSchema2JournalWithPreparedRowsIsMigratedAndRecovered() throws {
        let redis = try RedisServer()
        // A long check delay: the abandoned purchases stay prepared until the restart.
        let flashd = try FlashdProcess(redis: redis, checkDelay: 600)
        try flashd.createSale("sku", stock: 10)
        #expect(try flashd.ctl("buy", "sku", "--user", "done", "--request-id", "r0").status == 0)
        // Two deducted in Redis and then abandoned (they must become orders), one abandoned
        // before Redis was asked (it must be rolled back).
        for (user, point) in [("ann", "after-stock"), ("ben", "after-stock"), ("cat", "after-journal")] {
            let r = try flashd.ctl("buy", "sku", "--user", user, "--request-id", "r1", "--crash-after", point)
            #expect(r.status == 5, "buy \(user): \(r)")
        }
        #expect(try flashd.sql("SELECT COUNT(*) FROM txns WHERE state = 'prepared'") == "3")
        flashd.kill9()
        _ = try Shell.run(try Executables.find("sqlite3"), [flashd.journalPath, Self.downgradeTo2])
        #expect(try flashd.sql("SELECT value FROM meta WHERE key = 'schema_version'") == "2")
        #expect(try flashd.sql("SELECT COUNT(*) FROM sqlite_master WHERE name = 'sqlite_autoindex_txns_1'") == "1")

        try flashd.start()
        // Recovery ran before the socket answered: nothing pending, the audit consistent.
        let audit = try flashd.audit()
        #expect(try flashd.settled(), "\(audit)")
        #expect(try flashd.sql("SELECT value FROM meta WHERE key = 'schema_version'") == "6")
        #expect(try flashd.sql("SELECT COUNT(*) FROM sqlite_master WHERE name = 'sqlite_autoindex_txns_1'") == "0",
                "the migrated table has no gid key")
        #expect(try flashd.sql("SELECT user || ':' || state FROM txns ORDER BY user") ==
                "ann:succeeded\nben:succeeded\ncat:failed\ndone:succeeded")
        #expect(try flashd.redisTaken("sku") == 3)
        // Every order is in the outbox, each change naming its row.
        #expect(try flashd.sql("SELECT COUNT(*) FROM changes c JOIN txns t ON t.rowid = c.txn AND t.gid = c.gid") == "3")

        // Retries find their migrated rows: the same orders, replayed, nothing bought twice.
        for user in ["ann", "done"] {
            let retry = try flashd.ctl("buy", "sku", "--user", user, "--request-id", user == "done" ? "r0" : "r1")
            #expect(retry.status == 0 && retry.stdout.contains("replayed"), "retry \(user): \(retry)")
        }
        #expect(try flashd.ctl("buy", "sku", "--user", "cat", "--request-id", "r1").status == 5)
        #expect(try flashd.sql("SELECT COUNT(*) FROM txns") == "4")
        #expect(try flashd.redisTaken("sku") == 3)
        // New purchases append after the migrated rows.
        #expect(try flashd.ctl("buy", "sku", "--user", "dan", "--request-id", "r1").status == 0)
        #expect(try flashd.sql("SELECT user FROM txns ORDER BY rowid DESC LIMIT 1") == "dan")
        #expect(try flashd.settled())
    }
}
