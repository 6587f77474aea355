import Foundation
import Testing
import TestSupport

/// Every fault-injection point, in both modes: afterwards every transaction is resolved by the
/// daemon itself and the audit is consistent (G2, G3, G4).
@Suite(.serialized) struct CrashPointTests {
    static let cases: [(String, String)] = ["after-journal", "after-stock", "before-order"].flatMap { p in
        ["abandon", "exit"].map { (p, $0) }
    }

    @Test(arguments: cases)
    func crashIsResolved(point: String, mode: String) throws {
        let redis = try RedisServer()
        let flashd = try FlashdProcess(redis: redis, checkDelay: 1)
        try flashd.createSale("sku", stock: 5)
        let r = try flashd.ctl("buy", "sku", "--user", "alice", "--request-id", "r1", "--crash-after", point, "--crash-mode", mode)
        // The crashed purchase is never reported as a success: abandon is a refusal (5), exit a
        // connection lost mid-request (69, "retry with the same request id").
        #expect(r.status == (mode == "exit" ? 69 : 5), "buy: \(r)")

        if mode == "exit" {
            let (reason, status) = try flashd.waitForExit()
            #expect(reason == .uncaughtSignal && status == SIGKILL)
            try flashd.start()
            // Recovery runs before the socket accepts: the first answer is already settled.
            let audit = try flashd.audit()
            #expect(try flashd.settled(), "not settled right after restart: \(audit)")
        } else {
            #expect(r.stderr.contains("fault_injected"))
            try Wait.until(timeout: 1 + 2, "the timeout check to settle \(point)") { try flashd.settled() }
        }

        let deducted = point != "after-journal"
        let orders = try flashd.sql("SELECT COUNT(*) FROM orders")
        #expect(orders == (deducted ? "1" : "0"))
        #expect(try flashd.redisTaken("sku") == (deducted ? 1 : 0))
        let state = try flashd.sql("SELECT state || ':' || IFNULL(reason, '') FROM txns")
        #expect(state == (deducted ? "succeeded:" : "failed:rolled_back"))

        // A retry of the same purchase returns the settled outcome and never buys twice.
        let retry = try flashd.ctl("buy", "sku", "--user", "alice", "--request-id", "r1")
        #expect(retry.status == (deducted ? 0 : 5), "retry: \(retry)")
        #expect(try flashd.sql("SELECT COUNT(*) FROM orders") == (deducted ? "1" : "0"))
        #expect(try flashd.redisTaken("sku") == (deducted ? 1 : 0))
        if deducted { #expect(retry.stdout.contains("replayed")) }
    }

    /// dtm#553: a retry of a purchase that is still prepared back-checks it at once instead of
    /// waiting for the timeout check.
    @Test func retryOfPreparedPurchaseSettlesItAtOnce() throws {
        let redis = try RedisServer()
        let flashd = try FlashdProcess(redis: redis, checkDelay: 30)
        try flashd.createSale("sku", stock: 5)
        let crash = try flashd.ctl("buy", "sku", "--user", "bob", "--request-id", "r9", "--crash-after", "after-stock")
        #expect(crash.status == 5)
        #expect(try flashd.sql("SELECT state FROM txns") == "prepared")
        let started = Date()
        let retry = try flashd.ctl("--json", "buy", "sku", "--user", "bob", "--request-id", "r9")
        #expect(retry.status == 0)
        #expect(Date().timeIntervalSince(started) < 5)
        #expect(try flashd.sql("SELECT state FROM txns") == "succeeded")
        #expect(try flashd.settled())
    }
}
