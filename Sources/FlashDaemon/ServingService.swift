import FlashCore
import Logging
import NIOCore
import ServiceLifecycle
import Systemd

/// The listening sockets while they serve: tells systemd READY, waits for the graceful
/// shutdown, then refuses new purchases, lets those in flight finish, and closes the sockets.
struct ServingService: Service, CustomStringConvertible {
    let channels: [any Channel]
    let coordinator: Coordinator
    let notifier: SystemdNotifier
    let logger: Logger
    var description: String { "server" }

    func run() async throws {
        let status = await HealthMonitor.statusLine(coordinator)
        notifier.ready(status: status)
        logger.notice("ready", metadata: MessageID.metadata(MessageID.ready).merging(["status": "\(status)"]) { $1 })
        // Until SIGTERM/SIGINT (delivered as graceful shutdown by the service group).
        try? await gracefulShutdown()
        notifier.stopping(status: "draining purchases in flight")
        logger.notice("stopping: draining purchases in flight", metadata: MessageID.metadata(MessageID.stopping))
        await coordinator.drain(timeout: .seconds(10))
        for c in channels { try? await c.close() }
    }
}
