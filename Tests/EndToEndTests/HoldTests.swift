import Foundation
import Testing
import TestSupport

/// Checkout holds against the real flashd, flashsalectl and redis-server (G7): a held order is
/// confirmed, cancelled or runs out; a released unit goes back to the next buyer once; a kill -9
/// at either new crash point is finished by the restarted daemon; any node decides any order.
@Suite(.serialized) struct HoldTests {
    func buy(_ node: FlashdProcess, _ user: String, _ request: String) throws -> (status: Int, body: [String: Any]) {
        try node.request("POST", "/v1/purchases", json: #"{"item":"sku","user":"\#(user)","request_id":"\#(request)"}"#)
    }

    func orderState(_ node: FlashdProcess, _ id: String) throws -> String? {
        try node.request("GET", "/v1/orders/\(id)").body["state"] as? String
    }

    /// Stock conservation with returns, from Redis and the journal read directly: units taken
    /// == orders that keep their unit (all but released).
    func conserved(_ node: FlashdProcess) throws -> Bool {
        let live = try node.sql("SELECT COUNT(*) FROM txns WHERE state = 'succeeded' AND IFNULL(hold, '') <> 'released'")
        return try node.redisTaken("sku") == Int(live)
    }

    @Test func aHeldOrderIsConfirmedCancelledOrRunsOutAndItsUnitSellsAgain() throws {
        let redis = try RedisServer()
        let node = try FlashdProcess(redis: redis)
        let created = try node.ctl("sale", "create", "sku", "--stock", "2", "--hold", "3s")
        #expect(created.status == 0 && created.stdout.contains("held 3 s"), "\(created)")

        let a = try buy(node, "ann", "r1")
        #expect(a.status == 201 && a.body["state"] as? String == "held" && a.body["expires_at"] is String, "\(a)")
        let b = try buy(node, "bob", "r2")
        #expect(b.status == 201)
        #expect(try buy(node, "cat", "r3").body["error"] as? String == "sold_out")
        let aID = try #require(a.body["order_id"] as? String)
        let bID = try #require(b.body["order_id"] as? String)

        // The shop confirms ann's (paid): again is still a success; a cancel now is refused.
        let confirm = try node.ctl("orders", "confirm", aID)
        #expect(confirm.status == 0 && confirm.stdout.contains("confirmed"), "\(confirm)")
        #expect(try node.ctl("orders", "confirm", aID).status == 0)
        let cancel = try node.ctl("orders", "cancel", aID)
        #expect(cancel.status == 5 && cancel.stderr.contains("confirmed"), "\(cancel)")

        // Bob never pays: at expires_at flashd releases his order and the unit sells again.
        try Wait.until(timeout: 10, "bob's hold to run out") { try orderState(node, bID) == "released" }
        #expect(try node.request("GET", "/v1/orders/\(bID)").body["release_cause"] as? String == "expired")
        #expect(try node.redisTaken("sku") == 1)
        let late = try node.request("POST", "/v1/orders/\(bID)/confirm")
        #expect(late.status == 409 && late.body["error"] as? String == "released", "\(late)")
        #expect(try node.request("POST", "/v1/orders/\(bID)/cancel").status == 200)
        try Wait.until(timeout: 5, "cat to get the returned unit") { try buy(node, "cat", UUID().uuidString).status == 201 }
        #expect(try node.redisTaken("sku") == 2)

        // Bob's slot came back too: he may buy again (sold out now, not limit_reached).
        #expect(try buy(node, "bob", "r4").body["error"] as? String == "sold_out")
        let listed = try node.ctl("orders", "--state", "released")
        #expect(listed.status == 0 && listed.stdout.contains(bID) && !listed.stdout.contains(aID), "\(listed)")
        let audit = try node.audit()
        let item = try #require((audit["items"] as? [[String: Any]])?.first)
        #expect(item["held"] as? Int == 1 && item["confirmed"] as? Int == 1 && item["released"] as? Int == 1, "\(audit)")
        #expect(try audit["consistent"] as? Bool == true && conserved(node))
    }

    static let crashCases: [(String, String)] = ["confirm", "cancel"].flatMap { v in ["after-intent", "after-decision"].map { (v, $0) } }

    /// kill -9 at each new crash point: the restarted daemon finishes the confirm or release
    /// before it answers, and the unit is returned once or not at all.
    @Test(arguments: crashCases)
    func aKilledConfirmOrCancelIsFinishedAfterTheRestart(verb: String, point: String) throws {
        let redis = try RedisServer()
        let node = try FlashdProcess(redis: redis)
        #expect(try node.ctl("sale", "create", "sku", "--stock", "3", "--hold", "1h").status == 0)
        let a = try buy(node, "ann", "r1")
        let id = try #require(a.body["order_id"] as? String)
        let r = try node.ctl("orders", verb, id, "--crash-after", point, "--crash-mode", "exit")
        #expect(r.status == 69, "\(r)")
        let (reason, status) = try node.waitForExit()
        #expect(reason == .uncaughtSignal && status == SIGKILL)
        try node.start()
        let want = verb == "confirm" ? "confirmed" : "released"
        // Recovery decides the intent before the socket accepts.
        #expect(try orderState(node, id) == want)
        #expect(try node.redisTaken("sku") == (verb == "confirm" ? 1 : 0))
        // Retried by the client, again and again: the same verdict, no second unit back.
        for _ in 0..<3 { #expect(try node.ctl("orders", verb, id).status == 0) }
        #expect(try node.redisTaken("sku") == (verb == "confirm" ? 1 : 0))
        #expect(try redis.cli("HGET", "e2e:usr:sku:1", "ann") == (verb == "confirm" ? "1" : "0"))
        #expect(try node.settled() && conserved(node))
    }

    /// Any node confirms or cancels any order, knowing only its id; the selling node's journal
    /// catches up by itself.
    @Test func anyNodeDecidesAnyOrderAndTheSellerCatchesUp() throws {
        let redis = try RedisServer()
        let a = try FlashdProcess(redis: redis, extraArgs: ["--node-id", "a"])
        let b = try FlashdProcess(redis: redis, extraArgs: ["--node-id", "b"])
        #expect(try a.ctl("sale", "create", "sku", "--stock", "4", "--limit-per-user", "2", "--hold", "1h").status == 0)
        let one = try #require(try buy(a, "ann", "r1").body["order_id"] as? String)
        let two = try #require(try buy(a, "ann", "r2").body["order_id"] as? String)
        let confirmed = try b.request("POST", "/v1/orders/\(one)/confirm")
        #expect(confirmed.status == 200 && confirmed.body["state"] as? String == "confirmed", "\(confirmed)")
        let cancelled = try b.request("POST", "/v1/orders/\(two)/cancel")
        #expect(cancelled.status == 200 && cancelled.body["state"] as? String == "released", "\(cancelled)")
        #expect(try a.redisTaken("sku") == 1)
        try Wait.until(timeout: 5, "node a's journal to catch up") {
            try a.sql("SELECT group_concat(hold) FROM (SELECT hold FROM txns ORDER BY hold)") == "confirmed,released"
        }
        // Asked on the seller now, the same verdicts.
        #expect(try a.request("POST", "/v1/orders/\(one)/cancel").body["error"] as? String == "confirmed")
        #expect(try a.request("POST", "/v1/orders/\(two)/confirm").body["error"] as? String == "released")
        #expect(try a.settled() && conserved(a))
        #expect(try b.request("POST", "/v1/orders/ord-a-00000000000000ff/confirm").status == 404)
    }

    /// A returned unit clears the sold-out flag on every node within the restock bound (the
    /// 200 ms refresh and a round trip): node b, which answered sold out, sells it again.
    @Test func aReturnedUnitClearsEveryNodesSoldOutFlag() throws {
        let redis = try RedisServer()
        let a = try FlashdProcess(redis: redis, extraArgs: ["--node-id", "a"])
        let b = try FlashdProcess(redis: redis, extraArgs: ["--node-id", "b"])
        #expect(try a.ctl("sale", "create", "sku", "--stock", "1", "--hold", "1h").status == 0)
        let id = try #require(try buy(a, "ann", "r1").body["order_id"] as? String)
        for i in 0..<3 { #expect(try buy(b, "bob", "s\(i)").body["error"] as? String == "sold_out") }
        try Wait.until(timeout: 5, "b's fast path to flag the sale") {
            try b.counter("sold_out_items") == 1
        }
        #expect(try a.request("POST", "/v1/orders/\(id)/cancel").status == 200)
        let started = Date()
        try Wait.until(timeout: 3, "b to sell the returned unit") { try buy(b, "bob", UUID().uuidString).status == 201 }
        #expect(Date().timeIntervalSince(started) < 1.5)
        #expect(try a.redisTaken("sku") == 1)
    }

    /// The hold schedule lives in memory: after a kill -9 it is rebuilt from the journal, and a
    /// hold made before the restart still runs out and returns its unit.
    @Test func aHoldMadeBeforeARestartStillRunsOut() throws {
        let redis = try RedisServer()
        let node = try FlashdProcess(redis: redis)
        #expect(try node.ctl("sale", "create", "sku", "--stock", "2", "--hold", "2s").status == 0)
        let id = try #require(try buy(node, "ann", "r1").body["order_id"] as? String)
        node.kill9()
        try node.start()
        #expect(try orderState(node, id) == "held")
        try Wait.until(timeout: 8, "the hold to run out after the restart") { try orderState(node, id) == "released" }
        #expect(try node.redisTaken("sku") == 0 && conserved(node))
    }

    /// A purchase's crash points are not a confirm's, and the other way round: a point that
    /// can't be reached is a 400, not a request that silently never crashes.
    @Test func crashPointsBelongToTheirVerb() throws {
        let redis = try RedisServer()
        let node = try FlashdProcess(redis: redis)
        #expect(try node.ctl("sale", "create", "sku", "--stock", "2", "--hold", "1h").status == 0)
        let wrongBuy = try node.request("POST", "/v1/purchases", json: #"{"item":"sku","user":"a","crash_after":"after-intent"}"#)
        #expect(wrongBuy.status == 400 && wrongBuy.body["field"] as? String == "crash_after", "\(wrongBuy)")
        let id = try #require(try buy(node, "ann", "r1").body["order_id"] as? String)
        let wrongConfirm = try node.request("POST", "/v1/orders/\(id)/confirm", json: #"{"crash_after":"after-stock"}"#)
        #expect(wrongConfirm.status == 400 && (wrongConfirm.body["message"] as? String ?? "").contains("after-intent"), "\(wrongConfirm)")
        #expect(try node.request("POST", "/v1/orders/\(id)/confirm", json: #"{"crash_mode":"exit"}"#).status == 400)
        #expect(try orderState(node, id) == "held")
        #expect(try node.request("POST", "/v1/orders/nonsense/confirm").status == 400)
    }
}
