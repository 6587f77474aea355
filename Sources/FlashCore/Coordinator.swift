import Logging
import Synchronization

/// The transaction manager embedded in flashd: dtm's role in the seed, inside the daemon.
///
/// It drives `PurchaseMachine` against the stock store and the journal, keeps the monotonic
/// schedule of timeout checks, and makes concurrent requests for one gid wait for the first
/// instead of racing it. Being an actor, its bookkeeping is serial; the I/O it awaits runs on the
/// stores' own threads, so purchases overlap.
public actor Coordinator {
    /// The one live copy: a config reload changes `checkDelay` here (`setCheckDelay`).
    public private(set) var config: CoordinatorConfig
    let stock: any StockStore
    let journal: any Journal
    let logger: Logger
    let wallClockMs: @Sendable () -> Int64
    let clock = ContinuousClock()
    /// The monotonic now every deadline of the engine is measured on: `ContinuousClock.now`,
    /// or a test's own, which moves only when the test says so.
    let time: @Sendable () -> ContinuousClock.Instant
    /// Called for a fault in `exit` mode; the daemon kills itself with SIGKILL there.
    let fatalFault: @Sendable (FaultRequest) -> Void

    /// Purchases and resolutions running now, with the requests waiting for their outcome.
    var inflight = InflightTable()
    /// Prepared transactions this node must check, keyed by gid, on the monotonic clock.
    var schedule = PendingSchedule() {
        didSet { metrics.pending.record(schedule.count) }
    }
    /// The sold-out fast path, read from the event loops without a hop to this actor.
    public nonisolated let gate: SoldOutGate
    /// Sold-out answers the gate gave (they never reach the actor, so not in `counters`).
    let fastSoldOut = Atomic<Int>(0)
    /// Answers the gate gave from a sale's clock (not open, closed, paused).
    let fastClockRefusals = Atomic<Int>(0)
    /// Redis' clock less this node's monotonic milliseconds since `startedAt`, measured with
    /// `TIME` and refreshed with the gate: the sale's clock is judged on Redis' time, however
    /// this node's wall clock is set or jumps. Until measured, the wall clock stands in.
    let redisClockOffsetMs = Atomic<Int64>(0)
    /// How far that reckoning may be off: half the measuring round trip, plus drift since.
    /// Until measured, unbounded: no clock refusal on the fast path.
    let redisClockErrorMs = Atomic<Int64>(.max / 4)
    let metrics = EngineMetrics()
    /// Current round and limit of each sale, so a purchase can derive its gid without a round trip.
    var sales: [String: SaleInfo] = [:]
    public internal(set) var counters = Counters()
    public internal(set) var redisHealthy = true
    var lastRedisError: String?
    /// Why the journal's last write failed (a full disk, a read-only file), until one succeeds.
    var journalWriteError: String?
    /// The last write that had to be confirmed by Redis replicas (WAIT) was not. Purchases still
    /// run (each one is a probe), but nothing counts until a replica confirms it.
    public internal(set) var replicasBehind = false
    var lastReplicaProbe: ContinuousClock.Instant?
    /// Notice lines left for settled transactions in this recovery or timeout-check pass.
    var noticeBudget = 0
    var noticesHeldBack = 0
    var draining = false
    /// This node id's lease in Redis belongs to this process. While it doesn't (another process
    /// took the id, or no claim has succeeded yet), purchases are refused: two processes with one
    /// node id would make the same gids and share their barriers.
    var nodeLeaseHeld = true
    var nodeLeaseHolder: String?
    /// When the lease last claimed runs out unless renewed (nil: leases not in use, as in tests
    /// of the engine alone). Past it, another process may hold the id even if no renewal said so.
    var nodeLeaseUntil: ContinuousClock.Instant?
    /// This node's floors for Redis' deduction counts, and the fenced items (G9).
    var fence = FenceBook()
    var lastFenceCheck: ContinuousClock.Instant?
    /// When the timeout check last swept the journal for rows its schedule did not know.
    var lastSweep: ContinuousClock.Instant?
    /// This node's undecided holds by when each is next due: expiry, or a retry of a confirm
    /// or release that failed half-way (an outage, a crash point).
    var holdSchedule = HoldSchedule()
    var lastHoldUpkeep: ContinuousClock.Instant?
    var lastSaleGauges: ContinuousClock.Instant?
    /// Why reading other nodes' requests for the fast path failed last (logged once per cause).
    var othersReadError: String?
    /// Items whose reset is running: purchases of them are turned away meanwhile.
    var resetting: Set<String> = []
    /// Items of the purchases between admission and final answer (a multiset).
    var inflightItems: [String: Int] = [:]
    let startedAt: ContinuousClock.Instant

    public init(config: CoordinatorConfig, stock: any StockStore, journal: any Journal, logger: Logger,
                wallClockMs: @escaping @Sendable () -> Int64,
                time: @escaping @Sendable () -> ContinuousClock.Instant = { .now },
                fatalFault: @escaping @Sendable (FaultRequest) -> Void) {
        self.config = config
        self.stock = stock
        self.journal = journal
        self.logger = logger
        self.wallClockMs = wallClockMs
        self.time = time
        self.fatalFault = fatalFault
        self.startedAt = time()
        self.gate = SoldOutGate(gids: config.gids)
        redisClockOffsetMs.store(wallClockMs(), ordering: .relaxed)
    }

    /// A config reload: transactions journaled from now on are checked after `delay`.
    public func setCheckDelay(_ delay: Duration) { config.checkDelay = delay }

    // MARK: Purchases

    /// Buys one unit of `item` for `user`. A retry with the same request id returns the first
    /// outcome (marked replayed) and never deducts twice.
    public func buy(item: String, user: String, requestID: String, fault: FaultRequest? = nil) async throws -> PurchaseOutcome {
        try Names.check(item, field: "item")
        try Names.check(user, field: "user")
        try Names.check(requestID, field: "request_id")
        if fault != nil && !config.faultInjection {
            throw EngineError(.faultInjectionDisabled, "fault injection is disabled; start flashd with --enable-fault-injection")
        }
        if draining { throw EngineError(.shuttingDown, "flashd is shutting down") }
        // Known-down Redis: answer at once rather than journal a row that can only roll back.
        if !redisHealthy { throw EngineError.redisUnavailable("redis is unreachable: \(lastRedisError ?? "unknown")") }
        guard nodeLeaseValid else { throw leaseLost(nil) }

        if resetting.contains(item) { throw EngineError(.saleBusy, "sale \(item) is being reset; retry") }
        let gid = gate.gids.make(item: item, user: user, requestID: requestID)
        if let reason = fence.refusal(item) {
            // A new purchase waits for the repair, with no journal row and no Redis call; a
            // retry of one this node journaled still gets its outcome (G5).
            guard (try? await journal.transaction(gid: gid)) != nil else { throw redisBehind(item, reason) }
        }
        // Counted from admission, so a reset sees this purchase before it has journaled.
        inflightItems[item, default: 0] += 1
        defer {
            inflightItems[item, default: 1] -= 1
            if inflightItems[item] == 0 { inflightItems[item] = nil }
        }
        let sale = try await currentSale(item)
        switch inflight.admit(gid, owner: PurchaseKey(item: item, user: user, requestID: requestID)) {
        case .lead:
            break
        case .join:
            // Same purchase already running (a client retrying too eagerly): share its outcome.
            let outcome = try await withCheckedThrowingContinuation { inflight.wait(gid, $0) }
            return outcome.asReplay
        case .conflict:
            // Two purchases whose gids collide (64 bits, keyed: by accident only): never share
            // an outcome; the journal's tuple check refuses the same way.
            throw EngineError(.conflict, "gid \(gid) belongs to another purchase running now; retry with another request id", gid: gid)
        }
        // Before the row exists: from here on a retry must find it, not a fast "sold out".
        gate.willJournal(item: item, round: sale.round, gid: gid)
        let started = clock.now
        let now = wallClockMs()
        let record = TxnRecord(gid: gid, item: item, round: sale.round, user: user, requestID: requestID,
                               createdMs: now, updatedMs: now, nextCheckMs: now + config.checkDelay.milliseconds)
        let result: Result<PurchaseOutcome, any Error>
        do {
            result = .success(try await drive(PurchaseMachine(mode: .purchase, fault: fault), record: record))
        } catch {
            result = .failure(error)
        }
        inflight.finish(gid, with: result)
        metrics.purchaseDuration.recordNanoseconds((clock.now - started).nanoseconds)
        let tally = (try? result.get()).map(PurchaseTally.init) ?? .error
        counters.count(tally)
        metrics.count(tally)
        return try result.get()
    }

    /// Runs a machine to its final action, performing each step. `record` is the row the
    /// purchase journals (purchase mode) or the prepared row being resolved (resolve mode).
    func drive(_ initial: PurchaseMachine, record: TxnRecord) async throws -> PurchaseOutcome {
        var machine = initial
        var record = record
        var action = machine.start()
        /// When the order's hold runs out, if its sale holds orders: from the purchase script,
        /// or read back from Redis when the deduction was an earlier step's.
        var holdExpiry: Int64?
        var deductedNow = false
        while true {
            switch action {
            case .writeJournal:
                do {
                    let asked = clock.now
                    let (stored, inserted) = try await journal.prepare(record)
                    metrics.record(.journalPrepare, since: asked, now: clock.now)
                    journalWrote()
                    guard stored.isSamePurchase(as: record) else {
                        throw EngineError(.conflict, "gid \(record.gid) belongs to another purchase", gid: record.gid)
                    }
                    if inserted {
                        schedule.journaled(record.gid, due: time() + config.checkDelay)
                        logger.debug("journaled", metadata: meta(record, "prepared"))
                    }
                    record = stored
                    action = machine.journaled(state: stored.state, reason: stored.reason, existed: !inserted)
                } catch {
                    action = machine.failed(engineError(error, record.gid))
                }
            case .runStockScript:
                // Every step that touches the shared state checks the lease first; the
                // scripts check it again in Redis, which a pause can't fool.
                guard nodeLeaseValid else {
                    action = machine.failed(leaseLost(record.gid))
                    continue
                }
                do {
                    // Taken before the script goes out: a restock here while it runs must win.
                    let generation = gate.generation(item: record.item)
                    let key = SaleRound(item: record.item, round: record.round)
                    // The round's first purchase on this node counts its orders first: a floor
                    // of 0 would let a Redis that lost them sell their units again.
                    if fence.needsCount(key) { await countOrders(key) }
                    let asked = clock.now
                    let reply = try await stock.deduct(gid: record.gid, item: record.item, round: record.round, user: record.user,
                                                       requestID: record.requestID, floor: fence.floor(key, node: config.node))
                    metrics.record(.stockScript, since: asked, now: clock.now)
                    markRedis(ok: true)
                    markReplicas(ok: true)
                    if case .deducted(_, let expires) = reply {
                        holdExpiry = expires
                        deductedNow = true
                    }
                    switch reply {
                    case .staleRound: sales[record.item] = nil
                    case .fenced: noteFencedByScript(record.item)
                    case .soldOut, .deducted(remaining: 0, _):
                        if gate.markSoldOut(item: record.item, round: record.round, generation: generation) {
                            // Read now rather than at the next refresh: until then its refusals take the normal path.
                            Task { await self.readOtherRequests() }
                        }
                        metrics.soldOutItems.record(gate.soldOutCount)
                    default: break
                    }
                    action = machine.stockReplied(reply)
                } catch {
                    action = machine.failed(engineError(error, record.gid))
                }
            case .backCheck:
                guard nodeLeaseValid else {
                    action = machine.failed(leaseLost(record.gid))
                    continue
                }
                do {
                    let reply = try await stock.backCheck(gid: record.gid, item: record.item, round: record.round,
                                                          user: record.user, requestID: record.requestID)
                    markRedis(ok: true)
                    markReplicas(ok: true)
                    metrics.backChecks[reply == .deducted ? "deducted" : "rolled_back"]?.increment()
                    action = machine.backChecked(reply)
                } catch {
                    metrics.backChecks["error"]?.increment()
                    action = machine.failed(engineError(error, record.gid))
                }
            case .commitOrder:
                var order = Order(orderID: GlobalTransactionID.orderID(forGID: record.gid), gid: record.gid, item: record.item,
                                  round: record.round, user: record.user, requestID: record.requestID, createdMs: wallClockMs())
                let key = SaleRound(item: record.item, round: record.round)
                let countable = fence.isCounted(key)
                do {
                    if let holdExpiry {
                        order.hold = .held
                        order.expiresMs = holdExpiry
                    } else if !deductedNow, let entry = try await stock.renewHold(gid: record.gid, item: record.item, round: record.round) {
                        // A retried step or a back-check: the hold, as Redis has it by now,
                        // running from now (`LuaScripts.renewHold`).
                        order.hold = entry.state ?? .held
                        order.expiresMs = entry.expiresMs
                    }
                    let asked = clock.now
                    let (stored, inserted) = try await journal.commitOrder(order, nowMs: wallClockMs())
                    if machine.mode == .purchase { metrics.record(.journalOrder, since: asked, now: clock.now) }
                    journalWrote()
                    if inserted && countable { fence.ordered(key) }
                    if let hold = stored.hold, !hold.isFinal { holdSchedule.schedule(stored.gid, at: stored.expiresMs ?? 0) }
                    schedule.settled(record.gid)
                    logger.debug("order committed", metadata: meta(record, "succeeded"))
                    return try await finish(machine.committed(), record: record, order: stored)
                } catch {
                    action = machine.failed(engineError(error, record.gid))
                }
            case .commitFailure(let reason), .discardJournal(let reason):
                do {
                    // A refusal is final (the row says why) unless the sale's clock gave it
                    // before any stock step: then the row goes, and nothing binds the request id.
                    if case .discardJournal = action {
                        try await journal.discard(gid: record.gid)
                    } else {
                        try await journal.commitFailure(gid: record.gid, reason: reason, nowMs: wallClockMs())
                    }
                    journalWrote()
                    schedule.settled(record.gid)
                    record.reason = reason
                    return try await finish(machine.committed(), record: record, order: nil)
                } catch {
                    action = machine.failed(engineError(error, record.gid))
                }
            case .adoptOrder(let first):
                do {
                    let order = try await adopt(first, record: record)
                    return try await finish(machine.committed(), record: record, order: order)
                } catch {
                    action = machine.failed(engineError(error, record.gid))
                }
            case .injectFault(let f):
                logger.warning("injected fault", metadata: meta(record, "prepared").merging(
                    ["point": "\(f.point.rawValue)", "mode": "\(f.mode.rawValue)"]) { $1 })
                if f.mode == .exit { fatalFault(f) }
                throw EngineError(.faultInjected, "purchase abandoned at \(f.point.rawValue); the timeout check will settle it", gid: record.gid)
            case .replyOrdered, .replyRefused:
                return try await finish(action, record: record, order: nil)
            case .leavePending(let error):
                await deferResolution(gid: record.gid, error: error)
                throw error
            case .fail(let error):
                throw error
            }
        }
    }

    func meta(_ r: TxnRecord, _ state: String) -> Logger.Metadata {
        ["gid": "\(r.gid)", "item": "\(r.item)", "user": "\(r.user)", "state": "\(state)", "node": "\(config.node)"]
    }

    /// The cached sale, fetched from Redis on first use.
    func currentSale(_ item: String) async throws -> SaleInfo {
        if let s = sales[item] { return s }
        do {
            guard let s = try await stock.sale(item: item) else { throw EngineError.unknownSale(item) }
            markRedis(ok: true)
            sales[item] = s
            await countOrders(SaleRound(item: item, round: s.round))
            return s
        } catch let e as EngineError {
            if e.code == .redisUnavailable { markRedis(ok: false, e.message) }
            throw e
        }
    }
}

extension PurchaseOutcome {
    var asReplay: PurchaseOutcome {
        switch self {
        case .ordered(let o, _): return .ordered(o, replayed: true)
        case .refused(let r, let gid, _): return .refused(r, gid: gid, replayed: true)
        }
    }
}
