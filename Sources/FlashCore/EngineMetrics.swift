import Metrics

/// The engine's metrics, through swift-metrics (the daemon bootstraps the Prometheus backend;
/// without a bootstrap they cost nothing). Created once: the hot path only increments.
struct EngineMetrics: Sendable {
    let purchases: [PurchaseTally: Counter]
    let purchaseDuration = Metrics.Timer(label: "flashd_purchase_duration_seconds")
    /// How long a purchase waited on each of its steps, from the call to the coordinator's
    /// turn again: where the time between admission and answer goes (`bench` prints the means).
    let steps: [PurchaseStep: Metrics.Timer]
    let pending = Gauge(label: "flashd_pending_transactions")
    let recoveredOrdered = Counter(label: "flashd_recovered_transactions_total", dimensions: [("outcome", "ordered")])
    let recoveredRolledBack = Counter(label: "flashd_recovered_transactions_total", dimensions: [("outcome", "rolled_back")])
    let backChecks: [String: Counter]
    let retries = Counter(label: "flashd_resolve_retries_total")
    let redisErrors = Counter(label: "flashd_redis_errors_total")
    let journalErrors = Counter(label: "flashd_journal_errors_total")
    let soldOutItems = Gauge(label: "flashd_sold_out_items")
    /// Items fenced because Redis is behind a journal (G9): anything above 0 needs an operator.
    let fencedItems = Gauge(label: "flashd_redis_behind_items")
    /// Per sale: stock, orders, pending, holds.
    let sales = SaleMetrics()
    /// Holds decided by this node (G7), by verdict: confirmed, cancelled, expired.
    let holds: [String: Counter]

    init() {
        purchases = Dictionary(uniqueKeysWithValues: PurchaseTally.allCases.map {
            ($0, Counter(label: "flashd_purchases_total", dimensions: [("outcome", $0.rawValue)]))
        })
        steps = Dictionary(uniqueKeysWithValues: PurchaseStep.allCases.map {
            ($0, Metrics.Timer(label: "flashd_purchase_step_seconds", dimensions: [("step", $0.rawValue)]))
        })
        holds = Dictionary(uniqueKeysWithValues: ["confirmed", "cancelled", "expired"].map {
            ($0, Counter(label: "flashd_holds_decided_total", dimensions: [("verdict", $0)]))
        })
        backChecks = Dictionary(uniqueKeysWithValues: ["deducted", "rolled_back", "error"].map {
            ($0, Counter(label: "flashd_backchecks_total", dimensions: [("outcome", $0)]))
        })
    }

    func count(_ tally: PurchaseTally) {
        purchases[tally]?.increment()
    }

    func record(_ step: PurchaseStep, since start: ContinuousClock.Instant, now: ContinuousClock.Instant) {
        steps[step]?.recordNanoseconds((now - start).nanoseconds)
    }
}

/// The steps of a purchase that wait on I/O, as `flashd_purchase_step_seconds` names them.
enum PurchaseStep: String, CaseIterable, Sendable {
    /// The prepared row's group commit.
    case journalPrepare = "journal_prepare"
    /// The purchase script's Redis batch.
    case stockScript = "stock_script"
    /// The order's group commit.
    case journalOrder = "journal_order"
}
