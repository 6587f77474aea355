import Foundation
import Synchronization
import Testing
import TestSupport

/// A Redis failover under a running sale (issue 6): a primary, one replica and three
/// sentinels on loopback, two flashd nodes with `--redis sentinel://...` and WAIT for one
/// replica. The primary is killed mid-sale; afterwards G1 (no oversell), G2 (conservation)
/// and G3 (no acknowledged order lost) must hold over both nodes.
@Suite(.serialized) struct FailoverTests {
    @Test func badRedisSettingsAreRefusedWithTheReason() throws {
        let dir = try TempDir.make(prefix: "fo")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func start(_ args: [String]) throws -> (status: Int32, stderr: String) {
            let r = try Shell.runStatus(FlashdProcess.binDir + "/flashd",
                                        ["--socket", dir + "/f.sock", "--state-dir", dir + "/s", "--node-id", "x"] + args)
            return (r.status, r.stderr)
        }
        let url = try start(["--config", "/dev/null", "--redis", "sentinel://127.0.0.1:26379"])
        #expect(url.status != 0 && url.stderr.contains("sentinel://HOST:PORT[,HOST:PORT...]/MASTER"), "\(url.stderr)")
        let wait = try start(["--config", "/dev/null", "--redis-wait-timeout-ms", "5000"])
        #expect(wait.status != 0 && wait.stderr.contains("redis-wait-timeout-ms must be an integer in 1...900"), "\(wait.stderr)")
        try "redis = 127.0.0.1:6379\nredis-wait-replicas = 99\n".write(toFile: dir + "/f.conf", atomically: true, encoding: .utf8)
        let file = try start(["--config", dir + "/f.conf"])
        #expect(file.status != 0 && file.stderr.contains("f.conf:2: redis-wait-replicas must be an integer in 0...16"), "\(file.stderr)")
    }

    /// The hole WAIT closes, made deterministic: the replica stops replicating (a partition,
    /// by `REPLICAOF NO ONE`), a purchase lands on the primary alone, the primary dies and
    /// flashd restarts against the replica. Without WAIT that purchase was acknowledged and its
    /// deduction is gone: drift, a unit that can be sold twice. With WAIT it was never
    /// acknowledged, and recovery rolls it back on the replica: consistent.
    @Test(arguments: [0, 1]) func waitIsWhatKeepsAnAcknowledgedDeductionThroughAFailover(waitReplicas: Int) throws {
        let primary = try RedisServer(tcpPort: try FreePort.next())
        let replica = try RedisServer(extraArgs: ["--replicaof", "127.0.0.1", String(primary.tcpPort!)], tcpPort: try FreePort.next())
        try primary.waitForOnlineReplicas(1)
        let wait = ["--redis-wait-replicas", String(waitReplicas), "--redis-wait-timeout-ms", "200"]
        let node = try FlashdProcess(redis: primary, extraArgs: ["--redis", "127.0.0.1:\(primary.tcpPort!)"] + wait)
        try node.createSale("sku", stock: 10)
        #expect(try node.request("POST", "/v1/purchases", json: #"{"item":"sku","user":"u0","request_id":"r0"}"#).status == 201)
        try Wait.until(timeout: 5, "u0's deduction on the replica") { (try? replica.cli("HGET", "e2e:sale:sku", "stock")) == "9" }

        _ = try replica.cli("REPLICAOF", "NO", "ONE")
        let cut = try node.request("POST", "/v1/purchases", json: #"{"item":"sku","user":"u1","request_id":"r1"}"#)
        #expect(cut.status == (waitReplicas == 0 ? 201 : 503), "\(cut)")
        if waitReplicas > 0 { #expect(cut.body["error"] as? String == "replicas_behind") }

        // The primary dies; the replica is the Redis now (what Sentinel would do).
        primary.stop()
        node.kill9()
        let after = try FlashdProcess(redis: replica, extraArgs: ["--redis", "127.0.0.1:\(replica.tcpPort!)"] + wait, dir: node.dir)
        if waitReplicas > 0 {
            // The new primary has no replica yet: u1 stays pending rather than being decided
            // on a write no replica has. The old primary comes back as its replica.
            usleep(1_500_000)
            #expect((try after.audit()["settled"] as? Bool) == false)
            try primary.start()
            _ = try primary.cli("REPLICAOF", "127.0.0.1", String(replica.tcpPort!))
        }
        try Wait.until(timeout: 20, "nothing pending") { (try after.audit()["settled"] as? Bool) == true }
        let audit = try after.audit()
        let orders = try after.sql("SELECT COUNT(*) FROM orders")
        let stockLeft = try replica.cli("HGET", "e2e:sale:sku", "stock")
        if waitReplicas == 0 {
            // The hole: two acknowledged orders, one deduction left in Redis.
            #expect(orders == "2" && stockLeft == "9")
            #expect(audit["consistent"] as? Bool == false)
        } else {
            // u1 never got its order; recovery rolled it back on the replica.
            #expect(orders == "1" && stockLeft == "9")
            #expect(audit["consistent"] as? Bool == true)
            let retry = try after.request("POST", "/v1/purchases", json: #"{"item":"sku","user":"u1","request_id":"r1"}"#)
            #expect(retry.status == 409 && retry.body["error"] as? String == "rolled_back", "\(retry)")
        }
    }

    @Test func aSaleThroughTwoNodesSurvivesKillingThePrimary() throws {
        let cluster = try SentinelCluster(replicas: 1)
        let redisArgs = ["--redis", cluster.url, "--redis-wait-replicas", "1", "--redis-wait-timeout-ms", "300"]
        let a = try FlashdProcess(redis: cluster.servers[0], extraArgs: redisArgs + ["--node-id", "node-a"])
        let b = try FlashdProcess(redis: cluster.servers[0], extraArgs: redisArgs + ["--node-id", "node-b"])
        let stock = 150
        try a.createSale("sku", stock: stock)

        // 300 buyers for 150 units, in 8 lanes over both nodes, each retrying with its request
        // id until it gets a definitive answer, as the web tier does.
        let answers = Mutex<[Buyer.Answer]>([])
        let buyers = 300
        let lanes = 8
        let done = DispatchGroup()
        for lane in 0..<lanes {
            DispatchQueue.global().async(group: done) {
                for i in stride(from: lane, to: buyers, by: lanes) {
                    let node = i % 2 == 0 ? a : b
                    let answer = Buyer.buyUntilAnswered(socket: node.socketPath, item: "sku", user: "u\(i)", requestID: "r\(i)",
                                                        deadline: 120)
                    answers.withLock { $0.append(answer) }
                }
            }
        }
        try Wait.until(timeout: 30, "a fifth of the units to sell") {
            answers.withLock { $0.filter { $0.status == 201 }.count } >= stock / 5
        }
        let old = cluster.servers[0]
        old.stop()
        // The kill must land mid-sale, or the rest of the test proves nothing.
        let soldAtKill = answers.withLock { $0.filter { $0.status == 201 }.count }
        try #require(soldAtKill < stock / 2, "the sale ran too far before the kill (\(soldAtKill) sold)")
        _ = try cluster.waitForFailover(from: old)

        // The promoted replica has no replica of its own, so no purchase can be confirmed:
        // they are held pending (503), none is acknowledged on a write that one more failure
        // could lose.
        let stalled = answers.withLock { $0.count }
        try Wait.until(timeout: 10, "a purchase to be held for want of a replica") {
            let probe = try a.request("POST", "/v1/purchases", json: #"{"item":"sku","user":"probe","request_id":"probe"}"#)
            #expect(probe.status == 503, "\(probe)")
            return probe.body["error"] as? String == "replicas_behind"
        }

        // The old primary comes back and the sentinels make it the new primary's replica:
        // confirmations resume and the sale goes on.
        try old.start()
        let steady = try cluster.waitForSteadyPrimary(replicas: 1, timeout: 60)
        #expect(done.wait(timeout: .now() + 150) == .success, "buyers still waiting")
        let all = answers.withLock { $0 }
        #expect(all.count == buyers && all.allSatisfy { $0.status == 201 || $0.status == 409 }, "\(all.filter { $0.status != 201 && $0.status != 409 })")
        #expect(all.count > stalled)

        // Both nodes settle every pending transaction by themselves: the audit over both
        // finds nothing pending and Redis' count matching the orders.
        try Wait.until(timeout: 60, "both nodes to settle") { try a.ctl("--socket", b.socketPath, "audit").status == 0 }
        let acknowledged = all.compactMap(\.orderID)
        let orders = try [a, b].flatMap { node in try node.sql("SELECT order_id FROM orders").split(separator: "\n").map(String.init) }
        // G1: no oversell; G3: every acknowledged order is in a journal; G5: one per user.
        #expect(orders.count <= stock)
        #expect(Set(acknowledged).isSubset(of: Set(orders)), "acknowledged orders missing from the journals")
        let users = try [a, b].flatMap { try $0.sql("SELECT user FROM orders").split(separator: "\n") }
        #expect(Set(users).count == users.count)
        // G2: the units Redis (the primary now) says were taken are exactly the orders.
        let sale = try steady.cli("HMGET", "e2e:sale:sku", "total", "stock").split(separator: "\n").compactMap { Int($0) }
        #expect(sale.count == 2 && sale[0] - sale[1] == orders.count, "redis \(sale), \(orders.count) orders")
        // There were more buyers than units: the sale sold out.
        #expect(orders.count == stock)
    }
}
