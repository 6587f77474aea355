import Foundation
import SQLiteStore
import TestSupport
import Testing

/// The SQLite wrapper on real files: values in and out through bound parameters, cached
/// statements that start clean, errors carrying SQLite's codes, and which of those are the
/// environment's (retry may help) rather than the program's.
@Suite struct SQLiteStoreTests {
    let dir: String
    init() throws { dir = try TempDir.make(prefix: "sq") }

    func open() throws -> SQLiteDatabase {
        let db = try SQLiteDatabase(path: dir + "/t.db")
        try db.execute("CREATE TABLE IF NOT EXISTS t (k TEXT PRIMARY KEY, n INTEGER, note TEXT)")
        return db
    }

    @Test func boundValuesComeBackAsTheyWent() throws {
        let db = try open()
        defer { db.close() }
        // Quotes and SQL in a value are data, never SQL: it only reaches SQLite bound.
        let tricky = "x'); DROP TABLE t; -- é ✓"
        try db.statement("INSERT INTO t VALUES (?, ?, ?)").run([.text(tricky), .int(.min), .null])
        try db.statement("INSERT INTO t VALUES (?, ?, ?)").run([.text("b"), .int(.max), .text("")])
        #expect(db.changes == 1)
        let rows = try db.query("SELECT k, n, note FROM t ORDER BY n") { s in
            var out: [(String?, Int64, String?)] = []
            while try s.step() { out.append((s.text(0), s.int(1), s.text(2))) }
            return out
        }
        #expect(rows.count == 2)
        #expect(rows[0].0 == tricky && rows[0].1 == .min && rows[0].2 == nil)
        #expect(rows[1].0 == "b" && rows[1].1 == .max && rows[1].2 == "")
        #expect(try db.scalarInt("SELECT count(*) FROM t WHERE n > ?", [.int(0)]) == 1)
        #expect(try db.scalarInt("SELECT n FROM t WHERE k = ?", [.text("none")]) == 0)
    }

    @Test func aCachedStatementStartsCleanAfterAnAbandonedRead() throws {
        let db = try open()
        defer { db.close() }
        for k in ["a", "b", "c"] { try db.statement("INSERT INTO t VALUES (?, 1, NULL)").run([.text(k)]) }
        let s = try db.statement("SELECT k FROM t ORDER BY k")
        #expect(try s.step() && s.text(0) == "a")
        // Asked for again mid-result, the same SQL restarts from the first row.
        let again = try db.statement("SELECT k FROM t ORDER BY k")
        #expect(try again.step() && again.text(0) == "a")
        // Reset, it holds no read lock: another connection can commit a write (a reader's
        // SHARED lock would make that commit BUSY).
        again.reset()
        let writer = try open()
        defer { writer.close() }
        try writer.execute("INSERT INTO t VALUES ('d', 1, NULL)")
        #expect(try db.scalarInt("SELECT count(*) FROM t") == 4)
    }

    @Test func aConstraintIsTheProgramsFaultNotTheEnvironments() throws {
        let db = try open()
        defer { db.close() }
        try db.statement("INSERT INTO t VALUES ('k', 1, NULL)").run([])
        do {
            try db.statement("INSERT INTO t VALUES ('k', 2, NULL)").run([])
            Issue.record("a duplicate key was accepted")
        } catch let e as SQLiteError {
            #expect(e.code & 0xff == 19)  // SQLITE_CONSTRAINT, extended to PRIMARYKEY
            #expect(e.code == 1555 && !e.isEnvironmental)
        }
        do {
            _ = try db.statement("SELECT nope FROM t")
            Issue.record("bad SQL prepared")
        } catch let e as SQLiteError {
            #expect(e.code == 1 && !e.isEnvironmental && e.message.contains("no such column"))
        }
    }

    @Test func aLockedDatabaseIsTheEnvironments() throws {
        let a = try open()
        let b = try open()
        defer { a.close(); b.close() }
        try a.execute("BEGIN IMMEDIATE")
        do {
            try b.execute("BEGIN IMMEDIATE")
            Issue.record("two writers at once")
        } catch let e as SQLiteError {
            #expect(e.code & 0xff == 5 && e.isEnvironmental)  // SQLITE_BUSY: may pass, so 503 and retry
        }
        #expect(a.isInTransaction && !b.isInTransaction)
        try a.execute("COMMIT")
        #expect(!a.isInTransaction)
    }

    @Test func aClosedDatabaseRefusesRatherThanTouchingFreedMemory() throws {
        let db = try open()
        db.close()
        db.close()  // twice is harmless
        do {
            _ = try db.statement("SELECT 1")
            Issue.record("a closed database answered")
        } catch let e as SQLiteError {
            #expect(e.code == 21)  // SQLITE_MISUSE
        }
    }

    @Test func anUnopenablePathSaysWhy() {
        do {
            _ = try SQLiteDatabase(path: dir + "/no/such/dir/t.db")
            Issue.record("opened a file in a missing directory")
        } catch let e as SQLiteError {
            #expect(e.code & 0xff == 14 && e.isEnvironmental && e.message.contains("open"))  // SQLITE_CANTOPEN
        } catch {
            Issue.record("\(error)")
        }
    }
}
