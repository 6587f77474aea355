import Synchronization
/// Sales administration, audit and status.
extension Coordinator {
    public static let maxStock = 1_000_000_000

    public func createSale(item: String, stock count: Int, limitPerUser: Int, clock: SaleClock = .always) async throws -> SaleInfo {
        try Names.check(item, field: "item")
        try checkStock(count, field: "stock", allowZero: true)
        try checkLimit(limitPerUser)
        try checkClock(clock)
        let sale = try await redis { try await self.stock.createSale(item: item, stock: count, limitPerUser: limitPerUser, clock: clock) }
        sales[item] = sale
        gate.clear(item: item, round: sale.round)
        gate.setClock(item: item, sale.clock)
        metrics.soldOutItems.record(gate.soldOutCount)
        // A sale made again after Redis was flushed finds this node's orders of its round 1.
        await countOrders(SaleRound(item: item, round: sale.round))
        logger.notice("sale created", metadata: ["item": "\(item)", "stock": "\(count)", "limit": "\(limitPerUser)"])
        return sale
    }

    public func restock(item: String, add: Int, requestID: String? = nil) async throws -> SaleInfo {
        try Names.check(item, field: "item")
        try checkStock(add, field: "add", allowZero: false)
        if let requestID { try Names.check(requestID, field: "request_id") }
        let sale = try await redis { try await self.stock.restock(item: item, add: add, requestID: requestID) }
        sales[item] = sale
        gate.clear(item: item, round: sale.round)
        metrics.soldOutItems.record(gate.soldOutCount)
        logger.notice("sale restocked", metadata: ["item": "\(item)", "add": "\(add)", "remaining": "\(sale.remaining)"])
        return sale
    }

    /// Starts a new round of the sale. Refused while any transaction of the current round is
    /// prepared: their barriers and deductions belong to the round being replaced.
    public func reset(item: String, stock count: Int, limitPerUser: Int?, clock: SaleClock = .always,
                      requestID: String? = nil) async throws -> SaleInfo {
        try Names.check(item, field: "item")
        if let requestID { try Names.check(requestID, field: "request_id") }
        try checkStock(count, field: "stock", allowZero: true)
        if let limitPerUser { try checkLimit(limitPerUser) }
        try checkClock(clock)
        guard let current = try await redis({ try await self.stock.sale(item: item) }) else { throw EngineError.unknownSale(item) }
        // New purchases of this item wait out the reset, so none can journal between the
        // pending count below and the new round (the Lua round check covers other nodes).
        guard !resetting.contains(item) else { throw EngineError(.saleBusy, "sale \(item) is being reset") }
        resetting.insert(item)
        defer { resetting.remove(item) }
        // Purchases of the item are turned away meanwhile; not as "sold out" by the gate.
        gate.clear(item: item, round: current.round)
        let pending = try await journal.counts(item: item, round: current.round).pending
        if pending > 0 || inflightItems[item] != nil {
            throw EngineError(.salePending, "sale \(item) has \(pending) pending transaction(s); retry once they settle")
        }
        let sale = try await redis {
            try await self.stock.reset(item: item, expectedRound: current.round, stock: count,
                                       limitPerUser: limitPerUser ?? current.limitPerUser, clock: clock, requestID: requestID)
        }
        sales[item] = sale
        gate.clear(item: item, round: sale.round)
        gate.setClock(item: item, sale.clock)
        metrics.soldOutItems.record(gate.soldOutCount)
        logger.notice("sale reset", metadata: ["item": "\(item)", "round": "\(sale.round)", "stock": "\(count)"])
        return sale
    }

    public struct SaleView: Sendable, Equatable {
        public var sale: SaleInfo
        public var orders: Int
        public var pending: Int
        public var holds: HoldCounts
        public init(sale: SaleInfo, orders: Int, pending: Int, holds: HoldCounts = HoldCounts()) {
            self.sale = sale
            self.orders = orders
            self.pending = pending
            self.holds = holds
        }
    }

    public func showSale(item: String) async throws -> SaleView {
        try Names.check(item, field: "item")
        guard let sale = try await redis({ try await self.stock.sale(item: item) }) else { throw EngineError.unknownSale(item) }
        cache(sale)
        let (orders, pending) = try await journal.counts(item: item, round: sale.round)
        return SaleView(sale: sale, orders: orders, pending: pending, holds: try await journal.holdCounts(item: item, round: sale.round))
    }

    public func listSales() async throws -> [SaleView] {
        let all = try await redis { try await self.stock.sales() }
        var views: [SaleView] = []
        for sale in all {
            cache(sale)
            let (orders, pending) = try await journal.counts(item: sale.item, round: sale.round)
            views.append(SaleView(sale: sale, orders: orders, pending: pending,
                                  holds: try await journal.holdCounts(item: sale.item, round: sale.round)))
        }
        return views
    }

    /// Per item: stock taken in Redis against this node's orders and pending transactions.
    public func audit() async throws -> [AuditLine] {
        try await listSales().map {
            AuditLine(item: $0.sale.item, round: $0.sale.round, total: $0.sale.total, taken: $0.sale.taken,
                      orders: $0.orders, pending: $0.pending, holds: $0.holds)
        }
    }

    public struct Status: Sendable {
        public var node: String
        public var uptimeSeconds: Double
        public var redisOK: Bool
        public var redisError: String?
        public var journalOK: Bool
        public var journalError: String?
        public var counters: Counters
        public var orders: Int
        public var pending: Int
        public var scheduled: Int
        public var inflight: Int
        public var sales: Int
        public var draining: Bool
        /// Sold-out answers given by the gate, without Redis or the journal.
        public var fastSoldOut: Int
        /// Refusals the fast path gave from a sale's clock.
        public var fastClockRefused: Int = 0
        public var soldOutItems: Int
        /// The gate has read the journal's history: fast answers may be given.
        public var fastPathOpen: Bool
        public var nodeLeaseHeld: Bool
        /// Fenced items (G9) and why.
        public var redisBehind: [String: String]
    }

    public func status() async -> Status {
        var redisOK = true
        var redisError: String?
        var saleCount = sales.count
        do { saleCount = try await stock.saleCount(); markRedis(ok: true) } catch {
            redisOK = false
            redisError = "\(error)"
            markRedis(ok: false, redisError)
        }
        var journalOK = true
        var journalError: String?
        var totals = (orders: 0, pending: 0)
        do { totals = try await journal.totals() } catch {
            journalOK = false
            journalError = "\(error)"
        }
        // Reads may answer while writes fail (a full disk): the writes' failure is the news.
        if let writeError = journalWriteError {
            journalOK = false
            journalError = writeError
        }
        var status = Status(node: config.node, uptimeSeconds: Double((time() - startedAt).milliseconds) / 1000,
                      redisOK: redisOK, redisError: redisError, journalOK: journalOK, journalError: journalError,
                      counters: counters, orders: totals.orders, pending: totals.pending, scheduled: schedule.count,
                      inflight: inflight.count, sales: saleCount, draining: draining,
                      fastSoldOut: fastSoldOut.load(ordering: .relaxed), soldOutItems: gate.soldOutCount,
                      fastPathOpen: gate.isHistoryLoaded, nodeLeaseHeld: nodeLeaseValid, redisBehind: fencedItems)
        status.fastClockRefused = fastClockRefusals.load(ordering: .relaxed)
        return status
    }

    public func orders(_ query: OrderQuery, limit: Int, before: ListCursor? = nil) async throws -> Page<Order> {
        if let item = query.item { try Names.check(item, field: "item") }
        if let user = query.user { try Names.check(user, field: "user") }
        if let requestID = query.requestID {
            try Names.check(requestID, field: "request_id")
            // Without the buyer a request id names nothing: ids are the client's, not unique.
            guard query.user != nil else { throw EngineError.invalidInput(field: "request_id", "request_id needs user") }
        }
        return try await journal.orders(query, limit: limit, before: before)
    }

    /// One order by its id (`ord-<gid>`). Each node journals its own orders: an id made by
    /// another node is answered with that node's name, so the caller knows whom to ask.
    public func order(id: String) async throws -> Order {
        let gid = id.hasPrefix("ord-") ? String(id.dropFirst(4)) : ""
        guard GlobalTransactionID.digest(ofGID: gid) != nil, let dash = gid.lastIndex(of: "-"), Names.isValid(String(gid[..<dash])) else {
            throw EngineError.invalidInput(field: "order_id", "order ids look like ord-NODE-0123456789abcdef")
        }
        let node = String(gid[..<dash])
        guard node == config.node else {
            throw EngineError(.unknownOrder, "order \(id) was made by node \(node), not \(config.node): ask that node")
        }
        guard let order = try await journal.order(gid: gid) else {
            throw EngineError(.unknownOrder, "no order \(id) (the purchase failed, was refused, is still pending, or never was)")
        }
        return order
    }

    /// The feed: changes after sequence `after`, oldest first.
    public func changes(after: Int64, limit: Int) async throws -> [OrderChange] {
        try await journal.changes(after: after, limit: limit)
    }

    public func newestChange() async throws -> Int64 {
        try await journal.newestChange()
    }

    public func transactions(state: TxnState?, limit: Int, before: ListCursor? = nil) async throws -> Page<TxnRecord> {
        try await journal.transactions(state: state, limit: limit, before: before)
    }

    // MARK: helpers

    /// Caches a sale read from Redis, unless a newer round is cached already: a read that
    /// started before a reset must not overwrite the round the reset just installed.
    func cache(_ sale: SaleInfo) {
        if let cached = sales[sale.item], cached.round > sale.round { return }
        sales[sale.item] = sale
    }

    private func checkStock(_ n: Int, field: String, allowZero: Bool) throws {
        guard n >= (allowZero ? 0 : 1), n <= Self.maxStock else {
            throw EngineError.invalidInput(field: field, "\(field) must be \(allowZero ? 0 : 1)...\(Self.maxStock)")
        }
    }

    private func checkLimit(_ n: Int) throws {
        guard n >= 1, n <= Self.maxStock else {
            throw EngineError.invalidInput(field: "limit_per_user", "limit_per_user must be 1...\(Self.maxStock)")
        }
    }

    func redis<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        do {
            let v = try await body()
            markRedis(ok: true)
            return v
        } catch let e as EngineError {
            if e.code == .redisUnavailable { markRedis(ok: false, e.message) }
            throw e
        }
    }
}
