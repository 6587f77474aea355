import FlashCore
import FlashStorage
import Foundation
import Testing
import TestSupport

/// The journal's CHECKs are ORs, not IN lists: for an IN list of three or more constants
/// SQLite builds a table per statement run, four times a purchase (`JournalSchema.listChecks`).
/// A journal an older flashd made has the IN lists; it opens with the ORs, its rows intact,
/// and the CHECKs still refuse what they refused.
@Suite struct JournalChecksTests {
    let dir: String
    var path: String { dir + "/j.db" }

    init() throws { dir = try TempDir.make(prefix: "jc") }

    func sql(_ text: String) throws -> String {
        try Shell.run(try Executables.find("sqlite3"), [path, text])
    }

    /// What an older flashd wrote: the same tables with IN lists (through SQLite's documented
    /// way to edit a constraint, as the journal does the other way).
    func putBackTheLists() throws {
        var edits = ""
        for (list, ors) in [("state IN ('prepared', 'succeeded', 'failed')", "state = 'prepared' OR state = 'succeeded' OR state = 'failed'"),
                            ("hold IN ('held', 'confirming', 'releasing', 'confirmed', 'released')",
                             "hold = 'held' OR hold = 'confirming' OR hold = 'releasing' OR hold = 'confirmed' OR hold = 'released'"),
                            ("state IN ('final', 'held', 'confirmed', 'released')",
                             "state = 'final' OR state = 'held' OR state = 'confirmed' OR state = 'released'")] {
            let quote = { (s: String) in "'" + s.replacingOccurrences(of: "'", with: "''") + "'" }
            edits += "UPDATE sqlite_master SET sql = replace(sql, \(quote(ors)), \(quote(list))) WHERE name IN ('txns', 'changes');\n"
        }
        let version = Int(try sql("PRAGMA schema_version").trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        _ = try sql("BEGIN; PRAGMA writable_schema = ON;\n\(edits)PRAGMA schema_version = \(version + 1); PRAGMA writable_schema = OFF; COMMIT;")
    }

    @Test func anOlderJournalsListsBecomeORsAndStillRefuse() async throws {
        let first = try await SQLiteJournal(path: path)
        for i in 0..<6 {
            let gid = "g\(i)"
            _ = try await first.prepare(TxnRecord(gid: gid, item: "sku", round: 1, user: "u\(i)", requestID: "r\(i)",
                                                  createdMs: 1000, updatedMs: 1000, nextCheckMs: 4000))
            if i % 2 == 0 {
                _ = try await first.commitOrder(Order(orderID: "ord-\(gid)", gid: gid, item: "sku", round: 1, user: "u\(i)",
                                                      requestID: "r\(i)", createdMs: 2000), nowMs: 2000)
            }
        }
        await first.close()
        try putBackTheLists()
        let older = try sql("SELECT sql FROM sqlite_master WHERE name IN ('txns', 'changes')")
        #expect(older.contains("state IN ('prepared', 'succeeded', 'failed')") && older.contains("hold IN ('held', ")
                && older.contains("state IN ('final', "), "\(older)")

        let j = try await SQLiteJournal(path: path)
        #expect(try await j.counts(item: "sku", round: 1) == (3, 3))
        #expect(try await j.preparedTransactions().map(\.gid).sorted() == ["g1", "g3", "g5"])
        await j.close()
        #expect(try sql("PRAGMA integrity_check") == "ok\n")
        let tables = try sql("SELECT sql FROM sqlite_master WHERE name IN ('txns', 'changes')")
        #expect(!tables.contains(" IN ("), "\(tables)")
        #expect(tables.contains("state = 'prepared' OR state = 'succeeded' OR state = 'failed'"))

        // What a purchase runs builds no table of a list.
        for statement in [
            "INSERT INTO txns(gid, item, round, user, request_id, state, created_ms, updated_ms, next_check_ms) VALUES ('x', 'sku', 1, 'u', 'r', 'prepared', 1, 1, 1)",
            "UPDATE txns SET state = 'succeeded', order_id = 'o', updated_ms = 2, ordered_ms = 2 WHERE rowid = 1",
            "INSERT INTO changes(gid, txn, state, at_ms) VALUES ('x', 1, 'final', 2)",
        ] {
            let program = try sql("EXPLAIN " + statement)
            #expect(!program.contains("OpenEphemeral"), "\(statement)")
        }
        // And the CHECKs refuse what they refused.
        for bad in [
            "INSERT INTO txns(gid, item, round, user, request_id, state, created_ms, updated_ms, next_check_ms) VALUES ('x', 'sku', 1, 'u', 'r', 'maybe', 1, 1, 1)",
            "UPDATE txns SET hold = 'kept' WHERE gid = 'g0'",
            "INSERT INTO changes(gid, txn, state, at_ms) VALUES ('x', 1, 'lost', 2)",
        ] {
            #expect(throws: (any Error).self, "\(bad)") { _ = try sql(bad) }
        }
        #expect(try sql("SELECT COUNT(*) FROM txns WHERE state NOT IN ('prepared', 'succeeded', 'failed')") == "0\n")
    }
}
