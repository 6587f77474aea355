/// The journal is the outbox (G8): every order and every later change of its state gets a
/// delivery sequence in the same commit that makes it, so what the journal knows and what a
/// reader of the feed or the shop's database will learn can't part.
///
/// The sequence is the `changes` table's row id. SQLite has one writer and hands out row ids
/// in commit order, so a reader that saw sequence N has seen every change before it: a page
/// that ends at N can be continued from N with nothing skipped or repeated.
public struct OrderChange: Sendable, Equatable {
    public var seq: Int64
    /// The state the order moved to with this change.
    public var state: DeliveredState
    /// When the journal committed it (ms since the epoch, this host's clock).
    public var atMs: Int64
    /// The order as it is now (its hold may have moved on since this change).
    public var order: Order

    public init(seq: Int64, state: DeliveredState, atMs: Int64, order: Order) {
        self.seq = seq
        self.state = state
        self.atMs = atMs
        self.order = order
    }

    /// The node that sold it: its gid's prefix.
    public var node: String {
        let gid = order.gid
        return String(gid[..<(gid.lastIndex(of: "-") ?? gid.endIndex)])
    }
}

/// An order's state as the outside world sees it: the intents (`confirming`, `releasing`) are
/// the journal's own business and never leave it.
public enum DeliveredState: String, Sendable, Codable, CaseIterable {
    /// A sale without a hold: the order is final when it is made.
    case final
    case held
    case confirmed
    case released

    /// What an order in `hold` shows outside (nil: a final order).
    public init(hold: HoldState?) {
        switch hold {
        case nil: self = .final
        case .held?, .confirming?, .releasing?: self = .held
        case .confirmed?: self = .confirmed
        case .released?: self = .released
        }
    }

    /// States only move forward: a change may replace one of a lower rank, never the reverse.
    /// Confirmed and released are both last: a verdict never moves again.
    public var rank: Int { self == .held ? 1 : 2 }
}

/// How far delivery has got, and how far behind it is.
public struct OutboxLag: Sendable, Equatable {
    /// Sequence of the last change delivered (0: none yet).
    public var delivered: Int64
    /// Sequence of the newest change in the journal.
    public var newest: Int64
    /// When the oldest undelivered change was committed (nil: nothing undelivered).
    public var oldestUndeliveredMs: Int64?

    public init(delivered: Int64, newest: Int64, oldestUndeliveredMs: Int64?) {
        self.delivered = delivered
        self.newest = newest
        self.oldestUndeliveredMs = oldestUndeliveredMs
    }

    /// Changes waiting to be delivered.
    public var count: Int64 { max(0, newest - delivered) }
}

/// The journal's outbox side: the feed reads it; the deliverer reads it and keeps its mark in it.
public protocol Outbox: Sendable {
    /// Up to `limit` changes after sequence `after`, in sequence order.
    func changes(after: Int64, limit: Int) async throws -> [OrderChange]
    /// The newest sequence (0 when the journal has no change yet).
    func newestChange() async throws -> Int64
    /// Where delivery stands: its mark (written after the target's commit) and the lag behind it.
    func outboxLag() async throws -> OutboxLag
    /// Moves the delivered-up-to mark to `seq` (never back).
    func markDelivered(upTo seq: Int64) async throws
}
