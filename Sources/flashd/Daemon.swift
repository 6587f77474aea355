import Control
import FlashCore
import FlashStorage
import FoundationEssentials
import Logging
import Metrics
import NIOCore
import NIOPosix
import Prometheus
import RedisClient
import ServiceLifecycle
import Systemd
import UnixSignals

#if canImport(Glibc)
import Glibc
#endif

/// The whole daemon as one service: open the journal, connect Redis, recover, take or bind the
/// socket, tell systemd READY, serve until graceful shutdown, then drain and close.
struct Daemon: Service {
    let config: DaemonConfig
    let logger: Logger
    let logLevels: LogLevelBox
    /// Resolves the configuration again (file and flags), for SIGHUP.
    let reload: @Sendable () throws -> DaemonConfig
    let notifier = SystemdNotifier()

    func run() async throws {
        guard Names.isValid(config.nodeID) else {
            throw DaemonError("node id \(config.nodeID) must be 1-64 characters of A-Z a-z 0-9 _ . @ -")
        }
        guard let target = RedisTarget(parsing: config.redis) else {
            throw DaemonError("--redis must be unix:/path, host:port or sentinel://HOST:PORT[,HOST:PORT...]/MASTER, not \(config.redis)")
        }
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))

        // Before recovery touches anything: a second daemon pointed at a live socket stops here.
        if SocketActivation.listenFDCount == 0, HTTPServer.isServed(config.socketPath) {
            throw DaemonError(HTTPServer.servedMessage(config.socketPath))
        }
        try makeDirectory(config.stateDir)
        let lock = try lockStateDirectory()
        defer { close(lock) }
        let journalPath = config.stateDir.hasSuffix("/") ? config.stateDir + "flashd.db" : config.stateDir + "/flashd.db"
        let stock = RedisStockStore(target: target, prefix: config.redisPrefix, connections: config.redisConnections,
                                    replicaWait: .init(replicas: config.redisWaitReplicas, timeoutMs: config.redisWaitTimeoutMs))
        try await checkRedisSettings(stock)
        let leaseToken = try nodeLeaseToken()
        stock.useLease(node: config.nodeID, token: leaseToken)
        let leaseClaimed = ContinuousClock.now
        let leaseHeld = try await claimNodeLease(stock, token: leaseToken)
        // Opened once nothing above can refuse the start: from here every way out closes it.
        let journal = try await SQLiteJournal(path: journalPath, durability: config.sqliteSync == "normal" ? .normal : .full)

        let coordinator = Coordinator(
            config: CoordinatorConfig(node: config.nodeID, checkDelay: .milliseconds(Int64(config.checkDelaySeconds * 1000)),
                                      faultInjection: config.faultInjection, gidKey: journal.gidKey),
            stock: stock, journal: journal, logger: logger,
            wallClockMs: { Self.wallClockMs() },
            fatalFault: { _ in
                // As close to kill -9 as a process can do to itself: no cleanup, no flush.
                kill(getpid(), SIGKILL)
            })

        await coordinator.setNodeLease(held: leaseHeld, holder: nil, validFor: Self.leaseValidity, since: leaseClaimed)
        logger.notice("flashd starting", metadata: MessageID.metadata(MessageID.started).merging([
            "version": "\(API.version)", "node": "\(config.nodeID)", "socket": "\(config.socketPath)",
            "redis": "\(target)", "redis_wait_replicas": "\(config.redisWaitReplicas)", "journal": "\(journalPath)", "sqlite_sync": "\(config.sqliteSync)",
            "fault_injection": "\(config.faultInjection)",
        ]) { $1 })

        // Recovery comes before the socket accepts, so no purchase can race it. systemd's start
        // timeout is extended while it runs, in steps, so a huge journal can't trip it.
        let notifier = self.notifier
        notifier.extendTimeout(microseconds: 30_000_000)
        notifier.status("recovering prepared transactions")
        let report = await coordinator.recover { done, total in
            notifier.extendTimeout(microseconds: 30_000_000)
            notifier.status("recovering: \(done) of \(total) prepared transactions settled")
        }
        logger.notice("recovery finished", metadata: MessageID.metadata(MessageID.recoveryFinished).merging([
            "found": "\(report.found)", "ordered": "\(report.ordered)", "rolled_back": "\(report.rolledBack)",
            "deferred": "\(report.deferred)", "ms": "\(report.milliseconds)",
        ]) { $1 })
        // Before the first purchase: a Redis restarted from an older snapshot while flashd was
        // down is fenced before it can sell a unit twice (G9).
        await coordinator.checkFences()

        let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        let info = Router.DaemonInfo(redisTarget: target.description, journalPath: journalPath,
                                     faultInjection: config.faultInjection,
                                     metrics: { registry.emitToString() },
                                     wedge: { journal.wedge(seconds: 3600) },
                                     storageCounters: {
                                         let g = journal.groupCommitStatistics
                                         return ["journal_commits": g.commits, "journal_calls": g.calls, "journal_largest_batch": g.largest]
                                     },
                                     stockScript: { (try await stock.purchaseScriptSHA(), stock.currentServer) })
        let access = AccessPolicy(adminGroup: config.adminGroup)
        let limits = Limits(maxConnections: config.maxConnections, maxInflight: config.maxInflight)
        let requestTimeout = TimeAmount.milliseconds(Int64(config.requestTimeoutSeconds * 1000))
        let idleTimeout = TimeAmount.milliseconds(Int64(config.idleTimeoutSeconds * 1000))
        let server = HTTPServer(group: group, router: Router(coordinator: coordinator, info: info, logger: logger),
                                maxBodyBytes: config.maxBodyBytes, access: access, limits: limits,
                                requestTimeout: requestTimeout, idleTimeout: idleTimeout)
        var channels: [any Channel] = []
        do {
            if let fd = try SocketActivation.listeningUnixSocket() {
                channels.append(try await server.adopt(listeningSocket: fd))
                logger.info("serving the socket systemd passed", metadata: ["fd": "\(fd)"])
            } else {
                channels.append(try await server.bind(unixSocket: config.socketPath))
            }
            if let listen = config.metricsListen, let (host, port) = DaemonConfig.hostPort(listen) {
                var metricsInfo = info
                metricsInfo.metricsOnly = true
                let metricsServer = HTTPServer(group: group, router: Router(coordinator: coordinator, info: metricsInfo, logger: logger),
                                               maxBodyBytes: 1024, access: nil, limits: Limits(maxConnections: 64, maxInflight: 64),
                                               requestTimeout: requestTimeout, idleTimeout: idleTimeout)
                channels.append(try await metricsServer.bind(host: host, port: port))
                logger.info("serving metrics over TCP", metadata: ["listen": "\(listen)"])
            }
        } catch {
            for c in channels { try? await c.close() }
            try? await group.shutdownGracefully()
            await stock.shutdown()
            await journal.close()
            throw DaemonError("cannot listen: \(error)")
        }
        let status = await HealthMonitor.statusLine(coordinator)
        notifier.ready(status: status)
        logger.notice("ready", metadata: MessageID.metadata(MessageID.ready).merging(["status": "\(status)"]) { $1 })

        let monitor = HealthMonitor(coordinator: coordinator, journal: journal, eventLoop: group.next(), notifier: notifier, logger: logger)
        await withTaskGroup(of: Void.self) { tasks in
            tasks.addTask { await coordinator.runTimeoutChecks() }
            tasks.addTask { await coordinator.loadSoldOutHistory() }
            tasks.addTask { await coordinator.runSoldOutRefresh(interval: coordinator.config.soldOutRefreshInterval) }
            tasks.addTask { await monitor.run() }
            tasks.addTask { await self.reloadOnSIGHUP(coordinator) }
            tasks.addTask { await self.keepNodeLease(stock, coordinator, token: leaseToken, held: leaseHeld) }
            // Wait for SIGTERM/SIGINT (delivered as graceful shutdown by the service group).
            try? await gracefulShutdown()
            notifier.stopping(status: "draining purchases in flight")
            logger.notice("stopping: draining purchases in flight", metadata: MessageID.metadata(MessageID.stopping))
            await coordinator.drain(timeout: .seconds(10))
            for c in channels { try? await c.close() }
            tasks.cancelAll()
        }
        try? await group.shutdownGracefully()
        try? await stock.releaseNode(config.nodeID, token: leaseToken)
        await stock.shutdown()
        await journal.close()
        logger.notice("flashd stopped")
    }

    /// SIGHUP: re-read the config file and apply what can change while running (log level,
    /// check delay), with the RELOADING=1 / READY=1 handshake of Type=notify-reload.
    private func reloadOnSIGHUP(_ coordinator: Coordinator) async {
        for await _ in await UnixSignalsSequence(trapping: .sighup) {
            notifier.reloading()
            do {
                let fresh = try reload()
                logLevels.level = Logger.Level(rawValue: fresh.logLevel) ?? .info
                await coordinator.setCheckDelay(.milliseconds(Int64(fresh.checkDelaySeconds * 1000)))
                let ignored = fresh.restartOnlyDifferences(from: config)
                if !ignored.isEmpty {
                    logger.warning("changed settings need a restart to apply", metadata: ["keys": "\(ignored.joined(separator: ","))"])
                }
                logger.notice("configuration reloaded", metadata: MessageID.metadata(MessageID.reloaded).merging([
                    "log_level": "\(fresh.logLevel)", "check_delay": "\(fresh.checkDelaySeconds)",
                ]) { $1 })
            } catch {
                logger.error("configuration reload failed; keeping the running settings", metadata: ["error": "\(error)"])
            }
            notifier.ready(status: await HealthMonitor.statusLine(coordinator))
        }
    }

    /// Barrier keys must never be evicted (dtmcli#1): refuse to start when Redis' eviction
    /// policy could, unless told otherwise. Without persistence a Redis restart loses stock and
    /// barriers alike: warn.
    private func checkRedisSettings(_ stock: RedisStockStore) async throws {
        guard let policy = try? await stock.configValue("maxmemory-policy") else {
            logger.warning("could not read Redis' settings (Redis down?); barrier keys must never be evicted")
            return
        }
        if policy != "noeviction" && !policy.hasPrefix("volatile-") {
            guard config.allowEvictingRedis else {
                throw DaemonError("Redis maxmemory-policy is \(policy): it may evict barrier keys and let a unit be sold twice. "
                                  + "Set maxmemory-policy noeviction, or start with --allow-evicting-redis")
            }
            logger.critical("Redis maxmemory-policy may evict barrier keys (allowed by --allow-evicting-redis)",
                            metadata: ["policy": "\(policy)"])
        }
        // What a Redis crash can lose. Whatever it loses, the fence (G9) stops the items it
        // forgot sales of; these say how often an operator would have to repair.
        if (try? await stock.configValue("appendonly")) != "yes" {
            let text = "Redis runs without appendonly: a restart loses deductions and barriers since its last snapshot, "
                + "and the items they belong to stop selling until repaired; set appendonly yes"
            logger.warning("\(text)")
        } else if let fsync = try? await stock.configValue("appendfsync"), fsync != "always" {
            let text = "Redis appendfsync is \(fsync): a crash of the machine can lose up to "
                + (fsync == "no" ? "the last 30 s or so" : "the last second") + " of acknowledged deductions, "
                + "and the items they belong to stop selling until repaired; set appendfsync always"
            logger.warning("\(text)")
        }
    }

    // MARK: one process per node id

    static let leaseTTLMs = 10_000
    /// How long a claim is trusted: its TTL less a second for the round trip and clock drift.
    static let leaseValidity = Duration.milliseconds(leaseTTLMs - 1000)

    /// Who holds the node id: this host, this state directory, and a random id kept in that
    /// directory (two cloned machines with one host name and the default path still differ).
    /// A restart of the same node (kill -9, then systemd starting it again at once) has the
    /// same token and takes its lease back at once; a second node with the same id does not.
    private func nodeLeaseToken() throws -> String {
        var host = [CChar](repeating: 0, count: 256)
        gethostname(&host, host.count)
        let dir = realpath(config.stateDir, nil).map { p -> String in
            defer { free(p) }
            return String(cString: p)
        } ?? config.stateDir
        let path = config.stateDir + "/flashd.token"
        var id = String((try? String(contentsOfFile: path, encoding: .utf8))?.filter(\.isHexDigit) ?? "")
        if id.isEmpty {
            var g = SystemRandomNumberGenerator()
            id = String(g.next() as UInt64, radix: 16) + String(g.next() as UInt64, radix: 16)
            do {
                try (id + "\n").write(toFile: path, atomically: true, encoding: .utf8)
            } catch {
                throw DaemonError("cannot write \(path): \(error)")
            }
        }
        return "\(String(cString: host)):\(dir):\(id)"
    }

    /// Refuses to start when another process holds this node id; starts without the lease (and
    /// refuses purchases until `keepNodeLease` gets it) when Redis can't be asked now.
    private func claimNodeLease(_ stock: RedisStockStore, token: String) async throws -> Bool {
        do {
            switch try await stock.claimNode(config.nodeID, token: token, ttlMs: Self.leaseTTLMs) {
            case .held:
                return true
            case .heldByOther(let holder, let ttl):
                throw DaemonError("node id \(config.nodeID) is live in Redis: held by \(holder) for another \(ttl) ms. "
                                  + "Every flashd sharing a Redis needs its own --node-id (and its own state directory)")
            }
        } catch let e as EngineError {
            logger.warning("could not claim the node id in Redis; purchases wait until it is claimed",
                           metadata: ["error": "\(e)"])
            return false
        }
    }

    /// Renews the lease every third of its lifetime (every second while not held). Losing it to
    /// another process stops purchases here until this process holds it again.
    private func keepNodeLease(_ stock: RedisStockStore, _ coordinator: Coordinator, token: String, held initial: Bool) async {
        var held = initial
        while !Task.isCancelled {
            // Renew every third of the TTL; but when Redis refused a script for want of the
            // lease (a flushed or restored Redis lost the key, or another process took it),
            // claim again within a quarter second rather than at the next renewal.
            let period = held ? Duration.milliseconds(Self.leaseTTLMs / 3) : .seconds(1)
            var waited = Duration.zero
            while waited < period {
                do {
                    try await Task.sleep(for: .milliseconds(250))
                } catch {
                    return
                }
                waited += .milliseconds(250)
                if held, !(await coordinator.nodeLeaseBelieved) { break }
            }
            let sent = ContinuousClock.now
            guard let claim = try? await stock.claimNode(config.nodeID, token: token, ttlMs: Self.leaseTTLMs) else {
                continue  // Redis unreachable: the lease outlives short outages, and purchases fail meanwhile anyway
            }
            switch claim {
            case .held:
                if !held { logger.notice("node id claimed in Redis; purchases resume", metadata: ["node": "\(config.nodeID)"]) }
                held = true
                await coordinator.setNodeLease(held: true, holder: nil, validFor: Self.leaseValidity, since: sent)
            case .heldByOther(let holder, _):
                if held {
                    logger.critical("node id taken over in Redis by another flashd; refusing purchases",
                                    metadata: ["node": "\(config.nodeID)", "holder": "\(holder)"])
                }
                held = false
                await coordinator.setNodeLease(held: false, holder: holder)
            }
        }
    }

    /// One flashd per state directory: a second one on the same journal is refused.
    private func lockStateDirectory() throws -> Int32 {
        let path = config.stateDir + "/flashd.lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw DaemonError("cannot open \(path): \(String(cString: strerror(errno)))") }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let err = errno
            close(fd)
            if err == EWOULDBLOCK { throw DaemonError("another flashd is running on the state directory \(config.stateDir)") }
            throw DaemonError("cannot lock \(path): \(String(cString: strerror(err)))")
        }
        return fd
    }

    private func makeDirectory(_ path: String) throws {
        var partial = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            partial += "/" + component
            if mkdir(partial, 0o750) != 0 && errno != EEXIST {
                throw DaemonError("cannot create state directory \(partial): \(String(cString: strerror(errno)))")
            }
        }
    }

    static func wallClockMs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}

extension Daemon: CustomStringConvertible {
    // swift-service-lifecycle logs the service's description; keep it to a name.
    var description: String { "flashd" }
}

struct DaemonError: Error, CustomStringConvertible {
    let message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}
