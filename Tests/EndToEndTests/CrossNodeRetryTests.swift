import Foundation
import Testing
import TestSupport

/// A request id is idempotent across nodes (issue 11): a retry that a load balancer sends to
/// another node gets the same order, takes no second unit, and needs no call to the node that
/// took it, also once the item sold out (the fast path) and after a kill -9 mid-purchase.
@Suite(.serialized) struct CrossNodeRetryTests {
    func buy(_ f: FlashdProcess, _ user: String, _ requestID: String) throws -> (status: Int, body: [String: Any]) {
        try f.request("POST", "/v1/purchases", json: #"{"item":"sku","user":"\#(user)","request_id":"\#(requestID)"}"#)
    }

    @Test func aRetryOnAnotherNodeGetsTheSameOrderAndTakesOneUnit() throws {
        let redis = try RedisServer()
        let a = try FlashdProcess(redis: redis, extraArgs: ["--node-id", "node-a"])
        let b = try FlashdProcess(redis: redis, extraArgs: ["--node-id", "node-b"])
        try Wait.until(timeout: 10, "the gate to read the journal") { try b.counter("sold_out_gate_open") == 1 }
        try a.createSale("sku", stock: 3)
        let first = try buy(a, "alice", "r1")
        let order = try #require(first.body["order_id"] as? String)
        #expect(first.status == 201 && order.hasPrefix("ord-node-a-"))
        let again = try buy(b, "alice", "r1")
        #expect(again.status == 201 && again.body["order_id"] as? String == order && again.body["replayed"] as? Bool == true, "\(again)")
        #expect(try a.redisTaken("sku") == 1)
        #expect(try b.sql("SELECT COUNT(*) FROM txns") == "0", "node b keeps no row for a purchase it did not make")
        // The terminal's view, through node b.
        let ctl = try b.ctl("buy", "sku", "--user", "alice", "--request-id", "r1")
        #expect(ctl.status == 0 && ctl.stdout.contains(order) && ctl.stdout.contains("replayed"), "\(ctl)")

        // Sold out on node a; node b learns it from its own refusal and then answers fast, but
        // never to a retry of an order node a made.
        #expect(try buy(a, "bob", "r1").status == 201)
        let carol = try buy(a, "carol", "r1")
        #expect(carol.status == 201)
        #expect(try buy(b, "dave", "r1").status == 409)
        var n = 0
        try Wait.until(timeout: 5, "node b to answer sold out on its fast path") {
            n += 1
            return try buy(b, "x\(n)", "r").status == 409 && b.counter("sold_out_fast") >= 1
        }
        for (user, id) in [("alice", order), ("carol", carol.body["order_id"] as? String ?? "?")] {
            let r = try buy(b, user, "r1")
            #expect(r.status == 201 && r.body["order_id"] as? String == id, "\(user) on node b after the sell-out: \(r)")
        }
        #expect(try a.redisTaken("sku") == 3)
        #expect(try b.counter("answered_from_other_node") >= 4)
        let audit = try a.ctl("--socket", b.socketPath, "audit")
        #expect(audit.status == 0 && audit.stdout.contains("taken 3 of 3, 3 orders, 0 pending"), "\(audit)")
    }

    /// Node b took the request first and was killed after its journal write; the client's retry
    /// went to node a, which sold. Node b's recovery finds that order in Redis' record and drops
    /// its own row, and a later retry on node b answers with node a's order.
    @Test func anAttemptKilledOnOneNodeIsDroppedOnceTheRequestOrderedOnAnother() throws {
        let redis = try RedisServer()
        let a = try FlashdProcess(redis: redis, extraArgs: ["--node-id", "node-a"])
        let b = try FlashdProcess(redis: redis, extraArgs: ["--node-id", "node-b"])
        try a.createSale("sku", stock: 5)
        let crash = try b.ctl("buy", "sku", "--user", "erin", "--request-id", "e1", "--crash-after", "after-journal", "--crash-mode", "exit")
        #expect(crash.status == 69, "\(crash)")
        _ = try b.waitForExit()
        #expect(try b.sql("SELECT state FROM txns") == "prepared")
        let sold = try buy(a, "erin", "e1")
        let order = try #require(sold.body["order_id"] as? String)
        #expect(sold.status == 201)
        try b.start()
        #expect(try b.sql("SELECT COUNT(*) FROM txns") == "0", "recovery dropped the row instead of rolling it back")
        let retry = try buy(b, "erin", "e1")
        #expect(retry.status == 201 && retry.body["order_id"] as? String == order, "\(retry)")
        #expect(try a.redisTaken("sku") == 1)
        let audit = try a.ctl("--socket", b.socketPath, "audit")
        #expect(audit.status == 0 && audit.stdout.contains("taken 1 of 5, 1 orders, 0 pending"), "\(audit)")
    }
}
