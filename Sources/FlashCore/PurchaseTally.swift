/// What a purchase request came to, as `status` and the metrics count it: one vocabulary for
/// both (the label values of `flashd_purchases_total`, the keys of the counters), so a new
/// outcome is counted everywhere or fails to compile.
public enum PurchaseTally: String, CaseIterable, Sendable {
    case ordered
    /// The outcome of an earlier identical request, given again.
    case replayed
    case soldOut = "sold_out"
    case limitReached = "limit_reached"
    case rolledBack = "rolled_back"
    case saleReset = "sale_reset"
    case unknownSale = "unknown_sale"
    case notOpen = "not_open"
    case closed
    case paused
    /// No outcome: an error answer (503, 500, ...).
    case error

    public init(_ outcome: PurchaseOutcome) {
        switch outcome {
        case .ordered(_, let replayed): self = replayed ? .replayed : .ordered
        case .refused(let reason, _, let replayed):
            if replayed {
                self = .replayed
                return
            }
            self.init(reason)
        }
    }

    public init(_ reason: FailureReason) {
        switch reason {
        case .soldOut: self = .soldOut
        case .limitReached: self = .limitReached
        case .rolledBack: self = .rolledBack
        case .saleReset: self = .saleReset
        case .unknownSale: self = .unknownSale
        case .notOpen: self = .notOpen
        case .closed: self = .closed
        case .paused: self = .paused
        }
    }
}
