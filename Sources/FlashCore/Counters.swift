/// Running totals since start-up, shown by `status`.
public struct Counters: Sendable, Equatable {
    /// Purchase requests answered by the engine, by what they came to (the sold-out fast path's
    /// answers are counted where they are given, see `Coordinator.soldOutAtOnce`).
    public private(set) var purchases: [PurchaseTally: Int] = [:]
    /// Prepared transactions the timeout check or recovery settled, by outcome.
    public var resolvedOrdered = 0
    public var resolvedRolledBack = 0
    public var resolveRetries = 0
    /// Attempts answered with the order another node made for the same request (a retry sent
    /// elsewhere by a load balancer), each with nothing deducted here.
    public var adoptedElsewhere = 0
    /// Holds decided by this node (its own orders or, by id, another node's).
    public var holdsConfirmed = 0
    public var holdsCancelled = 0
    public var holdsExpired = 0

    public init() {}

    mutating func count(_ tally: PurchaseTally) {
        purchases[tally, default: 0] += 1
    }

    public subscript(_ tally: PurchaseTally) -> Int { purchases[tally] ?? 0 }

    /// Refusals other than sold out and the per-user limit.
    public var otherRefusals: Int { self[.rolledBack] + self[.saleReset] + self[.unknownSale] + clockRefusals }

    /// Refused by the sale's clock on the normal path (the fast path counts its own).
    public var clockRefusals: Int { self[.notOpen] + self[.closed] + self[.paused] }
}

/// What start-up recovery did.
public struct RecoveryReport: Sendable, Equatable {
    public var found = 0
    public var ordered = 0
    public var rolledBack = 0
    /// Still prepared because Redis or the journal failed; the timeout check keeps retrying them.
    public var deferred = 0
    /// Confirms and releases journaled and unfinished, decided again.
    public var holdIntents = 0
    public var milliseconds: Int64 = 0
    public init() {}
}
