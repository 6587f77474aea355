/// The fence against a Redis that lost writes the journal holds (G9): counting this node's
/// orders per round, the check once a second, and the operator's repair.
extension Coordinator {
    /// Counts this node's orders of a round from the journal, once; until then its floor is 0.
    func countOrders(_ key: SaleRound) async {
        guard fence.needsCount(key) else { return }
        fence.startCounting(key)
        do {
            let n = try await journal.orderCount(item: key.item, round: key.round, gidPrefix: config.node + "-")
            fence.counted(key, orders: n)
        } catch {
            // Counted again at the next check; meanwhile the floor stays 0 (no false fence).
            fence.abandonCount(key)
        }
    }

    func redisBehind(_ item: String, _ reason: String) -> EngineError {
        EngineError(.redisBehind, "sales of \(item) are stopped: Redis holds fewer deductions than a journal proves were made, "
                    + "so units it forgot were sold would be sold again (\(reason)); an operator repairs it with "
                    + "flashsalectl sale repair \(item)")
    }

    func noteFencedByScript(_ item: String) {
        if fence.refusal(item) == nil {
            logger.critical("redis is behind the journal: sales stopped", metadata: [
                "item": "\(item)", "node": "\(config.node)", "message_id": "\(MessageID.redisBehind)",
            ])
        }
        fence.fencedByScript(item, node: config.node)
        metrics.fencedItems.record(fence.fencedItems.count)
    }

    /// The check: every sale this node knows (and every fenced one), against its floors. Runs
    /// at start-up before READY and then at most once a second from the timeout check.
    public func checkFences() async {
        lastFenceCheck = time()
        let known: [String: Int]
        do {
            known = Dictionary(try await stock.sales().map { ($0.item, $0.round) }) { a, _ in a }
        } catch {
            return
        }
        for (item, round) in known.sorted(by: { $0.key < $1.key }) {
            let key = SaleRound(item: item, round: round)
            await countOrders(key)
            await checkFence(key)
        }
        // Fences of sales gone from Redis (flushed): nothing left to sell, nothing to fence.
        for item in fence.fencedItems where known[item] == nil { fence.setFences(item, [:]) }
        metrics.fencedItems.record(fence.fencedItems.count)
    }

    func checkFence(_ key: SaleRound) async {
        do {
            let reading = try await stock.checkFence(item: key.item, round: key.round, floor: fence.floor(key, node: config.node))
            guard case .current(let mine, let all, let fences) = reading else { return }
            let was = fence.refusal(key.item)
            fence.setFences(key.item, fences)
            if let all { fence.observe(key, all: all) }
            if let now = fence.refusal(key.item), now != was {
                logger.critical("redis is behind the journal: sales stopped until an operator repairs them", metadata: [
                    "item": "\(key.item)", "round": "\(key.round)", "node": "\(config.node)", "fences": "\(now)",
                    "redis_deductions_node": "\(mine.map(String.init) ?? "-")", "redis_deductions_all": "\(all.map(String.init) ?? "-")",
                    "journal_orders": "\(fence.floor(key, node: config.node).orders)", "message_id": "\(MessageID.redisBehind)",
                ])
            } else if was != nil, fences.isEmpty {
                logger.notice("fence lifted: sales resume", metadata: ["item": "\(key.item)", "node": "\(config.node)"])
            }
        } catch {
            // Redis down: the timeout check's probe deals with that; the next check reads again.
        }
    }

    /// What `repair` found and did.
    public struct RepairReport: Sendable, Equatable {
        public var item: String
        public var round: Int
        public var node: String
        public var orders: Int
        public var missing: Int
        public var applied: Bool
        public var stockAfter: Int
        /// Nodes whose fence of the item is still up after this repair (their own repair lifts it).
        public var fencesLeft: [String]
    }

    /// Re-applies this node's orders of the sale's current round whose deductions Redis lost,
    /// then lifts this node's fence. A dry run unless `apply`. Idempotent: run again, it finds
    /// nothing missing. With several nodes, each repairs its own orders (`--socket` per node).
    public func repair(item: String, apply: Bool) async throws -> RepairReport {
        try Names.check(item, field: "item")
        guard let sale = try await stock.sale(item: item) else { throw EngineError.unknownSale(item) }
        let key = SaleRound(item: item, round: sale.round)
        let orders = try await journal.orderRefs(item: item, round: sale.round, gidPrefix: config.node + "-")
        let result = try await stock.repair(item: item, round: sale.round, node: config.node, orders: orders, apply: apply)
        var left: [String] = []
        if apply {
            _ = try await stock.liftFence(item: item, node: config.node)
            // What Redis holds now is the floor from here on: the deductions lost with no
            // order (purchases rolled back since) are not coming back.
            if case .current(_, let all, let fences) = try await stock.checkFence(
                item: item, round: sale.round, floor: FenceFloor(node: config.node, orders: 0, seen: 0)) {
                if let all { fence.rebase(key, all: all) }
                fence.setFences(item, fences)
                left = fences.keys.sorted()
            }
            fence.counted(key, orders: orders.count)
            metrics.fencedItems.record(fence.fencedItems.count)
            logger.notice("sale repaired from the journal", metadata: [
                "item": "\(item)", "round": "\(sale.round)", "node": "\(config.node)", "orders": "\(orders.count)",
                "restored": "\(result.missing)", "stock_after": "\(result.stockAfter)", "fences_left": "\(left)",
            ])
        } else {
            left = fence.fenced[item].map { $0.keys.sorted() } ?? []
        }
        return RepairReport(item: item, round: sale.round, node: config.node, orders: orders.count, missing: result.missing,
                            applied: apply, stockAfter: result.stockAfter, fencesLeft: left)
    }

    /// Items fenced now, with the reason (for status and audit).
    public var fencedItems: [String: String] {
        Dictionary(uniqueKeysWithValues: fence.fencedItems.compactMap { item in fence.refusal(item).map { (item, $0) } })
    }
}
