import FlashCore
import FlashStorage
import Logging
import NIOCore
import Synchronization
import ServiceLifecycle
import Systemd

/// Keeps systemd informed: a current STATUS= line, and WATCHDOG=1 at half the watchdog interval
/// only while the daemon is healthy (its event loop answers and the journal answers). A wedged
/// daemon stops pinging, and systemd kills and restarts it.
struct HealthMonitor: Service, CustomStringConvertible {
    let coordinator: Coordinator
    let journal: SQLiteJournal
    let eventLoop: any EventLoop
    let notifier: SystemdNotifier
    let logger: Logger
    /// Delivery to PostgreSQL, when configured: its state goes into the STATUS= line.
    var deliverer: OrderDeliverer?
    var description: String { "health monitor" }

    func run() async throws {
        await cancelWhenGracefulShutdown { await watch() }
    }

    private func watch() async {
        let watchdog = notifier.watchdogInterval
        // Half the watchdog interval as systemd advises, and at least every 2 s for STATUS.
        let period = min(watchdog.map { $0 / 2 } ?? .seconds(2), .seconds(2))
        let probeTimeout = min(period, .seconds(1))
        var lastStatus = ""
        var wasHealthy = true
        while !Task.isCancelled {
            let loopOK = await Self.answers(within: probeTimeout) { try await eventLoop.submit {}.get() }
            let journalOK = await Self.answers(within: probeTimeout) { try await journal.ping() }
            let healthy = loopOK && journalOK
            if healthy {
                if watchdog != nil { notifier.watchdog() }
                let status = await Self.statusLine(coordinator, delivery: deliverer)
                if status != lastStatus {
                    notifier.status(status)
                    lastStatus = status
                }
            } else if wasHealthy {
                logger.critical("health check failed: event loop or journal not answering; withholding watchdog pings")
                notifier.status("unhealthy: event loop or journal not answering")
            }
            wasHealthy = healthy
            try? await Task.sleep(for: period)
        }
    }

    static func statusLine(_ coordinator: Coordinator, delivery: OrderDeliverer? = nil) async -> String {
        let s = await coordinator.status()
        // A journal that can't write (a full disk) is said here: the watchdog keeps pinging,
        // since a restart can't make room, and this line is what `systemctl status` shows.
        var line = "serving: \(grouped(s.sales)) sales, \(grouped(s.orders)) orders, \(grouped(s.pending)) pending, "
            + "redis \(s.redisOK ? "ok" : "down")" + (s.journalOK ? "" : ", journal failing: " + String((s.journalError ?? "").prefix(120)))
        if let delivery {
            let d = await delivery.snapshot()
            line += d.paused ? ", delivery paused" : d.healthy ? ", delivery ok" : ", delivery failing"
            if d.lag.count > 0 { line += " (\(grouped(Int(d.lag.count))) waiting)" }
        }
        return line
    }

    /// 1204 → "1,204".
    static func grouped(_ n: Int) -> String {
        let digits = String(n.magnitude)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return n < 0 ? "-" + out : out
    }

    /// Runs `probe` and reports whether it finished without error within `timeout`. The probe is
    /// not awaited past the timeout: a wedged thread would otherwise wedge the monitor too.
    static func answers(within timeout: Duration, _ probe: @escaping @Sendable () async throws -> Void) async -> Bool {
        await withCheckedContinuation { (done: CheckedContinuation<Bool, Never>) in
            let once = Once(done)
            Task {
                do {
                    try await probe()
                    once.resume(true)
                } catch {
                    once.resume(false)
                }
            }
            Task {
                try? await Task.sleep(for: timeout)
                once.resume(false)
            }
        }
    }

    /// Resumes a continuation exactly once, whichever task gets there first.
    private final class Once: Sendable {
        let flag: Atomic<Bool>
        let continuation: CheckedContinuation<Bool, Never>
        init(_ continuation: CheckedContinuation<Bool, Never>) {
            self.flag = Atomic(false)
            self.continuation = continuation
        }
        func resume(_ value: Bool) {
            if flag.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged {
                continuation.resume(returning: value)
            }
        }
    }
}
