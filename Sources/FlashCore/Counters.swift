/// Running totals since start-up, shown by `status`.
public struct Counters: Sendable, Equatable {
    public var ordered = 0
    public var soldOut = 0
    public var limitReached = 0
    public var otherRefusals = 0
    public var replayed = 0
    public var errors = 0
    /// Prepared transactions the timeout check or recovery settled, by outcome.
    public var resolvedOrdered = 0
    public var resolvedRolledBack = 0
    public var resolveRetries = 0

    public init() {}

    mutating func count(_ outcome: PurchaseOutcome) {
        switch outcome {
        case .ordered(_, let replayed):
            if replayed { self.replayed += 1 } else { ordered += 1 }
        case .refused(let reason, _, let replayed):
            if replayed { self.replayed += 1; return }
            switch reason {
            case .soldOut: soldOut += 1
            case .limitReached: limitReached += 1
            default: otherRefusals += 1
            }
        }
    }
}

/// What start-up recovery did.
public struct RecoveryReport: Sendable, Equatable {
    public var found = 0
    public var ordered = 0
    public var rolledBack = 0
    /// Still prepared because Redis or the journal failed; the timeout check keeps retrying them.
    public var deferred = 0
    public var milliseconds: Int64 = 0
    public init() {}
}
