/// State of a global transaction in the journal. Stored as its raw value, so the journal
/// stays readable with the sqlite3 shell.
public enum TxnState: String, Sendable, Codable, CaseIterable {
    case prepared
    case succeeded
    case failed
}

/// Why a global transaction failed. Every case is final: a failed purchase never becomes an order.
public enum FailureReason: String, Sendable, Codable, Equatable, CaseIterable {
    case soldOut = "sold_out"
    case limitReached = "limit_reached"
    /// The back-check found no deduction and wrote the rollback marker first.
    case rolledBack = "rolled_back"
    /// The sale was reset (a new round began) between journal write and stock step.
    case saleReset = "sale_reset"
    case unknownSale = "unknown_sale"
    /// The sale's clock: not open yet, closed, or paused (`SaleClock`).
    case notOpen = "not_open"
    case closed
    case paused
}

/// Where a purchase may be told to crash, with fault injection enabled.
public enum FaultPoint: String, Sendable, Codable, CaseIterable {
    case afterJournal = "after-journal"
    case afterStock = "after-stock"
    case beforeOrder = "before-order"
    /// A confirm or cancel: after its intent is journaled, before Redis is asked.
    case afterIntent = "after-intent"
    /// A confirm or cancel: after Redis decided, before the journal records the verdict.
    case afterDecision = "after-decision"

    /// The points a confirm or cancel passes; the others are a purchase's.
    public var isHoldPoint: Bool { self == .afterIntent || self == .afterDecision }
}

/// How it crashes: `abandon` stops the handler (the client gets an error and the timeout check
/// must finish the transaction); `exit` kills the process at once, like kill -9.
public enum FaultMode: String, Sendable, Codable, CaseIterable {
    case abandon
    case exit
}

public struct FaultRequest: Sendable, Equatable {
    public var point: FaultPoint
    public var mode: FaultMode
    public init(point: FaultPoint, mode: FaultMode) {
        self.point = point
        self.mode = mode
    }
}

/// One row of the journal.
public struct TxnRecord: Sendable, Equatable {
    public var gid: String
    public var item: String
    public var round: Int
    public var user: String
    public var requestID: String
    public var state: TxnState
    public var reason: FailureReason?
    public var orderID: String?
    public var createdMs: Int64
    public var updatedMs: Int64
    /// Wall-clock time of the next timeout check. Shown to operators; scheduling itself runs on
    /// the monotonic clock (see `Coordinator`), so a wall-clock jump can't cause a retry storm.
    public var nextCheckMs: Int64
    public var attempts: Int
    public var lastError: String?

    public init(gid: String, item: String, round: Int, user: String, requestID: String, state: TxnState = .prepared,
                reason: FailureReason? = nil, orderID: String? = nil, createdMs: Int64, updatedMs: Int64,
                nextCheckMs: Int64, attempts: Int = 0, lastError: String? = nil) {
        self.gid = gid
        self.item = item
        self.round = round
        self.user = user
        self.requestID = requestID
        self.state = state
        self.reason = reason
        self.orderID = orderID
        self.createdMs = createdMs
        self.updatedMs = updatedMs
        self.nextCheckMs = nextCheckMs
        self.attempts = attempts
        self.lastError = lastError
    }

    /// True when this row was written for the same purchase (guards against gid digest
    /// collisions). The round is not part of it: a retry after a reset is the same purchase.
    public func isSamePurchase(as other: TxnRecord) -> Bool {
        item == other.item && user == other.user && requestID == other.requestID
    }
}

/// What makes two requests the same purchase: the gid is a digest of it.
public struct PurchaseKey: Hashable, Sendable {
    public var item: String
    public var user: String
    public var requestID: String
}

public struct Order: Sendable, Equatable {
    public var orderID: String
    public var gid: String
    public var item: String
    public var round: Int
    public var user: String
    public var requestID: String
    public var createdMs: Int64
    /// nil: the sale had no hold, the order is final. Otherwise where its hold stands.
    public var hold: HoldState?
    /// When the hold runs out, in ms of Redis' clock (only with a hold).
    public var expiresMs: Int64?
    /// Why a released order was released.
    public var releaseCause: ReleaseCause?

    public init(orderID: String, gid: String, item: String, round: Int, user: String, requestID: String, createdMs: Int64,
                hold: HoldState? = nil, expiresMs: Int64? = nil, releaseCause: ReleaseCause? = nil) {
        self.orderID = orderID
        self.gid = gid
        self.item = item
        self.round = round
        self.user = user
        self.requestID = requestID
        self.createdMs = createdMs
        self.hold = hold
        self.expiresMs = expiresMs
        self.releaseCause = releaseCause
    }
}

/// A sale as Redis holds it. `round` grows by one on every reset, so orders and barriers of an
/// earlier round never mix with the current one.
public struct SaleInfo: Sendable, Equatable {
    public var item: String
    public var round: Int
    public var limitPerUser: Int
    /// Stock the round started with plus every restock.
    public var total: Int
    /// Stock left in Redis now.
    public var remaining: Int
    /// When it sells.
    public var clock: SaleClock

    public init(item: String, round: Int, limitPerUser: Int, total: Int, remaining: Int, clock: SaleClock = .always) {
        self.item = item
        self.round = round
        self.limitPerUser = limitPerUser
        self.total = total
        self.remaining = remaining
        self.clock = clock
    }

    public var taken: Int { total - remaining }
}

/// What the stock script answered. Decoded from integer codes at the store boundary.
public enum StockReply: Sendable, Equatable {
    /// `expiresMs`: the sale holds its orders until then (Redis' clock); nil, no hold.
    case deducted(remaining: Int, expiresMs: Int64? = nil)
    /// The barrier already says "deducted" for this gid: a retry of a step that ran.
    case alreadyDeducted
    /// The barrier says "rolled back": the back-check won, this deduction must not happen.
    case rolledBack
    case soldOut
    case limitReached
    case noSale
    case staleRound(current: Int)
    /// Redis is behind a journal (G9): the item is fenced; nothing was deducted.
    case fenced
    /// The sale's clock refused it on Redis' time (not open, closed, paused); nothing deducted.
    case clockRefused(FailureReason)
    /// Another gid, another node's, already deducted for this (item, user, request id): the
    /// request's order is that one. Nothing was deducted for this gid.
    case orderedElsewhere(OrderElsewhere)
}

/// The purchase that first deducted for a request, as Redis recorded it with the deduction
/// (`req:ITEM`, field `USER REQID`): enough to answer a retry that reached another node with
/// that order, without asking the node that took it.
public struct OrderElsewhere: Sendable, Equatable {
    public var gid: String
    public var round: Int
    /// Redis' clock at the deduction.
    public var deductedMs: Int64
    public init(gid: String, round: Int, deductedMs: Int64) {
        self.gid = gid
        self.round = round
        self.deductedMs = deductedMs
    }
}

/// The answer to claiming a node id's lease in Redis.
public enum NodeClaim: Sendable, Equatable {
    /// The lease is this process's (taken now or renewed) until its time-to-live runs out.
    case held
    /// Another process holds it, identified by its token, for `ttlMs` more milliseconds.
    case heldByOther(token: String, ttlMs: Int)
}

/// What the back-check script answered.
public enum BackCheckReply: Sendable, Equatable {
    /// The barrier says the deduction happened: finish the order.
    case deducted
    /// No deduction; the rollback marker is now in place (or already was).
    case rolledBack
    /// No deduction for this gid (the rollback marker is in place), but another node's gid
    /// deducted for the same request: its order is the request's.
    case orderedElsewhere(OrderElsewhere)
}

/// The final answer to one purchase.
public enum PurchaseOutcome: Sendable, Equatable {
    case ordered(Order, replayed: Bool)
    case refused(FailureReason, gid: String, replayed: Bool)
}

/// Per-item audit line (G1, G2).
public struct AuditLine: Sendable, Equatable {
    public var item: String
    public var round: Int
    public var total: Int
    public var taken: Int
    public var orders: Int
    public var pending: Int
    /// Orders by hold state (all zero for a sale without a hold). `orders` counts them all,
    /// released ones too: their units went back to the stock.
    public var holds: HoldCounts

    public init(item: String, round: Int, total: Int, taken: Int, orders: Int, pending: Int, holds: HoldCounts = HoldCounts()) {
        self.item = item
        self.round = round
        self.total = total
        self.taken = taken
        self.orders = orders
        self.pending = pending
        self.holds = holds
    }

    /// Orders that keep their unit: all but the released.
    public var live: Int { orders - holds.released }

    /// No oversell, and every unit taken has its live order or belongs to a pending purchase
    /// that will resolve it. A confirm or release being decided may have returned its unit in
    /// Redis already. With nothing pending or deciding this is exactly taken == live.
    public var consistent: Bool {
        live <= total && live - holds.deciding <= taken && taken <= live + pending
    }
}

/// Which orders a listing wants: all, or a buyer's (`user`), narrowed to an item and to the
/// purchase of one request id.
public struct OrderQuery: Sendable, Equatable {
    public var item: String?
    public var user: String?
    public var requestID: String?
    /// Only orders whose hold is in this state.
    public var hold: HoldState?

    public init(item: String? = nil, user: String? = nil, requestID: String? = nil, hold: HoldState? = nil) {
        self.item = item
        self.user = user
        self.requestID = requestID
        self.hold = hold
    }
}
