import Foundation
import Testing
import TestSupport

/// Several flashd nodes on one Redis (issue 6, first part): one process per node id and per
/// state directory, and an audit summed over nodes that holds G1 and G2 across them.
@Suite(.serialized) struct SeveralNodesTests {
    @Test func aSecondProcessWithALiveNodeIDIsRefusedAndARestartIsNot() throws {
        let redis = try RedisServer()
        let first = try FlashdProcess(redis: redis)  // node id "test"
        #expect(throws: (any Error).self) { _ = try FlashdProcess(redis: redis) }  // same id, another state dir
        let refused = try Shell.runStatus(FlashdProcess.binDir + "/flashd", [
            "--socket", first.dir + "/second.sock", "--redis", redis.endpoint, "--redis-prefix", "e2e:",
            "--state-dir", first.dir + "/second-state", "--node-id", "test",
        ])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("node id test is live in Redis"), "\(refused.stderr)")

        // Two processes on one journal: refused whatever their node ids.
        let sameDir = try Shell.runStatus(FlashdProcess.binDir + "/flashd", [
            "--socket", first.dir + "/third.sock", "--redis", redis.endpoint, "--redis-prefix", "e2e:",
            "--state-dir", first.dir + "/state", "--node-id", "another",
        ])
        #expect(sameDir.status != 0 && sameDir.stderr.contains("another flashd is running on the state directory"), "\(sameDir.stderr)")

        // The node itself, killed and started again at once, takes its lease straight back.
        try first.createSale("sku", stock: 5)
        first.kill9()
        try first.start()
        #expect(first.lastStartSeconds < 5)
        #expect(try first.request("POST", "/v1/purchases", json: #"{"item":"sku","user":"u"}"#).status == 201)
        let counters = try first.request("GET", "/v1/status").body["counters"] as? [String: Any]
        #expect(counters?["node_lease_held"] as? Int == 1)
    }

    /// The lease is what keeps two processes from making the same gids: a node whose id is
    /// taken over stops selling (503 node_conflict, the sold-out fast path too) at its next
    /// renewal, and resumes once the id is free again.
    @Test func aNodeWhoseIDIsTakenOverStopsSellingUntilItIsFree() throws {
        let redis = try RedisServer()
        let node = try FlashdProcess(redis: redis)
        try node.createSale("sku", stock: 1000)
        var n = 0
        func buy() throws -> (status: Int, body: [String: Any]) {
            n += 1
            return try node.request("POST", "/v1/purchases", json: #"{"item":"sku","user":"u\#(n)"}"#)
        }
        #expect(try buy().status == 201)
        _ = try redis.cli("SET", "e2e:node:test", "intruder", "PX", "60000")
        try Wait.until(timeout: 8, "the node to notice the takeover at a renewal") {
            let r = try buy()
            return r.status == 503 && r.body["error"] as? String == "node_conflict"
        }
        #expect(try buy().status == 503)
        _ = try redis.cli("DEL", "e2e:node:test")
        try Wait.until(timeout: 5, "purchases to resume once the id is free") { try buy().status == 201 }
        // A purchase that Redis refused for want of the lease was journaled first: it settles
        // (rolls back) by itself once the id is this process's again.
        try Wait.until(timeout: 5, "the refused purchases to settle") { try node.settled() }
    }

    @Test func auditOverSeveralNodesSumsTheirOrders() throws {
        let redis = try RedisServer()
        let a = try FlashdProcess(redis: redis, extraArgs: ["--node-id", "node-a"])
        let b = try FlashdProcess(redis: redis, extraArgs: ["--node-id", "node-b"])
        try a.createSale("sku", stock: 30)
        // 60 buyers over both nodes: stock 30 sells out exactly, across them.
        var ordered = 0
        for i in 0..<60 {
            let node = i % 2 == 0 ? a : b
            let r = try node.request("POST", "/v1/purchases", json: #"{"item":"sku","user":"u\#(i)","request_id":"r\#(i)"}"#)
            if r.status == 201 { ordered += 1 }
        }
        #expect(ordered == 30)
        // ctl passes a's socket first; b's is added.
        let both = try a.ctl("--socket", b.socketPath, "audit")
        #expect(both.status == 0, "\(both)")
        #expect(both.stdout.contains("ok    sku round 1: taken 30 of 30, 30 orders, 0 pending"), "\(both.stdout)")
        #expect(both.stdout.contains("audit over 2 nodes (node-a, node-b): consistent"))
        let json = try a.ctl("--json", "--socket", b.socketPath, "audit")
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(obj["consistent"] as? Bool == true && (obj["nodes"] as? [String]) == ["node-a", "node-b"])
        // One node alone sees Redis' 30 taken against its own share of the orders.
        #expect(try a.ctl("audit").status == 7)
        // The same node under two paths is refused rather than counted twice.
        try FileManager.default.createSymbolicLink(atPath: a.dir + "/alias.sock", withDestinationPath: a.socketPath)
        let twice = try a.ctl("--socket", a.dir + "/alias.sock", "audit")
        #expect(twice.status == 1 && twice.stderr.contains("node node-a answers on two of the sockets"), "\(twice)")
        // A unit taken behind every node's back is drift over the cluster too.
        _ = try redis.cli("HINCRBY", "e2e:sale:sku", "stock", "-1")
        #expect(try a.ctl("--socket", b.socketPath, "audit").status == 7)
    }
}
