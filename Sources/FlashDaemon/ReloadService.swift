import FlashCore
import Logging
import ServiceLifecycle
import Systemd
import UnixSignals

/// SIGHUP: re-read the config file and apply the settings a reload can change (the table's
/// `.live` ones), with the RELOADING=1 / READY=1 handshake of Type=notify-reload.
struct ReloadService: Service, CustomStringConvertible {
    /// The settings the daemon started with: the others can't change without a restart.
    let running: DaemonConfig
    let reload: @Sendable () throws -> DaemonConfig
    let levels: LogLevelBox
    let coordinator: Coordinator
    let notifier: SystemdNotifier
    let logger: Logger
    var description: String { "reload on SIGHUP" }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            for await _ in await UnixSignalsSequence(trapping: .sighup) {
                await reloadOnce()
            }
        }
    }

    private func reloadOnce() async {
        notifier.reloading()
        do {
            let fresh = try reload()
            levels.level = fresh.logLevel
            await coordinator.setCheckDelay(fresh.checkDelay)
            let ignored = fresh.restartOnlyDifferences(from: running)
            if !ignored.isEmpty {
                logger.warning("changed settings need a restart to apply", metadata: ["keys": "\(ignored.joined(separator: ","))"])
            }
            var metadata = MessageID.metadata(MessageID.reloaded)
            for s in Setting.all where s.reload == .live { metadata[s.key.replacing("-", with: "_")] = "\(s.show(fresh))" }
            logger.notice("configuration reloaded", metadata: metadata)
        } catch {
            logger.error("configuration reload failed; keeping the running settings", metadata: ["error": "\(error)"])
        }
        notifier.ready(status: await HealthMonitor.statusLine(coordinator))
    }
}
