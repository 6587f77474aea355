import Logging
import Metrics
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Delivers the outbox to an `OrderSink`, at least once, with an exactly-once effect (G8):
/// read a batch after the mark, upsert it in one statement, then move the mark. A crash
/// between the target's commit and the mark sends the batch again, which the forward-only
/// upsert turns into no change.
///
/// It runs beside the purchases, never in their way: it reads on the journal's reader thread,
/// writes only its mark, and a target that is down, slow or refusing only makes it wait, with
/// capped backoff, while the journal keeps everything.
public actor OrderDeliverer {
    public struct Settings: Sendable {
        /// Changes read per batch; each order's latest one is sent.
        public var batch = 1000
        /// How long the deliverer waits after a batch that was not full before it looks for
        /// news: the batching window. Each batch is a PostgreSQL commit, an fsync on its disk,
        /// often the journal's disk too; a window of 50 ms made 20 small batches a second
        /// under load and cost purchases 14%, 200 ms makes 5 (BENCHMARKS.md), and adds at
        /// most that to a change's lag.
        public var poll: Duration = .milliseconds(200)
        public var backoffFloor: Duration = .milliseconds(200)
        public var backoffCap: Duration = .seconds(10)
        /// A warning in the log when the oldest undelivered change is older than this.
        public var warnAfter: Duration = .seconds(30)
        public init() {}
    }

    /// What `status` shows of delivery.
    public struct Snapshot: Sendable {
        public var target: String
        public var paused: Bool
        /// The last batch went through, and no error since.
        public var healthy: Bool
        public var lag: OutboxLag
        /// Age of the oldest undelivered change, in ms (0 when nothing waits).
        public var lagMs: Int64
        public var lastError: String?
        public var delivered: Int
        public var batches: Int
        public var failures: Int
        /// Lag of every change delivered since start, from its commit to the target's commit.
        public var lagHistogram: [(upperMs: Int64, count: Int)]
    }

    /// Upper bounds of the lag histogram's buckets, in ms; the last catches the rest.
    public static let lagBuckets: [Int64] = [5, 10, 25, 50, 100, 250, 500, 750, 1000, 2500, 5000, 10_000, 60_000, Int64.max]

    private let outbox: any Outbox
    private let sink: any OrderSink
    private let settings: Settings
    private let logger: Logger
    private let wallClockMs: @Sendable () -> Int64
    private var paused = false
    private var armed: DeliveryFault?
    private var lastError: String?
    private var delivered = 0
    private var batches = 0
    private var failures = 0
    private var lagCounts: [Int]
    private var lastWarnMs: Int64 = 0
    /// The journal's mark as this deliverer last read or wrote it (nil: read it first). Only
    /// this deliverer moves it, so it is read from the journal once.
    private var mark: Int64?
    private let metrics = DeliveryMetrics()

    public init(outbox: any Outbox, sink: any OrderSink, settings: Settings = Settings(), logger: Logger,
                wallClockMs: @escaping @Sendable () -> Int64) {
        self.outbox = outbox
        self.sink = sink
        self.settings = settings
        self.logger = logger
        self.wallClockMs = wallClockMs
        lagCounts = Array(repeating: 0, count: Self.lagBuckets.count)
    }

    public nonisolated var target: String { sink.target }

    /// Delivers until the task is cancelled.
    public func run() async {
        var backoff = settings.backoffFloor
        var prepared = false
        while !Task.isCancelled {
            do {
                if paused {
                    try await Task.sleep(for: settings.poll)
                    continue
                }
                if !prepared {
                    try await sink.prepare()
                    prepared = true
                }
                let sent = try await deliverOnce()
                if lastError != nil {
                    logger.notice("order delivery resumed", metadata: ["target": "\(sink.target)"])
                    lastError = nil
                }
                backoff = settings.backoffFloor
                try await watchLag()
                if sent < settings.batch { try await Task.sleep(for: settings.poll) }
            } catch is CancellationError {
                break
            } catch {
                failures += 1
                metrics.failures.increment()
                let text = "\(error)"
                // Logged when it changes, not every retry: an outage is one line, not thousands.
                if text != lastError {
                    logger.error("order delivery failed; retrying with backoff", metadata: [
                        "target": "\(sink.target)", "error": "\(text)", "retry_in_ms": "\(backoff.milliseconds)",
                    ])
                }
                lastError = text
                if let e = error as? DeliveryError, e.code == .refused { prepared = false }
                try? await watchLag()
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, settings.backoffCap)
            }
        }
        await sink.close()
    }

    /// One batch: read, send, mark. Returns how many changes it moved past.
    private func deliverOnce() async throws -> Int {
        let from: Int64
        if let mark { from = mark } else { from = try await outbox.outboxLag().delivered }
        mark = from
        let changes = try await outbox.changes(after: from, limit: settings.batch)
        guard let last = changes.last else { return 0 }
        crashIfArmed(.beforeSend)
        try await sink.upsert(Self.latestPerOrder(changes))
        let doneMs = wallClockMs()
        crashIfArmed(.afterCommit)
        try await outbox.markDelivered(upTo: last.seq)
        mark = last.seq
        for c in changes {
            let lag = max(0, doneMs - c.atMs)
            lagCounts[Self.lagBuckets.firstIndex { lag <= $0 } ?? (Self.lagBuckets.count - 1)] += 1
            metrics.lag.recordMilliseconds(lag)
        }
        delivered += changes.count
        batches += 1
        metrics.delivered.increment(by: changes.count)
        return changes.count
    }

    /// Each order once, in its latest change of the batch: one upsert can't touch a row twice.
    static func latestPerOrder(_ changes: [OrderChange]) -> [OrderChange] {
        var latest: [String: OrderChange] = [:]
        for c in changes where (latest[c.order.orderID]?.seq ?? .min) < c.seq { latest[c.order.orderID] = c }
        return latest.values.sorted { $0.seq < $1.seq }
    }

    private func watchLag() async throws {
        let lag = try await outbox.outboxLag()
        let ageMs = lag.oldestUndeliveredMs.map { max(0, wallClockMs() - $0) } ?? 0
        metrics.pending.record(lag.count)
        metrics.oldest.record(Double(ageMs) / 1000)
        let now = wallClockMs()
        if ageMs > settings.warnAfter.milliseconds, now - lastWarnMs >= 60_000 {
            lastWarnMs = now
            logger.warning("order delivery is behind", metadata: [
                "target": "\(sink.target)", "undelivered": "\(lag.count)", "oldest_seconds": "\(ageMs / 1000)",
                "error": "\(lastError ?? "none")",
            ])
        }
    }

    private func crashIfArmed(_ point: DeliveryFault) {
        guard armed == point else { return }
        logger.critical("fault injection: the deliverer exits at \(point.rawValue)")
        _exit(137)
    }

    // MARK: control

    /// Stops or resumes sending; the outbox keeps filling meanwhile.
    public func setPaused(_ value: Bool) {
        paused = value
        logger.notice(value ? "order delivery paused" : "order delivery resumed by an operator", metadata: ["target": "\(sink.target)"])
    }

    /// The target's rows that keep a unit, per item and round (for the audit).
    public nonisolated func liveOrders() async throws -> [ItemRound: Int] {
        try await sink.liveOrders()
    }

    /// Fault injection: exit at `point` of the next batch.
    public func arm(_ point: DeliveryFault?) {
        armed = point
    }

    public func snapshot() async -> Snapshot {
        let lag = (try? await outbox.outboxLag()) ?? OutboxLag(delivered: 0, newest: 0, oldestUndeliveredMs: nil)
        let lagMs = lag.oldestUndeliveredMs.map { max(0, wallClockMs() - $0) } ?? 0
        return Snapshot(target: sink.target, paused: paused, healthy: lastError == nil, lag: lag, lagMs: lagMs, lastError: lastError,
                        delivered: delivered, batches: batches, failures: failures,
                        lagHistogram: zip(Self.lagBuckets, lagCounts).map { ($0, $1) })
    }
}

/// The deliverer's metrics (swift-metrics; Prometheus in the daemon).
struct DeliveryMetrics: Sendable {
    let delivered = Counter(label: "flashd_delivery_changes_total")
    let failures = Counter(label: "flashd_delivery_failures_total")
    let pending = Gauge(label: "flashd_delivery_pending_changes")
    let oldest = Gauge(label: "flashd_delivery_oldest_pending_seconds")
    let lag = Metrics.Timer(label: "flashd_delivery_lag_seconds")
}
