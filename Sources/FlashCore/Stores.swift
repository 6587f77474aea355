/// The stock side of a purchase (Redis in production). Every method is one atomic step on the
/// shared store. Implementations throw `EngineError` with `.redisUnavailable` when they can't
/// reach the store, `.unknownSale`/`.saleExists` for admin verbs.
public protocol StockStore: Sendable {
    func createSale(item: String, stock: Int, limitPerUser: Int, clock: SaleClock) async throws -> SaleInfo
    /// `requestID`: a restock retried with the same id adds nothing again.
    func restock(item: String, add: Int, requestID: String?) async throws -> SaleInfo
    /// Starts a new round with `stock`, provided the sale is still in round `expectedRound`.
    /// The new round sells by `clock` (a reset ends a pause).
    func reset(item: String, expectedRound: Int, stock: Int, limitPerUser: Int, clock: SaleClock, requestID: String?) async throws -> SaleInfo
    /// Pauses or resumes the sale; throws `.unknownSale`.
    func setPaused(item: String, paused: Bool) async throws -> SaleInfo
    /// Redis' clock now, in milliseconds (`TIME`): what opening and closing are judged on.
    func timeMs() async throws -> Int64
    func sale(item: String) async throws -> SaleInfo?
    func sales() async throws -> [SaleInfo]
    func saleCount() async throws -> Int
    /// Fence check against `floor`, barrier check, the request's first deduction on any node,
    /// per-user limit, stock check, decrement, barrier write, the request recorded and the
    /// deduction counted, atomically.
    func deduct(gid: String, item: String, round: Int, user: String, requestID: String, floor: FenceFloor) async throws -> StockReply
    /// Barrier present: deducted. Absent: write the rollback marker, so a late deduction is
    /// refused, and say whether another gid deducted for the same request.
    func backCheck(gid: String, item: String, round: Int, user: String, requestID: String) async throws -> BackCheckReply
    /// The (user, request id) pairs that deducted for `item` on any node, in any round, a page
    /// from `cursor` on ("0": the start; `next` nil: the end): what the sold-out fast path must
    /// let through to the purchase script.
    func requests(item: String, cursor: String) async throws -> (page: [(user: String, requestID: String)], next: String?)
    /// How many requests deducted for `item` (the size of what `requests` reads).
    func requestCount(item: String) async throws -> Int
    func ping() async throws
    /// The periodic fence check of one round: fences the item if Redis is under `floor`, and
    /// reads the counts and the item's fences.
    func checkFence(item: String, round: Int, floor: FenceFloor) async throws -> FenceReading
    /// Re-applies the deductions of `orders` (gid, user) whose barrier Redis lost; a dry run
    /// unless `apply`. Throws `.saleBusy` if the sale left round `round` meanwhile.
    func repair(item: String, round: Int, node: String, orders: [OrderRef], apply: Bool) async throws -> RepairResult
    /// Lifts `node`'s fence of the item; returns the fences other nodes still hold.
    func liftFence(item: String, node: String) async throws -> Int
    /// Takes or renews the lease on node id `node` for `ttlMs`, unless another token holds it.
    func claimNode(_ node: String, token: String, ttlMs: Int) async throws -> NodeClaim
    /// Gives the lease up, if `token` still holds it (a clean stop).
    func releaseNode(_ node: String, token: String) async throws
    /// The hold of `gid` as Redis keeps it, with its barrier's state; nil when Redis has none.
    func hold(gid: String) async throws -> HoldEntry?
    /// For an order made after its deduction (recovery, a retry): its hold, renewed to run the
    /// sale's hold from Redis' clock now if it is still held; nil when the gid has no hold.
    func renewHold(gid: String, item: String, round: Int) async throws -> HoldEntry?
    /// Decides `action` for the held order atomically under its barrier (G7): a release gives
    /// the unit and the buyer's slot back once, in the order's round only. `notifyOwner`: tell
    /// the selling node (another one) that its order changed, so its journal catches up.
    func decideHold(_ entry: HoldEntry, action: HoldAction, notifyOwner: Bool) async throws -> HoldReply
    /// Up to `max` gids of `node`'s orders that other nodes confirmed or released, oldest first.
    func takeHoldNews(node: String, max: Int) async throws -> [String]
}

/// An order as a repair needs it: which barrier Redis must hold for it (G9).
public struct OrderRef: Sendable, Equatable {
    public var gid: String
    public var user: String
    public var hold: HoldState?
    /// The request, so a repair puts back the record of which gid deducted for it too ('': none).
    public var requestID: String
    public var createdMs: Int64
    public init(gid: String, user: String, hold: HoldState? = nil, requestID: String = "", createdMs: Int64 = 0) {
        self.gid = gid
        self.user = user
        self.hold = hold
        self.requestID = requestID
        self.createdMs = createdMs
    }
}

/// The journal (SQLite in production): global transactions and orders, on this node.
/// Implementations throw `EngineError` with `.journalUnavailable` when the file can't be used.
/// It is also the outbox of orders and their changes (`Outbox`).
public protocol Journal: Outbox {
    /// Inserts `record` as prepared and durable (`inserted == true`), or returns the row already
    /// there for its gid (`inserted == false`).
    func prepare(_ record: TxnRecord) async throws -> (record: TxnRecord, inserted: Bool)
    /// Writes the order and marks the transaction succeeded, in one SQLite transaction.
    /// Idempotent: a transaction that already succeeded returns its existing order
    /// (`inserted == false`).
    func commitOrder(_ order: Order, nowMs: Int64) async throws -> (order: Order, inserted: Bool)
    /// Removes a still-prepared row whose purchase never began here: the sale's clock refused
    /// it, or the same request deducted on another node (the answer is that node's order).
    func discard(gid: String) async throws
    /// Marks the transaction failed with `reason`; a no-op on a row that is already final.
    func commitFailure(gid: String, reason: FailureReason, nowMs: Int64) async throws
    /// Records a failed resolution attempt, for `txns` and for operators.
    func recordRetry(gid: String, attempts: Int, nextCheckMs: Int64, error: String, nowMs: Int64) async throws
    func transaction(gid: String) async throws -> TxnRecord?
    func order(gid: String) async throws -> Order?
    func preparedTransactions() async throws -> [TxnRecord]
    /// Newest first, a page of at most `limit`, from `before` on (nil: the newest).
    func orders(_ query: OrderQuery, limit: Int, before: ListCursor?) async throws -> Page<Order>
    func transactions(state: TxnState?, limit: Int, before: ListCursor?) async throws -> Page<TxnRecord>
    /// Orders and prepared transactions of one item's round.
    func counts(item: String, round: Int) async throws -> (orders: Int, pending: Int)
    func totals() async throws -> (orders: Int, pending: Int)
    /// Orders of one round whose gid starts with `gidPrefix` (this node's: `NODE-`).
    func orderCount(item: String, round: Int, gidPrefix: String) async throws -> Int
    /// Those orders' gids, users and holds, for a repair.
    func orderRefs(item: String, round: Int, gidPrefix: String) async throws -> [OrderRef]
    /// Moves an order's hold to `state` (an intent or a verdict), unless it is final already;
    /// `cause` with a release. Returns the order as it is now (nil: no such order).
    func setHold(gid: String, to state: HoldState, cause: ReleaseCause?, nowMs: Int64) async throws -> Order?
    /// Confirms and releases journaled and not finished (a crash, a Redis outage), at most `limit`.
    func holdIntents(limit: Int) async throws -> [Order]
    /// Orders of one item's round by hold state.
    func holdCounts(item: String, round: Int) async throws -> HoldCounts
    /// Up to `limit` journal rows after `rowID`, in the order they were written, with the row
    /// id to continue from (nil at the end). The sold-out gate reads its history this way, a
    /// page at a time, so no single call holds the journal's thread for long.
    func history(after rowID: Int64, limit: Int) async throws -> (rows: [JournalEntry], next: Int64?)
    func ping() async throws
}

/// One journal row as the sold-out gate (and the hold schedule) need it.
public struct JournalEntry: Sendable, Equatable {
    public var item: String
    public var round: Int
    public var gid: String
    /// An order's hold and when it runs out: how the hold schedule is rebuilt at start-up.
    public var hold: HoldState?
    public var expiresMs: Int64?
    public init(item: String, round: Int, gid: String, hold: HoldState? = nil, expiresMs: Int64? = nil) {
        self.item = item
        self.round = round
        self.gid = gid
        self.hold = hold
        self.expiresMs = expiresMs
    }
}

extension Journal {
    /// The newest page.
    public func orders(item: String?, limit: Int) async throws -> [Order] {
        try await orders(OrderQuery(item: item), limit: limit, before: nil).rows
    }

    public func transactions(state: TxnState?, limit: Int) async throws -> [TxnRecord] {
        try await transactions(state: state, limit: limit, before: nil).rows
    }
}

/// One page of a listing, newest first, and where the next (older) one starts.
public struct Page<Row: Sendable>: Sendable {
    public var rows: [Row]
    /// nil: this was the last page.
    public var next: ListCursor?
    public init(rows: [Row], next: ListCursor?) {
        self.rows = rows
        self.next = next
    }
}

/// Where a listing continues: the row it stopped after, by (created_ms, gid), which orders
/// every row of the journal. As text `MS_GID` (an opaque token to clients).
public struct ListCursor: Sendable, Equatable {
    public var createdMs: Int64
    public var gid: String

    public init(createdMs: Int64, gid: String) {
        self.createdMs = createdMs
        self.gid = gid
    }

    public init?(parsing text: String) {
        guard let sep = text.firstIndex(of: "_"), let ms = Int64(text[..<sep]), ms >= 0 else { return nil }
        let gid = String(text[text.index(after: sep)...])
        guard !gid.isEmpty, gid.count <= 200 else { return nil }
        self.init(createdMs: ms, gid: gid)
    }

    public var text: String { "\(createdMs)_\(gid)" }
}
