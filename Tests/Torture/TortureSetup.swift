import Foundation
import TestSupport

/// What a torture run sells through: one or more flashd nodes (own sockets, state directories
/// and node ids) sharing one Redis, which is either a single persistent server or a primary
/// with replicas behind three sentinels (`--failover`), where killing the primary is a fault.
final class TortureSetup: @unchecked Sendable {
    // @unchecked: driven by the harness's main thread only.
    let nodes: [FlashdProcess]
    private let single: RedisServer?
    let sentinels: SentinelCluster?
    /// `--delivery`: the PostgreSQL every node delivers into.
    let postgres: PostgresServer?

    /// `waitReplicas`: flashd's --redis-wait-replicas with `failover` (0 shows what WAIT buys).
    /// `powerCut`: the journal on the power-cut VFS, at `sqliteSync`. `redisLosesWrites`: Redis
    /// keeps only what its last `SAVE` held, as appendfsync everysec may at a power cut.
    let redisLosesWrites: Bool

    init(nodes count: Int, failover: Bool, waitReplicas: Int = 1, checkDelay: Double, powerCut: Bool = false,
         sqliteSync: String = "full", redisLosesWrites: Bool = false, delivery: Bool = false) throws {
        self.redisLosesWrites = redisLosesWrites
        var extra: [String] = powerCut ? ["--sqlite-sync", sqliteSync] : []
        postgres = delivery ? try PostgresServer() : nil
        let first: RedisServer
        if failover {
            // Two replicas: after one failover the new primary still has one, so WAIT 1 goes on
            // being satisfied and the sale does not stall while the old primary rejoins.
            let cluster = try SentinelCluster(replicas: 2)
            sentinels = cluster
            single = nil
            first = cluster.servers[0]
            extra += ["--redis", cluster.url, "--redis-wait-replicas", String(waitReplicas), "--redis-wait-timeout-ms", "300"]
        } else {
            // Losing writes: no AOF; what survives a cut is the last SAVE's snapshot.
            let redis = try RedisServer(persistent: !redisLosesWrites)
            sentinels = nil
            single = redis
            first = redis
        }
        if let postgres { extra += ["--orders-to", postgres.url] }
        nodes = try (0..<max(count, 1)).map { i in
            try FlashdProcess(redis: first, checkDelay: checkDelay, extraArgs: extra + (count > 1 ? ["--node-id", "n\(i + 1)"] : []),
                              environment: powerCut ? PowerCut.environment : [:])
        }
    }

    /// The Redis server holding the truth now: the only one, or the sentinels' primary.
    func primary() throws -> RedisServer {
        if let sentinels { return try sentinels.primary() }
        return single!
    }

    /// Kills Redis the way the mode allows: a restart of the single server (appendfsync always
    /// keeps what it acknowledged), or the primary killed for good until the sentinels have
    /// promoted a replica, then started again empty so it rejoins as a replica.
    func killRedis() throws {
        if let sentinels {
            let old = try sentinels.primary()
            old.stop()
            _ = try sentinels.waitForFailover(from: old)
            try old.start()
        } else {
            single!.stop()
            usleep(300_000)
            try single!.start()
        }
    }

    /// A power cut: `flashd` and Redis killed at once (Redis' appendfsync always has synced
    /// what it acknowledged), the journal back to its last syncs, then both started again.
    /// What Redis will still hold after the next cut, when it loses writes: its data now.
    func redisDurablePoint() throws {
        try single!.cli("SAVE")
    }

    func cutPower(_ flashd: FlashdProcess) throws {
        flashd.kill9()
        single!.stop()
        try PowerCut.rollBack(stateDir: flashd.dir + "/state")
        try single!.start()
        try flashd.start()
    }

    /// The Redis server holding the truth once the cluster is steady. With `--failover`, the
    /// harness waits for the rejoined primary to be a synced replica before the next
    /// round, so every round starts with the same number of replicas. A sentinel reconfigures
    /// a returning old primary only after it has reported its role for 8 s (four publish
    /// periods, in Redis' sentinel.c), then it syncs: 10–20 s, more on a loaded machine. The
    /// primary is asked anew while waiting: a second failover may follow the first.
    func steadyPrimary() throws -> RedisServer {
        guard let sentinels else { return single! }
        return try sentinels.waitForSteadyPrimary(replicas: sentinels.servers.count - 1, timeout: 60)
    }
}
