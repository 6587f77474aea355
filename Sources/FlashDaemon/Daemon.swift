import Control
import FlashCore
import Logging
import ServiceLifecycle

/// The whole daemon: start (`DaemonStartup`: journal, Redis, recovery, the socket), then serve
/// with every loop a `Service` in one `ServiceGroup`, then close what the start opened, once.
/// SIGTERM and SIGINT shut the group down gracefully, last service first: the server drains
/// purchases in flight before the loops behind it stop.
public struct Daemon: Sendable {
    let config: DaemonConfig
    /// Resolves the configuration again (file and flags), for SIGHUP.
    let reload: @Sendable () throws -> DaemonConfig

    public init(config: DaemonConfig, reload: @escaping @Sendable () throws -> DaemonConfig) {
        self.config = config
        self.reload = reload
    }

    public func run() async throws {
        let levels = LogLevelBox(config.logLevel)
        LogSetup.bootstrap(levels)
        let logger = Logger(label: "flashd")
        let running: RunningDaemon
        do {
            running = try await DaemonStartup(config: config, logger: logger).start()
        } catch {
            // Also on stderr from the command line; logged so the journal has it as an entry.
            logger.critical("cannot start", metadata: ["error": "\(error)"])
            throw error
        }
        let coordinator = running.coordinator
        let lease = NodeLeaseKeeper(stock: running.stock, coordinator: coordinator, node: config.nodeID, token: running.leaseToken,
                                    held: running.leaseHeld, logger: logger)
        var delivery: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let deliverer = running.deliverer {
            delivery.append(.init(service: LoopService("order delivery") { await deliverer.run() }))
        }
        let services: [ServiceGroupConfiguration.ServiceConfiguration] = delivery + [
            .init(service: LoopService("timeout checks") { await coordinator.runTimeoutChecks() }),
            // Done once the journal's sold-out history is read; the fast path opens then.
            .init(service: LoopService("sold-out history") { await coordinator.loadSoldOutHistory() }, successTerminationBehavior: .ignore),
            .init(service: LoopService("sold-out refresh") {
                await coordinator.runSoldOutRefresh(interval: await coordinator.config.soldOutRefreshInterval)
            }),
            .init(service: HealthMonitor(coordinator: coordinator, journal: running.journal, eventLoop: running.eventLoops.next(),
                                         notifier: running.notifier, logger: logger, deliverer: running.deliverer)),
            .init(service: ReloadService(running: config, reload: reload, levels: levels, coordinator: coordinator,
                                         notifier: running.notifier, logger: logger)),
            .init(service: LoopService("node lease") { await lease.run() }),
            // Last, so the first to stop: no purchase is accepted while the loops behind it end.
            .init(service: ServingService(channels: running.channels, coordinator: coordinator, notifier: running.notifier, logger: logger)),
        ]
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        var failure: (any Error)?
        do {
            try await group.run()
        } catch {
            failure = error
        }
        await running.close()
        logger.notice("flashd stopped")
        if let failure { throw failure }
    }
}

/// Why flashd could not start or keep running.
public struct DaemonError: Error, CustomStringConvertible {
    public let message: String
    init(_ message: String) { self.message = message }
    public var description: String { message }
}
