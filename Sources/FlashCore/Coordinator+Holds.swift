import Logging

/// Checkout holds (G7): confirm, cancel and expiry of held orders, by this node for its own
/// orders (journal first, then Redis) or for another node's (Redis only; that node's journal
/// catches up from its news list).
extension Coordinator {
    /// The longest hold a sale may have: a week.
    public static let maxHoldMs: Int64 = 7 * 86_400_000

    /// Confirms (`.confirm`) or cancels (`.cancel`) the order `orderID`, on whichever node sold
    /// it. Returns the order as it now stands: a confirm may find it released, a cancel
    /// confirmed; the caller says which answers are refusals.
    public func decide(orderID: String, _ action: HoldAction, fault: FaultRequest? = nil) async throws -> (order: Order, replayed: Bool) {
        let gid = String(orderID.dropFirst(4))
        guard orderID.hasPrefix("ord-"), GlobalTransactionID.digest(ofGID: gid) != nil, let dash = gid.lastIndex(of: "-"),
              Names.isValid(String(gid[..<dash])) else {
            throw EngineError.invalidInput(field: "order_id", "not an order id: \(orderID)")
        }
        let node = String(gid[..<dash])
        if let fault {
            guard config.faultInjection else {
                throw EngineError(.faultInjectionDisabled, "fault injection is disabled; start flashd with --enable-fault-injection")
            }
            guard fault.point.isHoldPoint else {
                throw EngineError.invalidInput(field: "crash_after", "a confirm or cancel crashes after-intent or after-decision")
            }
        }
        if draining { throw EngineError(.shuttingDown, "flashd is shutting down") }
        if !redisHealthy { throw EngineError.redisUnavailable("redis is unreachable: \(lastRedisError ?? "unknown")") }
        guard node == config.node else { return try await decideElsewhere(gid: gid, orderID: orderID, action) }
        let order: Order?
        do {
            order = try await journal.order(gid: gid)
        } catch {
            throw engineError(error, gid)
        }
        guard let order else { throw EngineError(.unknownOrder, "no order \(orderID) on node \(config.node)", gid: gid) }
        return try await runHold(HoldMachine(action: action, fault: fault), order: order)
    }

    /// Another node's order: Redis decides it under its barrier and tells that node.
    private func decideElsewhere(gid: String, orderID: String, _ action: HoldAction) async throws -> (order: Order, replayed: Bool) {
        guard let entry = try await redis({ try await self.stock.hold(gid: gid) }) else {
            throw EngineError(.unknownOrder, "no held order \(orderID) in Redis (an order of a sale without a hold is final)", gid: gid)
        }
        var order = Order(orderID: orderID, gid: gid, item: entry.item, round: entry.round, user: entry.user, requestID: "",
                          createdMs: 0, hold: entry.state, expiresMs: entry.expiresMs)
        if let state = entry.state, state.isFinal { return (order, true) }
        let reply = try await redis { try await self.stock.decideHold(entry, action: action, notifyOwner: true) }
        switch reply {
        case .confirmed: order.hold = .confirmed
        case .released:
            order.hold = .released
            order.releaseCause = action == .cancel ? .cancelled : .expired
            unitReturned(entry.item, round: entry.round)
        case .stillHeld: order.hold = .held
        case .missing: throw EngineError(.redisBehind, "Redis holds no deduction for order \(orderID)", gid: gid)
        }
        countHold(order, action: action)
        return (order, false)
    }

    /// Runs a hold machine to its reply for one of this node's orders, and schedules what is
    /// left to do for it: nothing once decided, its expiry while held, a retry in a second for
    /// an intent (or a held order past its expiry) whose step failed.
    func runHold(_ initial: HoldMachine, order initialOrder: Order) async throws -> (order: Order, replayed: Bool) {
        var machine = initial
        var order = initialOrder
        var failed = true
        defer { rescheduleHold(order, failed: failed) }
        var action = machine.start(order.hold)
        while true {
            switch action {
            case .writeIntent(let state, let cause), .recordVerdict(let state, let cause):
                do {
                    if let stored = try await journal.setHold(gid: order.gid, to: state, cause: cause, nowMs: wallClockMs()) {
                        journalWrote()
                        order = stored
                    }
                    action = state.isIntent ? machine.intentWritten() : machine.recorded()
                } catch {
                    action = machine.failed(engineError(error, order.gid))
                }
            case .decide(let hold):
                do {
                    let entry = HoldEntry(gid: order.gid, item: order.item, round: order.round, user: order.user,
                                          expiresMs: order.expiresMs ?? 0, state: .held)
                    let reply = try await stock.decideHold(entry, action: hold, notifyOwner: false)
                    markRedis(ok: true)
                    if reply == .released { unitReturned(order.item, round: order.round) }
                    action = machine.decided(reply)
                } catch {
                    action = machine.failed(engineError(error, order.gid))
                }
            case .injectFault(let f):
                logger.warning("injected fault", metadata: ["gid": "\(order.gid)", "point": "\(f.point.rawValue)", "mode": "\(f.mode.rawValue)"])
                if f.mode == .exit { fatalFault(f) }
                throw EngineError(.faultInjected, "\(machine.action.rawValue) abandoned at \(f.point.rawValue); the timeout check finishes it",
                                  gid: order.gid)
            case .reply(let replayed):
                if !replayed { countHold(order, action: machine.action) }
                failed = false
                return (order, replayed)
            case .fail(let error):
                throw error
            }
        }
    }

    /// What is left to do for an order after a hold step (see `runHold`).
    func rescheduleHold(_ order: Order, failed: Bool) {
        guard let hold = order.hold, !hold.isFinal else {
            holdSchedule.decided(order.gid)
            return
        }
        let retry = redisNowMs() + 1000
        let expires = order.expiresMs ?? 0
        holdSchedule.schedule(order.gid, at: hold.isIntent ? retry : (failed && expires < retry ? retry : expires))
    }

    /// The timeout check's part for holds: expire this node's holds that ran out on Redis'
    /// clock, finish intents left by a failure, and catch up with other nodes' verdicts.
    func holdUpkeep() async {
        // At most every 200 ms: the timeout check may pass far more often under load, and an
        // expiry a fifth of a second late costs nothing a shop would notice.
        let now = time()
        guard redisHealthy, lastHoldUpkeep.map({ now - $0 >= .milliseconds(200) }) ?? true else { return }
        lastHoldUpkeep = now
        var work: [Order] = []
        for gid in holdSchedule.take(atMs: redisNowMs(), limit: 500) {
            // The journal has the truth of this node's orders; a read that fails leaves the gid
            // scheduled for the next pass, an order decided (or gone) meanwhile leaves it.
            let found: Order?
            do {
                found = try await journal.order(gid: gid)
            } catch {
                continue
            }
            guard let found, let hold = found.hold, !hold.isFinal else {
                holdSchedule.decided(gid)
                continue
            }
            work.append(found)
        }
        for batch in work.chunked(config.resolveConcurrency) {
            await withTaskGroup(of: Void.self) { group in
                for order in batch {
                    group.addTask { _ = try? await self.runHold(HoldMachine(action: Self.retryAction(order)), order: order) }
                }
            }
        }
        await catchUpHoldNews()
    }

    /// What finishes an order's hold: its journaled intent, or an expiry for one still held.
    static func retryAction(_ order: Order) -> HoldAction {
        switch order.hold {
        case .confirming?: return .confirm
        case .releasing? where order.releaseCause == .cancelled: return .cancel
        default: return .expire
        }
    }

    /// Start-up, before READY: every confirm and release a crash interrupted is decided again.
    /// (Held orders wait for their expiry in the schedule, rebuilt from the journal's history.)
    func recoverHolds() async -> Int {
        guard let intents = try? await journal.holdIntents(limit: 100_000) else { return 0 }
        for batch in intents.chunked(config.resolveConcurrency) {
            await withTaskGroup(of: Void.self) { group in
                for order in batch {
                    group.addTask { _ = try? await self.runHold(HoldMachine(action: Self.retryAction(order)), order: order) }
                }
            }
        }
        return intents.count
    }

    /// Other nodes confirmed or released some of this node's orders: record their verdicts.
    private func catchUpHoldNews() async {
        guard let gids = try? await stock.takeHoldNews(node: config.node, max: 200), !gids.isEmpty else { return }
        for gid in gids {
            guard let entry = try? await stock.hold(gid: gid), let state = entry.state, state.isFinal else { continue }
            let cause: ReleaseCause? = state == .released ? .cancelled : nil
            if let order = try? await journal.setHold(gid: gid, to: state, cause: cause, nowMs: wallClockMs()) {
                rescheduleHold(order, failed: false)
                logger.info("hold decided on another node", metadata: ["gid": "\(gid)", "hold": "\(order.hold?.rawValue ?? "")"])
            }
        }
    }

    /// A unit went back to the stock: this node's gate stops answering sold out at once; the
    /// other nodes' within the refresh interval, as for a restock.
    func unitReturned(_ item: String, round: Int) {
        gate.clear(item: item, round: round)
        metrics.soldOutItems.record(gate.soldOutCount)
    }

    func countHold(_ order: Order, action: HoldAction) {
        switch order.hold {
        case .confirmed?:
            counters.holdsConfirmed += 1
            metrics.holds["confirmed"]?.increment()
        case .released? where order.releaseCause == .expired:
            counters.holdsExpired += 1
            metrics.holds["expired"]?.increment()
        case .released?:
            counters.holdsCancelled += 1
            metrics.holds["cancelled"]?.increment()
        default: return
        }
        logger.info("hold decided", metadata: ["gid": "\(order.gid)", "item": "\(order.item)", "hold": "\(order.hold?.rawValue ?? "")",
                                               "cause": "\(order.releaseCause?.rawValue ?? "")", "asked": "\(action.rawValue)"])
    }
}
