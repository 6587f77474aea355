/// Settings of the embedded transaction coordinator.
public struct CoordinatorConfig: Sendable {
    /// Carried in every gid and order id, so nodes sharing one Redis never collide.
    public var node: String
    /// How long a prepared transaction may stay unresolved before the timeout check back-checks it.
    public var checkDelay: Duration
    public var faultInjection: Bool
    /// Backoff of failed resolution attempts: `retryBase * 2^(attempts-1)`, capped at `retryCap`.
    public var retryBase: Duration
    public var retryCap: Duration
    /// How often the journal is swept for prepared rows the in-memory schedule does not know.
    public var sweepInterval: Duration
    /// How many resolutions run at once during recovery and timeout checks. Many at once is
    /// what lets their back-checks share Redis round trips and their commits share fsyncs.
    public var resolveConcurrency: Int
    /// How often flagged sold-out sales are re-read from Redis: the longest a restock on
    /// another node goes unseen by this node's fast path (plus one round trip).
    public var soldOutRefreshInterval: Duration
    /// The key of the gids' keyed hash: the journal's own secret (`SQLiteJournal.gidKey`).
    public var gidKey: (UInt64, UInt64)

    public init(node: String, checkDelay: Duration = .seconds(3), faultInjection: Bool = false,
                retryBase: Duration = .milliseconds(500), retryCap: Duration = .seconds(30),
                sweepInterval: Duration = .seconds(10), resolveConcurrency: Int = 512,
                soldOutRefreshInterval: Duration = .milliseconds(200), gidKey: (UInt64, UInt64) = (0, 0)) {
        self.gidKey = gidKey
        self.node = node
        self.checkDelay = checkDelay
        self.faultInjection = faultInjection
        self.retryBase = retryBase
        self.retryCap = retryCap
        self.sweepInterval = sweepInterval
        self.resolveConcurrency = resolveConcurrency
        self.soldOutRefreshInterval = soldOutRefreshInterval
    }

    public var gids: GlobalTransactionID { GlobalTransactionID(node: node, key: gidKey) }

    /// Delay before attempt `attempts + 1`, after `attempts` failures (attempts >= 1).
    public func backoff(afterAttempts attempts: Int) -> Duration {
        let exponent = min(max(attempts - 1, 0), 20)
        let delay = retryBase * (1 << exponent)
        return delay < retryCap ? delay : retryCap
    }
}
