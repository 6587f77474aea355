import Control
import FlashCore
import FlashHTTP
import FlashStorage
import FoundationEssentials
import Logging
import Metrics
import NIOCore
import NIOPosix
import Prometheus
import RedisClient
import Systemd

#if canImport(Glibc)
import Glibc
#endif

/// Everything before READY, in the order that keeps the guarantees: refuse a second daemon,
/// lock the state directory, check Redis, claim the node id, open the journal, recover, check
/// the fences, then listen. Nothing is accepted before recovery has run, so no purchase races it.
struct DaemonStartup {
    let config: DaemonConfig
    let logger: Logger
    let notifier = SystemdNotifier()

    /// 0.5 ms to 10 s; finest where a purchase's steps fall.
    static let purchaseBuckets: [Duration] = [0.5, 1, 2, 3, 4, 5, 7.5, 10, 15, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000]
        .map { .microseconds(Int64($0 * 1000)) }

    func start() async throws -> RunningDaemon {
        guard Names.isValid(config.nodeID) else {
            throw DaemonError("node id \(config.nodeID) must be 1-64 characters of A-Z a-z 0-9 _ . @ -")
        }
        guard let target = RedisTarget(parsing: config.redis) else {
            throw DaemonError("--redis must be unix:/path, host:port or sentinel://HOST:PORT[,HOST:PORT...]/MASTER, not \(config.redis)")
        }
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        // A purchase takes a few milliseconds, and the default buckets start at 5 ms: a p99
        // (histogram_quantile, the sale page) needs buckets where purchases actually fall.
        for label in ["flashd_purchase_duration_seconds", "flashd_purchase_step_seconds"] {
            factory.durationHistogramBuckets[label] = Self.purchaseBuckets
        }
        MetricsSystem.bootstrap(factory)
        // Which build is running, for dashboards and alerts: the usual *_build_info gauge.
        registry.makeGauge(name: "flashd_build_info", labels: [("version", API.version)]).set(to: Double(1))

        // Before recovery touches anything: a second daemon pointed at a live socket stops here.
        if SocketActivation.listenFDCount == 0, HTTPServer.isServed(config.socketPath) {
            throw DaemonError(HTTPServer.servedMessage(config.socketPath))
        }
        let credentials = try redisCredentials()
        try checkRedisCredentials(target, credentials)
        try makeDirectory(config.stateDir)
        try checkFreeSpace()
        let lock = try lockStateDirectory()
        let stock = RedisStockStore(target: target, prefix: config.redisPrefix, connections: config.redisConnections,
                                    replicaWait: .init(replicas: config.redisWaitReplicas, timeoutMs: config.redisWaitTimeoutMs),
                                    credentials: credentials)
        let leaseToken: String
        let leaseHeld: Bool
        let leaseClaimed = ContinuousClock.now
        let journal: SQLiteJournal
        do {
            try await RedisSettingsCheck(stock: stock, allowEvicting: config.allowEvictingRedis, logger: logger).run()
            leaseToken = try nodeLeaseToken()
            stock.useLease(node: config.nodeID, token: leaseToken)
            leaseHeld = try await claimNodeLease(stock, token: leaseToken)
            // Tests hold the journal's background index load (fault injection only).
            let indexDelayMs = config.faultInjection ? Int(ProcessInfo.processInfo.environment["FLASHD_TEST_INDEX_DELAY_MS"] ?? "") ?? 0 : 0
            journal = try await SQLiteJournal(path: config.journalPath, durability: config.sqliteSync, vfs: try powerCutVFS(),
                                              indexDelay: .milliseconds(indexDelayMs))
        } catch {
            await stock.shutdown()
            close(lock)
            throw error
        }
        let opened = ContinuousClock.now
        Task { [logger] in
            await journal.waitForIndex()
            let (orders, pending) = (try? await journal.totals()) ?? (0, 0)
            logger.info("journal index loaded", metadata: ["orders": "\(orders)", "pending": "\(pending)",
                                                           "ms": "\((ContinuousClock.now - opened).milliseconds)"])
        }
        // From here every way out is `RunningDaemon.close`.
        // Tests of the sale's clock skew this node's clock (fault injection only): opening and
        // closing must follow Redis' clock, not this one.
        let skewMs = config.faultInjection ? Int64(ProcessInfo.processInfo.environment["FLASHD_TEST_CLOCK_SKEW_MS"] ?? "") ?? 0 : 0
        let coordinator = Coordinator(
            config: CoordinatorConfig(node: config.nodeID, checkDelay: config.checkDelay, faultInjection: config.faultInjection,
                                      gidKey: journal.gidKey),
            stock: stock, journal: journal, logger: logger,
            wallClockMs: { Self.wallClockMs() + skewMs },
            fatalFault: { _ in
                // As close to kill -9 as a process can do to itself: no cleanup, no flush.
                kill(getpid(), SIGKILL)
            })
        var running = RunningDaemon(coordinator: coordinator, stock: stock, journal: journal,
                                    eventLoops: MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount), notifier: notifier,
                                    node: config.nodeID, leaseToken: leaseToken, leaseHeld: leaseHeld, lockFD: lock)

        await coordinator.setNodeLease(held: leaseHeld, holder: nil, validFor: NodeLeaseKeeper.validity, since: leaseClaimed)
        logger.notice("flashd starting", metadata: MessageID.metadata(MessageID.started).merging([
            "version": "\(API.version)", "node": "\(config.nodeID)", "socket": "\(config.socketPath)",
            "redis": "\(target)", "redis_auth": "\(credentials?.description ?? "none")", "redis_wait_replicas": "\(config.redisWaitReplicas)", "journal": "\(config.journalPath)",
            "sqlite_sync": "\(config.sqliteSync.rawValue)", "fault_injection": "\(config.faultInjection)",
        ]) { $1 })

        // systemd's start timeout is extended while recovery runs, in steps, so a huge journal
        // can't trip it.
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
        await coordinator.readClocks()

        do {
            running.deliverer = try await deliverer(journal: journal, eventLoop: running.eventLoops.next())
        } catch {
            await running.close()
            throw error
        }
        do {
            running.channels = try await listen(coordinator, registry: registry, target: target, journal: journal, stock: stock,
                                                deliverer: running.deliverer, eventLoops: running.eventLoops)
        } catch {
            await running.close()
            throw DaemonError("cannot listen: \(error)")
        }
        return running
    }

    /// The Unix socket (systemd's, or bound here) and the optional TCP metrics listener.
    private func listen(_ coordinator: Coordinator, registry: PrometheusCollectorRegistry, target: RedisTarget, journal: SQLiteJournal,
                        stock: RedisStockStore, deliverer: OrderDeliverer?,
                        eventLoops: MultiThreadedEventLoopGroup) async throws -> [any Channel] {
        let info = Router.DaemonInfo(redisTarget: target.description, journalPath: config.journalPath,
                                     faultInjection: config.faultInjection,
                                     metrics: { MetricsHelp.annotate(registry.emitToString()) },
                                     wedge: { journal.wedge(seconds: 3600) },
                                     storageCounters: {
                                         let g = journal.groupCommitStatistics
                                         return ["journal_commits": g.commits, "journal_calls": g.calls, "journal_largest_batch": g.largest]
                                     },
                                     stockScript: { (try await stock.purchaseScriptSHA(), stock.currentServer) },
                                     delivery: deliverer)
        let requestTimeout = TimeAmount(config.requestTimeout)
        let idleTimeout = TimeAmount(config.idleTimeout)
        let server = HTTPServer(group: eventLoops, router: Router(coordinator: coordinator, info: info, logger: logger),
                                maxBodyBytes: config.maxBodyBytes, access: AccessPolicy(adminGroup: config.adminGroup),
                                limits: Limits(maxConnections: config.maxConnections, maxInflight: config.maxInflight),
                                requestTimeout: requestTimeout, idleTimeout: idleTimeout)
        var channels: [any Channel] = []
        do {
            if let fd = try SocketActivation.listeningUnixSocket() {
                channels.append(try await server.adopt(listeningSocket: fd))
                logger.info("serving the socket systemd passed", metadata: ["fd": "\(fd)"])
            } else {
                channels.append(try await server.bind(unixSocket: config.socketPath, mode: mode_t(config.socketMode),
                                                      group: try socketGroupID()))
            }
            if let listen = config.metricsListen, let (host, port) = hostPort(listen) {
                var metricsInfo = info
                metricsInfo.metricsOnly = true
                let metricsServer = HTTPServer(group: eventLoops, router: Router(coordinator: coordinator, info: metricsInfo, logger: logger),
                                               maxBodyBytes: 1024, access: nil, limits: Limits(maxConnections: 64, maxInflight: 64),
                                               requestTimeout: requestTimeout, idleTimeout: idleTimeout)
                channels.append(try await metricsServer.bind(host: host, port: port))
                logger.info("serving metrics and the live sale page over TCP", metadata: ["listen": "\(listen)"])
            }
        } catch {
            for c in channels { try? await c.close() }
            throw error
        }
        return channels
    }
}
