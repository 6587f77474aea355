import FlashCore

/// In-memory stores: for fuzzing the request decoder and router (millions of hostile requests
/// reach every route quickly) and for the engine's own tests (`CoordinatorTests`). They prove
/// nothing about atomicity or durability: the Redis and SQLite tests do that.
public actor MemoryStockStore: StockStore {
    public var saleByItem: [String: SaleInfo] = [:]
    public var barriers: [String: Bool] = [:]
    public var bought: [String: Int] = [:]
    /// Deductions made, for tests that count them (a retry must not make another).
    public private(set) var deductions = 0
    /// While set, every purchase step throws `redisUnavailable`: Redis down, as far as the
    /// engine can tell.
    public private(set) var down = false

    public init() {}

    public func setDown(_ down: Bool) { self.down = down }

    private func checkUp() throws {
        if down { throw EngineError.redisUnavailable("memory store is down") }
    }

    public func createSale(item: String, stock: Int, limitPerUser: Int, clock: SaleClock) throws -> SaleInfo {
        if saleByItem[item] != nil { throw EngineError(.saleExists, "exists") }
        let s = SaleInfo(item: item, round: 1, limitPerUser: limitPerUser, total: stock, remaining: stock, clock: clock)
        saleByItem[item] = s
        return s
    }

    public func restock(item: String, add: Int, requestID: String?) throws -> SaleInfo {
        guard var s = saleByItem[item] else { throw EngineError.unknownSale(item) }
        s.total += add
        s.remaining += add
        saleByItem[item] = s
        return s
    }

    public func reset(item: String, expectedRound: Int, stock: Int, limitPerUser: Int, clock: SaleClock,
                      requestID: String?) throws -> SaleInfo {
        guard let old = saleByItem[item], old.round == expectedRound else { throw EngineError.unknownSale(item) }
        let s = SaleInfo(item: item, round: old.round + 1, limitPerUser: limitPerUser, total: stock, remaining: stock, clock: clock)
        saleByItem[item] = s
        return s
    }

    public func setPaused(item: String, paused: Bool) throws -> SaleInfo {
        guard var s = saleByItem[item] else { throw EngineError.unknownSale(item) }
        s.clock.paused = paused
        saleByItem[item] = s
        return s
    }

    /// The store's clock: the test's own, in milliseconds.
    public var nowMs: Int64 = 1_000_000
    public func setNow(_ ms: Int64) { nowMs = ms }
    public func timeMs() throws -> Int64 {
        try checkUp()
        return nowMs
    }

    public func sale(item: String) throws -> SaleInfo? {
        try checkUp()
        return saleByItem[item]
    }
    public func sales() -> [SaleInfo] { saleByItem.values.sorted { $0.item < $1.item } }
    public func saleCount() -> Int { saleByItem.count }

    public func deduct(gid: String, item: String, round: Int, user: String, requestID: String, floor: FenceFloor) throws -> StockReply {
        try checkUp()
        guard var s = saleByItem[item] else { return .noSale }
        if s.round != round { return .staleRound(current: s.round) }
        if barriers[gid] == true { return .alreadyDeducted }
        let asked = "\(item) \(user) \(requestID)"
        if let first = requests[asked], first.gid != gid { return .orderedElsewhere(first) }
        if barriers[gid] == false { return .rolledBack }
        if let refusal = s.clock.refusal(atMs: nowMs) { return .clockRefused(refusal) }
        if bought["\(item)/\(user)", default: 0] >= s.limitPerUser { return .limitReached }
        if s.remaining <= 0 { return .soldOut }
        s.remaining -= 1
        saleByItem[item] = s
        bought["\(item)/\(user)", default: 0] += 1
        barriers[gid] = true
        requests[asked] = OrderElsewhere(gid: gid, round: round, deductedMs: nowMs)
        deductions += 1
        if let hold = s.clock.holdMs {
            holds[gid] = HoldEntry(gid: gid, item: item, round: round, user: user, expiresMs: nowMs + hold, state: .held)
            return .deducted(remaining: s.remaining, expiresMs: nowMs + hold)
        }
        return .deducted(remaining: s.remaining)
    }

    /// Holds by gid, with their barrier's state (as `LuaScripts.decideHold` keeps them).
    public var holds: [String: HoldEntry] = [:]

    public func hold(gid: String) throws -> HoldEntry? {
        try checkUp()
        return holds[gid]
    }

    public func renewHold(gid: String, item: String, round: Int) throws -> HoldEntry? {
        try checkUp()
        guard var h = holds[gid] else { return nil }
        if h.state == .held, let s = saleByItem[item], s.round == round, let hold = s.clock.holdMs, nowMs + hold > h.expiresMs {
            h.expiresMs = nowMs + hold
            holds[gid] = h
        }
        return h
    }

    public func decideHold(_ entry: HoldEntry, action: HoldAction, notifyOwner: Bool) throws -> HoldReply {
        try checkUp()
        guard var h = holds[entry.gid], let state = h.state else { return .missing }
        switch state {
        case .confirmed: return .confirmed
        case .released: return .released
        default: break
        }
        let expired = nowMs >= h.expiresMs
        if action == .expire && !expired { return .stillHeld(expiresMs: h.expiresMs) }
        if action == .confirm && !expired {
            h.state = .confirmed
            holds[entry.gid] = h
            return .confirmed
        }
        h.state = .released
        holds[entry.gid] = h
        if var s = saleByItem[h.item], s.round == h.round {
            s.remaining += 1
            saleByItem[h.item] = s
            bought["\(h.item)/\(h.user)", default: 1] -= 1
        }
        return .released
    }

    public func takeHoldNews(node: String, max: Int) -> [String] { [] }

    public func backCheck(gid: String, item: String, round: Int, user: String, requestID: String) throws -> BackCheckReply {
        try checkUp()
        if barriers[gid] == true { return .deducted }
        barriers[gid] = false
        if let first = requests["\(item) \(user) \(requestID)"], first.gid != gid { return .orderedElsewhere(first) }
        return .rolledBack
    }

    /// Which gid deducted for each request, keyed "ITEM USER REQUESTID" (`LuaScripts.buy`'s record).
    public var requests: [String: OrderElsewhere] = [:]

    /// One page with everything.
    public func requests(item: String, cursor: String) -> (page: [(user: String, requestID: String)], next: String?) {
        let page = requests.keys.compactMap { key -> (user: String, requestID: String)? in
            let parts = key.split(separator: " ").map(String.init)
            return parts.count == 3 && parts[0] == item ? (parts[1], parts[2]) : nil
        }
        return (page, nil)
    }

    public func requestCount(item: String) -> Int { requests(item: item, cursor: "0").page.count }

    public func ping() throws { try checkUp() }
    public func checkFence(item: String, round: Int, floor: FenceFloor) -> FenceReading {
        guard let s = saleByItem[item] else { return .noSale }
        return s.round == round ? .current(mine: nil, all: nil, fences: [:]) : .otherRound(s.round)
    }
    public func repair(item: String, round: Int, node: String, orders: [OrderRef], apply: Bool) -> RepairResult {
        RepairResult(missing: 0, stockAfter: saleByItem[item]?.remaining ?? 0)
    }
    public func liftFence(item: String, node: String) -> Int { 0 }
    public func claimNode(_ node: String, token: String, ttlMs: Int) -> NodeClaim { .held }
    public func releaseNode(_ node: String, token: String) {}
}

public actor MemoryJournal: Journal {
    public var txns: [String: TxnRecord] = [:]
    public var ordersByGID: [String: Order] = [:]
    public init() {}

    /// Kept as running totals: a million requests must not make each status call scan everything.
    public var pendingCount = 0

    public func prepare(_ record: TxnRecord) -> (record: TxnRecord, inserted: Bool) {
        if let existing = txns[record.gid] { return (existing, false) }
        txns[record.gid] = record
        pendingCount += 1
        return (record, true)
    }

    public func commitOrder(_ order: Order, nowMs: Int64) throws -> (order: Order, inserted: Bool) {
        if let o = ordersByGID[order.gid] { return (o, false) }
        guard var t = txns[order.gid], t.state == .prepared else { throw EngineError.journalUnavailable("not prepared") }
        t.state = .succeeded
        t.orderID = order.orderID
        txns[order.gid] = t
        pendingCount -= 1
        ordersByGID[order.gid] = order
        outbox.append((order.gid, DeliveredState(hold: order.hold), nowMs))
        return (order, true)
    }

    public func commitFailure(gid: String, reason: FailureReason, nowMs: Int64) {
        guard var t = txns[gid], t.state == .prepared else { return }
        t.state = .failed
        t.reason = reason
        txns[gid] = t
        pendingCount -= 1
    }

    public func discard(gid: String) {
        guard let t = txns[gid], t.state == .prepared else { return }
        txns[gid] = nil
        pendingCount -= 1
    }

    public func recordRetry(gid: String, attempts: Int, nextCheckMs: Int64, error: String, nowMs: Int64) {
        txns[gid]?.attempts = attempts
    }

    public func transaction(gid: String) -> TxnRecord? { txns[gid] }
    public func order(gid: String) -> Order? { ordersByGID[gid] }
    public func preparedTransactions() -> [TxnRecord] { pendingCount == 0 ? [] : txns.values.filter { $0.state == .prepared } }
    public func orders(_ query: OrderQuery, limit: Int, before: ListCursor?) -> Page<Order> {
        let rows = ordersByGID.values.lazy.filter {
            (query.item ?? $0.item) == $0.item && (query.user ?? $0.user) == $0.user && (query.requestID ?? $0.requestID) == $0.requestID
                && (query.hold == nil || $0.hold == query.hold)
        }
        return Page(rows: Array(rows.prefix(limit)), next: nil)
    }

    public func transactions(state: TxnState?, limit: Int, before: ListCursor?) -> Page<TxnRecord> {
        Page(rows: Array(txns.values.lazy.filter { state == nil || $0.state == state }.prefix(limit)), next: nil)
    }

    /// The fuzzer sells one item; per-item counts are the totals.
    public func counts(item: String, round: Int) -> (orders: Int, pending: Int) { (ordersByGID.count, pendingCount) }
    public func totals() -> (orders: Int, pending: Int) { (ordersByGID.count, pendingCount) }
    public func orderCount(item: String, round: Int, gidPrefix: String) -> Int { orderRefs(item: item, round: round, gidPrefix: gidPrefix).count }
    public func orderRefs(item: String, round: Int, gidPrefix: String) -> [OrderRef] {
        ordersByGID.values.filter { $0.item == item && $0.round == round && $0.gid.hasPrefix(gidPrefix) }
            .map { OrderRef(gid: $0.gid, user: $0.user, hold: $0.hold, requestID: $0.requestID, createdMs: $0.createdMs) }
    }

    public func setHold(gid: String, to state: HoldState, cause: ReleaseCause?, nowMs: Int64) -> Order? {
        guard var o = ordersByGID[gid] else { return nil }
        let movable = state == .held ? o.hold == .releasing : (o.hold.map { !$0.isFinal } ?? false)
        if movable {
            o.hold = state
            o.releaseCause = cause
            ordersByGID[gid] = o
            if state.isFinal { outbox.append((gid, DeliveredState(hold: state), nowMs)) }
        }
        return o
    }

    public func holdIntents(limit: Int) -> [Order] {
        Array(ordersByGID.values.filter { $0.hold?.isIntent ?? false }.prefix(limit))
    }

    public func holdCounts(item: String, round: Int) -> HoldCounts {
        var c = HoldCounts()
        for o in ordersByGID.values where o.item == item && o.round == round {
            switch o.hold {
            case .held?: c.held += 1
            case .confirmed?: c.confirmed += 1
            case .released?: c.released += 1
            case .confirming?, .releasing?: c.deciding += 1
            case nil: break
            }
        }
        return c
    }
    public func history(after rowID: Int64, limit: Int) -> (rows: [JournalEntry], next: Int64?) { ([], nil) }
    public func ping() {}

    /// The outbox: sequence n is `outbox[n - 1]`.
    public var outbox: [(gid: String, state: DeliveredState, atMs: Int64)] = []
    public var deliveredSeq: Int64 = 0
    public func changes(after seq: Int64, limit: Int) -> [OrderChange] {
        let from = Int(max(0, seq))
        guard from < outbox.count else { return [] }
        return outbox[from..<min(outbox.count, from + limit)].enumerated().compactMap { i, c in
            ordersByGID[c.gid].map { OrderChange(seq: Int64(from + i + 1), state: c.state, atMs: c.atMs, order: $0) }
        }
    }
    public func newestChange() -> Int64 { Int64(outbox.count) }
    public func outboxLag() -> OutboxLag {
        OutboxLag(delivered: deliveredSeq, newest: Int64(outbox.count),
                  oldestUndeliveredMs: Int(deliveredSeq) < outbox.count ? outbox[Int(deliveredSeq)].atMs : nil)
    }
    public func markDelivered(upTo seq: Int64) { deliveredSeq = max(deliveredSeq, seq) }
}

extension StockStore {
    /// A sale that is always open: what most store tests sell.
    public func createSale(item: String, stock: Int, limitPerUser: Int) async throws -> SaleInfo {
        try await createSale(item: item, stock: stock, limitPerUser: limitPerUser, clock: .always)
    }

    /// The back-check of a gid no request id belongs to: what the script tests ask.
    public func backCheck(gid: String, item: String, round: Int) async throws -> BackCheckReply {
        try await backCheck(gid: gid, item: item, round: round, user: "", requestID: "")
    }

    public func reset(item: String, expectedRound: Int, stock: Int, limitPerUser: Int, requestID: String?) async throws -> SaleInfo {
        try await reset(item: item, expectedRound: expectedRound, stock: stock, limitPerUser: limitPerUser, clock: .always, requestID: requestID)
    }
}
