@testable import FlashCore

/// In-memory stores for fuzzing the request decoder and router. They prove nothing about
/// atomicity or durability (the Redis and SQLite tests do that); they let millions of hostile
/// requests reach every route quickly.
actor MemoryStockStore: StockStore {
    var saleByItem: [String: SaleInfo] = [:]
    var barriers: [String: Bool] = [:]
    var bought: [String: Int] = [:]

    func createSale(item: String, stock: Int, limitPerUser: Int) throws -> SaleInfo {
        if saleByItem[item] != nil { throw EngineError(.saleExists, "exists") }
        let s = SaleInfo(item: item, round: 1, limitPerUser: limitPerUser, total: stock, remaining: stock)
        saleByItem[item] = s
        return s
    }

    func restock(item: String, add: Int, requestID: String?) throws -> SaleInfo {
        guard var s = saleByItem[item] else { throw EngineError.unknownSale(item) }
        s.total += add
        s.remaining += add
        saleByItem[item] = s
        return s
    }

    func reset(item: String, expectedRound: Int, stock: Int, limitPerUser: Int, requestID: String?) throws -> SaleInfo {
        guard let old = saleByItem[item], old.round == expectedRound else { throw EngineError.unknownSale(item) }
        let s = SaleInfo(item: item, round: old.round + 1, limitPerUser: limitPerUser, total: stock, remaining: stock)
        saleByItem[item] = s
        return s
    }

    func sale(item: String) -> SaleInfo? { saleByItem[item] }
    func sales() -> [SaleInfo] { saleByItem.values.sorted { $0.item < $1.item } }
    func saleCount() -> Int { saleByItem.count }

    func deduct(gid: String, item: String, round: Int, user: String, floor: FenceFloor) -> StockReply {
        guard var s = saleByItem[item] else { return .noSale }
        if s.round != round { return .staleRound(current: s.round) }
        if let b = barriers[gid] { return b ? .alreadyDeducted : .rolledBack }
        if bought["\(item)/\(user)", default: 0] >= s.limitPerUser { return .limitReached }
        if s.remaining <= 0 { return .soldOut }
        s.remaining -= 1
        saleByItem[item] = s
        bought["\(item)/\(user)", default: 0] += 1
        barriers[gid] = true
        return .deducted(remaining: s.remaining)
    }

    func backCheck(gid: String, item: String, round: Int) -> BackCheckReply {
        if barriers[gid] == true { return .deducted }
        barriers[gid] = false
        return .rolledBack
    }

    func ping() {}
    func checkFence(item: String, round: Int, floor: FenceFloor) -> FenceReading {
        guard let s = saleByItem[item] else { return .noSale }
        return s.round == round ? .current(mine: nil, all: nil, fences: [:]) : .otherRound(s.round)
    }
    func repair(item: String, round: Int, node: String, orders: [(gid: String, user: String)], apply: Bool) -> RepairResult {
        RepairResult(missing: 0, stockAfter: saleByItem[item]?.remaining ?? 0)
    }
    func liftFence(item: String, node: String) -> Int { 0 }
    func claimNode(_ node: String, token: String, ttlMs: Int) -> NodeClaim { .held }
    func releaseNode(_ node: String, token: String) {}
}

actor MemoryJournal: Journal {
    var txns: [String: TxnRecord] = [:]
    var ordersByGID: [String: Order] = [:]
    /// Kept as running totals: a million requests must not make each status call scan everything.
    var pendingCount = 0

    func prepare(_ record: TxnRecord) -> (record: TxnRecord, inserted: Bool) {
        if let existing = txns[record.gid] { return (existing, false) }
        txns[record.gid] = record
        pendingCount += 1
        return (record, true)
    }

    func commitOrder(_ order: Order, nowMs: Int64) throws -> (order: Order, inserted: Bool) {
        if let o = ordersByGID[order.gid] { return (o, false) }
        guard var t = txns[order.gid], t.state == .prepared else { throw EngineError.journalUnavailable("not prepared") }
        t.state = .succeeded
        t.orderID = order.orderID
        txns[order.gid] = t
        pendingCount -= 1
        ordersByGID[order.gid] = order
        return (order, true)
    }

    func commitFailure(gid: String, reason: FailureReason, nowMs: Int64) {
        guard var t = txns[gid], t.state == .prepared else { return }
        t.state = .failed
        t.reason = reason
        txns[gid] = t
        pendingCount -= 1
    }

    func recordRetry(gid: String, attempts: Int, nextCheckMs: Int64, error: String, nowMs: Int64) {
        txns[gid]?.attempts = attempts
    }

    func transaction(gid: String) -> TxnRecord? { txns[gid] }
    func order(gid: String) -> Order? { ordersByGID[gid] }
    func preparedTransactions() -> [TxnRecord] { pendingCount == 0 ? [] : txns.values.filter { $0.state == .prepared } }
    func orders(item: String?, limit: Int, before: ListCursor?) -> Page<Order> {
        Page(rows: Array(ordersByGID.values.lazy.filter { item == nil || $0.item == item }.prefix(limit)), next: nil)
    }

    func transactions(state: TxnState?, limit: Int, before: ListCursor?) -> Page<TxnRecord> {
        Page(rows: Array(txns.values.lazy.filter { state == nil || $0.state == state }.prefix(limit)), next: nil)
    }

    /// The fuzzer sells one item; per-item counts are the totals.
    func counts(item: String, round: Int) -> (orders: Int, pending: Int) { (ordersByGID.count, pendingCount) }
    func totals() -> (orders: Int, pending: Int) { (ordersByGID.count, pendingCount) }
    func orderCount(item: String, round: Int, gidPrefix: String) -> Int { orderRefs(item: item, round: round, gidPrefix: gidPrefix).count }
    func orderRefs(item: String, round: Int, gidPrefix: String) -> [(gid: String, user: String)] {
        ordersByGID.values.filter { $0.item == item && $0.round == round && $0.gid.hasPrefix(gidPrefix) }.map { ($0.gid, $0.user) }
    }
    func history(after rowID: Int64, limit: Int) -> (rows: [JournalEntry], next: Int64?) { ([], nil) }
    func ping() {}
}
