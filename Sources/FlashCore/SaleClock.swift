/// When a sale sells: from `opensMs` (inclusive) until `closesMs` (exclusive), unless paused.
/// Times are milliseconds of Redis' clock (`TIME`), the one clock every node shares: a node
/// whose own clock is skewed still opens and closes with the others (dtm#306, #511).
public struct SaleClock: Sendable, Equatable {
    public var opensMs: Int64?
    public var closesMs: Int64?
    public var paused: Bool
    /// How long an order is held for payment before its unit returns (nil: no hold, orders
    /// are final). Part of the clock because it is judged on the same one: Redis' `TIME`.
    public var holdMs: Int64?

    public init(opensMs: Int64? = nil, closesMs: Int64? = nil, paused: Bool = false, holdMs: Int64? = nil) {
        self.opensMs = opensMs
        self.closesMs = closesMs
        self.paused = paused
        self.holdMs = holdMs
    }

    /// Always open: a sale made without times.
    public static let always = SaleClock()

    /// Why a purchase at `now` is refused by the clock; nil when the sale sells then. A pause
    /// is named first, then not yet open, then closed (the purchase script checks in this order).
    /// `uncertainty`: how far `now` may be off Redis' clock. Only a refusal that holds anywhere
    /// in `now ± uncertainty` is given: near an edge, the purchase script decides on `TIME`.
    public func refusal(atMs now: Int64, uncertainty: Int64 = 0) -> FailureReason? {
        if paused { return .paused }
        if let opensMs, now + uncertainty < opensMs { return .notOpen }
        if let closesMs, now - uncertainty >= closesMs { return .closed }
        return nil
    }

    /// The sale's state at `now`, as `sale show` names it.
    public func state(atMs now: Int64) -> SaleState {
        switch refusal(atMs: now) {
        case .paused: return .paused
        case .notOpen: return .scheduled
        case .closed: return .closed
        default: return .open
        }
    }
}

public enum SaleState: String, Sendable, Equatable {
    case open, scheduled, paused, closed
}
