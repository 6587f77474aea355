import Control
import FlashCore
import FlashStorage
import Logging
import NIOCore
import NIOPosix
import RedisClient
import ServiceLifecycle
import SystemdNotify

#if canImport(Glibc)
import Glibc
#endif

/// The whole daemon as one service: open the journal, connect Redis, recover, bind, serve the
/// socket and run the timeout check until graceful shutdown, then drain and close.
struct Daemon: Service {
    let config: DaemonConfig
    let logger: Logger
    let notifier = SystemdNotifier()

    func run() async throws {
        guard Names.isValid(config.nodeID) else {
            throw DaemonError("node id \(config.nodeID) must be 1-64 characters of A-Z a-z 0-9 _ . @ -")
        }
        guard let endpoint = RedisEndpoint(parsing: config.redis) else {
            throw DaemonError("--redis must be unix:/path or host:port, not \(config.redis)")
        }
        try makeDirectory(config.stateDir)
        let journalPath = config.stateDir.hasSuffix("/") ? config.stateDir + "flashd.db" : config.stateDir + "/flashd.db"
        let journal = try await SQLiteJournal(path: journalPath, durability: config.sqliteSync == "normal" ? .normal : .full)
        let stock = RedisStockStore(endpoint: endpoint, prefix: config.redisPrefix, connections: config.redisConnections)
        await checkEvictionPolicy(stock)

        let coordinator = Coordinator(
            config: CoordinatorConfig(node: config.nodeID, checkDelay: .milliseconds(Int64(config.checkDelaySeconds * 1000)),
                                      faultInjection: config.faultInjection),
            stock: stock, journal: journal, logger: logger,
            wallClockMs: { Self.wallClockMs() },
            fatalFault: { _ in
                // As close to kill -9 as a process can do to itself: no cleanup, no flush.
                kill(getpid(), SIGKILL)
            })

        logger.notice("flashd starting", metadata: [
            "version": "\(API.version)", "node": "\(config.nodeID)", "socket": "\(config.socketPath)",
            "redis": "\(endpoint)", "journal": "\(journalPath)", "sqlite_sync": "\(config.sqliteSync)",
            "fault_injection": "\(config.faultInjection)",
        ])

        // Recovery comes before the socket exists, so no purchase can race it.
        let notifier = self.notifier
        let report = await coordinator.recover { done, total in
            // Keep systemd's start timeout ahead of a long recovery.
            if done % 1000 == 0 { notifier.extendTimeout(microseconds: 30_000_000) }
            _ = total
        }
        logger.notice("recovery finished", metadata: [
            "found": "\(report.found)", "ordered": "\(report.ordered)", "rolled_back": "\(report.rolledBack)",
            "deferred": "\(report.deferred)", "ms": "\(report.milliseconds)",
        ])

        let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        let router = Router(coordinator: coordinator, info: .init(redisTarget: endpoint.description, journalPath: journalPath,
                                                                  faultInjection: config.faultInjection))
        let server = HTTPServer(group: group, router: router, maxBodyBytes: config.maxBodyBytes)
        let channel: any Channel
        do {
            channel = try await server.bind(unixSocket: config.socketPath)
        } catch {
            await journal.close()
            await stock.shutdown()
            try? await group.shutdownGracefully()
            throw DaemonError("cannot listen on \(config.socketPath): \(error)")
        }
        let status = await statusLine(coordinator)
        notifier.ready(status: status)
        logger.notice("serving", metadata: ["socket": "\(config.socketPath)", "status": "\(status)"])

        await withTaskGroup(of: Void.self) { tasks in
            tasks.addTask { await coordinator.runTimeoutChecks() }
            // Wait for SIGTERM/SIGINT (delivered as graceful shutdown by the service group).
            try? await gracefulShutdown()
            notifier.stopping(status: "draining")
            logger.notice("shutting down: draining purchases in flight")
            await coordinator.drain(timeout: .seconds(10))
            try? await channel.close()
            tasks.cancelAll()
        }
        try? await group.shutdownGracefully()
        await stock.shutdown()
        await journal.close()
        logger.notice("flashd stopped")
    }

    private func checkEvictionPolicy(_ stock: RedisStockStore) async {
        guard let policy = try? await stock.evictionPolicy() else {
            logger.warning("could not read Redis' maxmemory-policy (Redis down?); barrier keys must never be evicted")
            return
        }
        if policy != "noeviction" && !policy.hasPrefix("volatile-") {
            logger.critical("Redis maxmemory-policy may evict barrier keys; set it to noeviction",
                            metadata: ["policy": "\(policy)"])
        }
    }

    private func statusLine(_ coordinator: Coordinator) async -> String {
        let s = await coordinator.status()
        return "serving: \(s.sales) sales, \(s.orders) orders, \(s.pending) pending, redis \(s.redisOK ? "ok" : "down")"
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

struct DaemonError: Error, CustomStringConvertible {
    let message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}
