import FlashCore
import RedisClient
import Synchronization

/// `StockStore` on a real Redis through hiredis: a few connections, each on its own thread,
/// taken round-robin. Each connection pipelines: every command queued while its previous batch
/// was out goes to Redis in one write and one round trip (`BatchWorker`), so concurrent
/// purchases share round trips instead of waiting for each other's. Scripts go out as EVALSHA
/// and fall back to loading the script when Redis answers NOSCRIPT (after a restart or SCRIPT FLUSH).
///
/// With `replicaWait`, a batch holding a script that decides a purchase ends with one
/// `WAIT replicas timeout`; when fewer replicas acknowledge, those scripts' replies are
/// replaced by a `.replicasBehind` error, so the caller leaves the purchase pending and a
/// later back-check (itself confirmed the same way) decides it on whatever primary survives.
public final class RedisStockStore: StockStore {
    public let target: RedisTarget
    let keys: RedisKeys
    private let connections: [BatchWorker<RedisConnection, RedisPipeline.Job>]
    private let next = Atomic<Int>(0)
    private let shas = Mutex<[String: String]>([:])
    /// By script name: how many SCRIPT LOADs have started, and the latest (running, or done
    /// with its SHA). A merged call that gets NOSCRIPT gives it to each of its purchases (up to
    /// 64): they all wait for one load (`load(_:after:)`).
    private let loads = Mutex<[String: (started: Int, latest: Task<String, any Error>?)]>([:])
    private let lastServer: LastServer
    /// The node id's lease as this process holds it (key, token), checked by the scripts that
    /// settle purchases; nil until the daemon sets it (store tests run without one).
    private let lease = Mutex<(key: String, token: String)?>(nil)

    /// Redis' WAIT after the writes that decide a purchase: how many replicas must have them,
    /// and how long to wait for that (below the command timeout).
    public struct ReplicaWait: Sendable, Equatable {
        public var replicas: Int
        public var timeoutMs: Int
        public init(replicas: Int, timeoutMs: Int) {
            self.replicas = replicas
            self.timeoutMs = timeoutMs
        }
    }

    public convenience init(endpoint: RedisEndpoint, prefix: String = "flashd:", connections count: Int = 2,
                            commandTimeoutMs: Int = 1000, replicaWait: ReplicaWait? = nil, credentials: RedisCredentials? = nil) {
        self.init(target: .direct(endpoint), prefix: prefix, connections: count, commandTimeoutMs: commandTimeoutMs,
                  replicaWait: replicaWait, credentials: credentials)
    }

    public init(target: RedisTarget, prefix: String = "flashd:", connections count: Int = 2,
                commandTimeoutMs: Int = 1000, replicaWait: ReplicaWait? = nil, credentials: RedisCredentials? = nil) {
        self.target = target
        self.keys = RedisKeys(prefix: prefix)
        let lastServer = LastServer()
        self.lastServer = lastServer
        let wait = replicaWait.flatMap { $0.replicas > 0 ? $0 : nil }
        self.connections = (0..<max(1, count)).map { i in
            BatchWorker(RedisConnection(target: target, commandTimeoutMs: commandTimeoutMs, credentials: credentials),
                        name: "flashd-redis-\(i + 1)",
                        process: { conn, batch in RedisPipeline.send(conn, batch, wait: wait, lastServer: lastServer) },
                        reject: { $0.continuation.resume(throwing: RedisError.connection("flashd is shutting down")) })
        }
    }

    /// The Redis server last talked to (the primary, behind Sentinel), or the target before any.
    public var currentServer: String { lastServer.get()?.description ?? target.description }

    /// From now on the purchase and back-check scripts refuse unless Redis says `token` holds
    /// `node`'s lease.
    public func useLease(node: String, token: String) {
        lease.withLock { $0 = (keys.node(node), token) }
    }

    private var leaseArgs: (key: String, token: String) {
        lease.withLock { $0 } ?? (keys.node("-"), "")
    }

    private static let leaseLost = EngineError(.nodeConflict, "redis says this node id's lease is not this process's "
                                               + "(paused past it, or another flashd took the id): nothing was written")

    public func shutdown() async {
        for c in connections {
            _ = try? await c.exclusive { $0.close() }
            await c.shutdown()
        }
    }

    // MARK: StockStore

    public func createSale(item: String, stock: Int, limitPerUser: Int, clock: SaleClock) async throws -> SaleInfo {
        let r = try await eval(LuaScripts.create, keys: [keys.sales, keys.sale(item), keys.counts(item, round: 1)],
                               args: [item, String(stock), String(limitPerUser)] + Self.clockArgs(clock), confirm: false)
        guard let code = r.int else { throw badReply("create", r) }
        if code == 1 { throw EngineError(.saleExists, "a sale for item \(item) exists already; use restock or reset") }
        return SaleInfo(item: item, round: 1, limitPerUser: limitPerUser, total: stock, remaining: stock,
                        clock: SaleClock(opensMs: clock.opensMs, closesMs: clock.closesMs, holdMs: clock.holdMs))
    }

    public func restock(item: String, add: Int, requestID: String?) async throws -> SaleInfo {
        let r = try await eval(LuaScripts.restock, keys: [keys.sale(item), keys.adminRequests(item)],
                               args: [String(add), requestID ?? ""], confirm: false)
        guard let code = r.int else { throw badReply("restock", r) }
        if code < 0 { throw EngineError.unknownSale(item) }
        guard let sale = try await sale(item: item) else { throw EngineError.unknownSale(item) }
        return sale
    }

    public func reset(item: String, expectedRound: Int, stock: Int, limitPerUser: Int, clock: SaleClock,
                      requestID: String?) async throws -> SaleInfo {
        let r = try await eval(LuaScripts.reset,
                               keys: [keys.sale(item), keys.counts(item, round: expectedRound + 1), keys.adminRequests(item)],
                               args: [String(expectedRound), String(stock), String(limitPerUser), requestID ?? ""] + Self.clockArgs(clock),
                               confirm: false)
        guard let code = r.int else { throw badReply("reset", r) }
        switch code {
        case -1: throw EngineError.unknownSale(item)
        case -2: throw EngineError(.saleBusy, "sale \(item) changed round during the reset; retry")
        default:
            // A replayed request id's round may have sold since: read the sale as it is.
            if Int(code) != expectedRound + 1, let sale = try await sale(item: item) { return sale }
            return SaleInfo(item: item, round: Int(code), limitPerUser: limitPerUser, total: stock, remaining: stock,
                            clock: SaleClock(opensMs: clock.opensMs, closesMs: clock.closesMs, holdMs: clock.holdMs))
        }
    }

    public func sale(item: String) async throws -> SaleInfo? {
        let r = try await command(["HMGET", keys.sale(item), "round", "limit", "total", "stock", "opens", "closes", "paused", "hold"])
        guard let f = r.array, f.count == 8 else { throw badReply("HMGET", r) }
        if f[0] == .null { return nil }
        guard let round = f[0].int, let limit = f[1].int, let total = f[2].int, let stock = f[3].int else {
            throw badReply("HMGET sale", r)
        }
        return SaleInfo(item: item, round: Int(round), limitPerUser: Int(limit), total: Int(total), remaining: Int(stock),
                        clock: SaleClock(opensMs: f[4].int, closesMs: f[5].int, paused: f[6].string == "1", holdMs: f[7].int))
    }

    public func sales() async throws -> [SaleInfo] {
        let r = try await command(["SMEMBERS", keys.sales])
        guard let members = r.array else { throw badReply("SMEMBERS", r) }
        var result: [SaleInfo] = []
        for item in members.compactMap(\.string).sorted() {
            if let s = try await sale(item: item) { result.append(s) }
        }
        return result
    }

    public func saleCount() async throws -> Int {
        let r = try await command(["SCARD", keys.sales])
        guard let n = r.int else { throw badReply("SCARD", r) }
        return Int(n)
    }

    public func deduct(gid: String, item: String, round: Int, user: String, requestID: String, floor: FenceFloor) async throws -> StockReply {
        let lease = leaseArgs
        let keys = roundKeys(item, round) + [lease.key, keys.holds, keys.requests(item)]
        let shared = [String(round), floor.node, lease.token]
        let entry = [gid, user, String(floor.orders), String(floor.seen), requestID]
        let r = try await run(LuaScripts.buy, confirm: true) { sha in
            .purchase(call: ["EVALSHA", sha, String(keys.count)] + keys + shared, entry: entry)
        }
        if let first = try Self.orderElsewhere(r, script: "buy") { return .orderedElsewhere(first) }
        guard let pair = r.array, pair.count >= 2, let code = pair[0].int, let value = pair[1].int else {
            throw badReply("buy", r)
        }
        switch code {
        case 0:
            guard pair.count == 3, let expires = pair[2].int else { throw badReply("buy", r) }
            return .deducted(remaining: Int(value), expiresMs: expires > 0 ? expires : nil)
        case 1: return .alreadyDeducted
        case 2: return .rolledBack
        case 3: return .soldOut
        case 4: return .limitReached
        case 5: return .noSale
        case 6: return .staleRound(current: Int(value))
        case 7: return .fenced
        case 8: throw Self.leaseLost
        case 9: return .clockRefused(.notOpen)
        case 10: return .clockRefused(.closed)
        case 11: return .clockRefused(.paused)
        default: throw badReply("buy", r)
        }
    }

    /// The keys every script of a sale round takes, in the order `LuaScripts.buy` names them.
    func roundKeys(_ item: String, _ round: Int) -> [String] {
        [keys.sale(item), keys.barriers(item, round: round), keys.users(item, round: round), keys.counts(item, round: round),
         keys.fences(item)]
    }

    public func backCheck(gid: String, item: String, round: Int, user: String, requestID: String) async throws -> BackCheckReply {
        let lease = leaseArgs
        let r = try await eval(LuaScripts.backCheck, keys: [keys.barriers(item, round: round), lease.key, keys.requests(item)],
                               args: [gid, lease.token, requestID.isEmpty ? "" : "\(user) \(requestID)"], confirm: true)
        if let first = try Self.orderElsewhere(r, script: "back-check") { return .orderedElsewhere(first) }
        switch r.int {
        case 0: return .deducted
        case 1: return .rolledBack
        case 2: throw Self.leaseLost
        default: throw badReply("back-check", r)
        }
    }

    public func ping() async throws {
        _ = try await command(["PING"])
    }

    public func claimNode(_ node: String, token: String, ttlMs: Int) async throws -> NodeClaim {
        let r = try await eval(LuaScripts.claimNode, keys: [keys.node(node)], args: [token, String(ttlMs)], confirm: false)
        guard let a = r.array, a.count == 3, let code = a[0].int, let ttl = a[1].int else { throw badReply("claim-node", r) }
        return code == 1 ? .held : .heldByOther(token: a[2].string ?? "?", ttlMs: Int(ttl))
    }

    public func releaseNode(_ node: String, token: String) async throws {
        _ = try await eval(LuaScripts.releaseNode, keys: [keys.node(node)], args: [token], confirm: false)
    }

    /// One of Redis' settings (CONFIG GET). flashd checks `maxmemory-policy`: anything but
    /// `noeviction` (or a volatile-* policy, which only evicts keys with a TTL, and barriers
    /// have none) may delete barrier keys under memory pressure.
    public func configValue(_ name: String) async throws -> String {
        let r = try await command(["CONFIG", "GET", name])
        guard let a = r.array, a.count == 2, let value = a[1].string else { throw badReply("CONFIG GET", r) }
        return value
    }

    /// Loads the purchase script into Redis' cache (if it isn't there) and returns its SHA.
    public func purchaseScriptSHA() async throws -> String {
        let r = try await command(["SCRIPT", "LOAD", LuaScripts.buy.source])
        guard let sha = r.string else { throw badReply("SCRIPT LOAD", r) }
        return sha
    }

    // MARK: plumbing

    private func raw(_ call: RedisPipeline.Call, confirm: Bool = false) async throws -> RedisValue {
        let i = next.add(1, ordering: .relaxed).newValue
        let conn = connections[i % connections.count]
        return try await withCheckedThrowingContinuation { conn.submit(RedisPipeline.Job(call: call, confirm: confirm, continuation: $0)) }
    }

    func command(_ args: [String]) async throws -> RedisValue {
        do {
            return try await raw(.command(args))
        } catch let e as RedisError {
            throw Self.engineError(e)
        }
    }

    /// Runs `script`; with `confirm` (the scripts that decide a purchase: buy and back-check),
    /// its reply is held back until the replicas asked for have the write.
    ///
    /// Admin verbs (create, restock, reset) are not confirmed: a 503 for a restock that did
    /// happen would invite a retry that restocks twice. They need no WAIT of their own either:
    /// replication is one ordered stream, so the first purchase confirmed after a sale change
    /// confirms the change too. Only a change followed by no confirmed purchase before a
    /// failover can be lost, whole, as if it had not been made.
    func eval(_ script: LuaScript, keys: [String], args: [String], confirm: Bool) async throws -> RedisValue {
        try await run(script, confirm: confirm) { sha in .command(["EVALSHA", sha, String(keys.count)] + keys + args) }
    }

    /// Runs `script` as the job `call` makes of its SHA.
    private func run(_ script: LuaScript, confirm: Bool, _ call: (String) -> RedisPipeline.Call) async throws -> RedisValue {
        do {
            let sha: String
            if let known = shas.withLock({ $0[script.name] }) {
                sha = known
            } else {
                sha = try await load(script, after: 0)
            }
            // Noted before the call goes out: only a load started after it can follow a
            // NOSCRIPT it gets.
            let seen = loads.withLock { $0[script.name]?.started ?? 0 }
            do {
                return try await raw(call(sha), confirm: confirm)
            } catch let e as RedisError where e.isNoScript {
                // Redis lost its script cache (restart, SCRIPT FLUSH): load again and retry once.
                return try await raw(call(try await load(script, after: seen)), confirm: confirm)
            }
        } catch let e as RedisError {
            throw Self.engineError(e)
        }
    }

    /// The script's SHA from a SCRIPT LOAD that started after the first `seen` loads of it:
    /// the latest, running or done, if it did; else a new one. A load that fails is not joined
    /// again: the next caller starts another.
    private func load(_ script: LuaScript, after seen: Int) async throws -> String {
        let task = loads.withLock { all in
            let entry = all[script.name] ?? (0, nil)
            if entry.started > seen, let latest = entry.latest { return latest }
            let load = Task {
                guard let sha = try await self.raw(.command(["SCRIPT", "LOAD", script.source])).string else {
                    throw RedisError.protocolViolation("SCRIPT LOAD gave no sha")
                }
                self.shas.withLock { $0[script.name] = sha }
                return sha
            }
            all[script.name] = (entry.started + 1, load)
            return load
        }
        do {
            return try await task.value
        } catch {
            loads.withLock { if $0[script.name]?.latest == task { $0[script.name]?.latest = nil } }
            throw error
        }
    }

    func badReply(_ what: String, _ r: RedisValue) -> EngineError {
        EngineError(.internalError, "unexpected reply to \(what): \(r)")
    }

    /// Error replies that mean "not now" rather than "wrong": loading, a busy script, out of
    /// memory, a read-only replica, a primary that is down. They get a 503 and a retry.
    static let transientReplies = ["LOADING", "BUSY", "OOM", "READONLY", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN", "NOREPLICAS"]

    static func engineError(_ e: RedisError) -> EngineError {
        switch e.kind {
        case .connection: return .redisUnavailable(e.message)
        case .authentication: return .redisUnavailable("redis refused flashd's credentials (--redis-user, --redis-password-file): \(e.message)")
        case .reply where transientReplies.contains(where: { e.message.hasPrefix($0) }):
            return .redisUnavailable(e.message)
        case .reply, .protocolViolation: return EngineError(.internalError, "redis: \(e.message)")
        }
    }
}

/// The server a connection last talked to, for `status` and `bench` (which runs the purchase
/// script against the same server).
final class LastServer: Sendable {
    private let value = Mutex<RedisEndpoint?>(nil)
    func set(_ e: RedisEndpoint) { value.withLock { $0 = e } }
    func get() -> RedisEndpoint? { value.withLock { $0 } }
}
