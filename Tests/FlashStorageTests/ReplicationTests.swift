import FlashCore
import FlashStorage
import Foundation
import RedisClient
import Testing
import TestSupport

/// Replicas and Sentinel against real redis-server processes: WAIT holds a deduction back until
/// a replica has it, and a store behind Sentinel follows a failover to the promoted replica.
@Suite(.serialized) struct ReplicationTests {
    @Test func sentinelTargetsParse() {
        #expect(RedisTarget(parsing: "sentinel://10.0.0.1:26379,10.0.0.2:26380/sale")
                == .sentinel(sentinels: [.tcp(host: "10.0.0.1", port: 26379), .tcp(host: "10.0.0.2", port: 26380)], master: "sale"))
        #expect(RedisTarget(parsing: "sentinel://a,b/m") == .sentinel(sentinels: [.tcp(host: "a", port: 26379), .tcp(host: "b", port: 26379)], master: "m"))
        #expect(RedisTarget(parsing: "sentinel://[::1]:5000/m") == .sentinel(sentinels: [.tcp(host: "::1", port: 5000)], master: "m"))
        #expect(RedisTarget(parsing: "127.0.0.1:6379") == .direct(.tcp(host: "127.0.0.1", port: 6379)))
        #expect(RedisTarget(parsing: "unix:/run/redis.sock") == .direct(.unix(path: "/run/redis.sock")))
        for bad in ["sentinel://", "sentinel://h:1", "sentinel://h:1/", "sentinel:///m", "sentinel://h:1,,h:2/m",
                    "sentinel://h:0/m", "sentinel://h:1/m x", "sentinel://h:1/m\r\nFLUSHALL"] {
            #expect(RedisTarget(parsing: bad) == nil, "\(bad)")
        }
        let round = "sentinel://10.0.0.1:26379,[::1]:26379/sale"
        #expect(RedisTarget(parsing: round)?.description == round)
    }

    /// With no replica attached, WAIT 1 can't be satisfied: the deduction happened on the
    /// primary but is refused as unconfirmed (the purchase stays pending). Once a replica
    /// catches up, the back-check confirms it; a script that only *reads* a barrier is
    /// confirmed too, because it writes the barrier again after the one it read.
    @Test func waitHoldsADeductionBackUntilAReplicaHasIt() async throws {
        let primary = try RedisServer(tcpPort: try FreePort.next())
        let store = RedisStockStore(endpoint: .tcp(host: "127.0.0.1", port: primary.tcpPort!), prefix: "t:",
                                    replicaWait: .init(replicas: 1, timeoutMs: 500))
        // Admin verbs don't wait (a 503 for a restock that happened would invite a second one).
        _ = try await store.createSale(item: "sku", stock: 5, limitPerUser: 1)
        #expect(try await store.restock(item: "sku", add: 1).remaining == 6)
        do {
            _ = try await store.deduct(gid: "g1", item: "sku", round: 1, user: "alice")
            Issue.record("a deduction no replica has was confirmed")
        } catch let e as EngineError {
            #expect(e.code == .replicasBehind)
            #expect(e.message.contains("only 0 of 1 replica(s) confirmed the write"), "\(e.message)")
        }
        #expect(try primary.cli("HGET", "t:bar:sku:1", "g1") == "d")
        // Reads and the node lease don't wait.
        #expect(try await store.sale(item: "sku")?.remaining == 5)
        #expect(try await store.claimNode("n", token: "t", ttlMs: 5000) == .held)

        let replica = try RedisServer(extraArgs: ["--replicaof", "127.0.0.1", String(primary.tcpPort!)], tcpPort: try FreePort.next())
        try primary.waitForOnlineReplicas(1)
        #expect(try await store.backCheck(gid: "g1", item: "sku", round: 1) == .deducted)
        #expect(try await store.deduct(gid: "g1", item: "sku", round: 1, user: "alice") == .alreadyDeducted)
        #expect(try await store.deduct(gid: "g2", item: "sku", round: 1, user: "bob") == .deducted(remaining: 4))
        #expect(try replica.cli("HGET", "t:bar:sku:1", "g2") == "d")
        // A rollback marker read again is confirmed the same way.
        #expect(try await store.backCheck(gid: "g3", item: "sku", round: 1) == .rolledBack)
        #expect(try await store.deduct(gid: "g3", item: "sku", round: 1, user: "carol") == .rolledBack)
        #expect(try replica.cli("HGET", "t:bar:sku:1", "g3") == "r")
        await store.shutdown()
    }

    /// A primary demoted under a live connection (after a failover, before the store asks the
    /// sentinels again) still holds its old data: "sold out" or "limit reached" read from it
    /// are stale. The purchase script writes first, so a read-only replica refuses every
    /// answer (READONLY: Redis unavailable, retry) instead of giving a stale one.
    @Test func aDemotedPrimaryGivesNoStaleAnswer() async throws {
        let server = try RedisServer()
        let store = RedisStockStore(endpoint: .unix(path: server.socketPath), prefix: "t:")
        _ = try await store.createSale(item: "sku", stock: 1, limitPerUser: 1)
        #expect(try await store.deduct(gid: "a", item: "sku", round: 1, user: "alice") == .deducted(remaining: 0))
        #expect(try await store.deduct(gid: "b", item: "sku", round: 1, user: "bob") == .soldOut)
        // Demoted: a replica of a primary it can't reach, so it keeps the data it had.
        try server.cli("REPLICAOF", "127.0.0.1", "1")
        for (gid, user) in [("b", "bob"), ("a2", "alice"), ("x", "nobody")] {
            do {
                let reply = try await store.deduct(gid: gid, item: gid == "x" ? "gone" : "sku", round: 1, user: user)
                Issue.record("a read-only replica answered \(reply)")
            } catch let e as EngineError {
                #expect(e.code == .redisUnavailable && e.message.contains("READONLY"), "\(e)")
            }
        }
        await store.shutdown()
    }

    /// A store behind Sentinel: serves from the primary, answers redisUnavailable while the
    /// primary is dead and not yet replaced, then serves from the promoted replica, with every
    /// confirmed deduction still there.
    @Test func aStoreBehindSentinelFollowsAFailover() async throws {
        let cluster = try SentinelCluster(replicas: 1)
        let store = RedisStockStore(target: try #require(RedisTarget(parsing: cluster.url)), prefix: "t:",
                                    replicaWait: .init(replicas: 1, timeoutMs: 500))
        _ = try await store.createSale(item: "sku", stock: 100, limitPerUser: 1)
        for i in 0..<10 { #expect(try await store.deduct(gid: "a\(i)", item: "sku", round: 1, user: "a\(i)") == .deducted(remaining: 99 - i)) }
        let old = cluster.servers[0]
        #expect(store.currentServer == "127.0.0.1:\(old.tcpPort!)")
        old.stop()
        await #expect(throws: EngineError.self) { _ = try await store.deduct(gid: "b0", item: "sku", round: 1, user: "b0") }
        let promoted = try cluster.waitForFailover(from: old)
        // The promoted replica has no replica of its own: reads work, confirmed writes don't.
        try await waitUntil(timeout: 10) { (try? await store.sale(item: "sku")) != nil }
        #expect(store.currentServer == "127.0.0.1:\(promoted.tcpPort!)")
        for i in 0..<10 { #expect(try promoted.cli("HGET", "t:bar:sku:1", "a\(i)") == "d") }
        await #expect(throws: EngineError.self) { _ = try await store.deduct(gid: "b1", item: "sku", round: 1, user: "b1") }
        // The old primary comes back; the sentinels make it a replica of the new one.
        try old.start()
        _ = try cluster.waitForSteadyPrimary(replicas: 1, timeout: 60)
        #expect(try await store.backCheck(gid: "b1", item: "sku", round: 1) == .deducted)
        #expect(try await store.deduct(gid: "b2", item: "sku", round: 1, user: "b2") == .deducted(remaining: 88))
        await store.shutdown()
    }

    private func waitUntil(timeout: Double, _ condition: () async -> Bool) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if await condition() { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestFailure("timed out after \(timeout) s")
    }
}
