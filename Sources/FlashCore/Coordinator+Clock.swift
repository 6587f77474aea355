/// The sale's clock: opening and closing times on Redis' clock, and pausing; and the fast
/// path's refusals, which the clock shares with sold out.
extension Coordinator {
    /// The fast path: a refusal (sold out, or the sale's clock) and its gid that the gate can
    /// give now, without the actor, Redis or the journal; nil when the purchase must take the
    /// normal path (`buy`).
    public nonisolated func refusedAtOnce(item: String, user: String, requestID: String?) -> (reason: FailureReason, gid: String)? {
        guard Names.isValid(item), Names.isValid(user), requestID.map(Names.isValid) ?? true else { return nil }
        guard let refusal = gate.refusal(item: item, user: user, requestID: requestID, nowMs: redisNowMs(),
                                         uncertaintyMs: redisClockErrorMs.load(ordering: .relaxed)) else { return nil }
        if refusal.reason == .soldOut {
            fastSoldOut.add(1, ordering: .relaxed)
        } else {
            fastClockRefusals.add(1, ordering: .relaxed)
        }
        metrics.count(PurchaseTally(refusal.reason))
        return refusal
    }

    /// Redis' clock now, as this node reckons it: its monotonic clock plus the last offset measured.
    public nonisolated func redisNowMs() -> Int64 {
        (time() - startedAt).milliseconds + redisClockOffsetMs.load(ordering: .relaxed)
    }

    /// Pauses (`paused`) or resumes the sale; every node's fast path follows within the
    /// refresh interval, and the purchase script at once.
    public func setPaused(item: String, _ paused: Bool) async throws -> SaleInfo {
        try Names.check(item, field: "item")
        let sale = try await redis { try await self.stock.setPaused(item: item, paused: paused) }
        cache(sale)
        gate.setClock(item: item, sale.clock)
        logger.notice(paused ? "sale paused" : "sale resumed", metadata: ["item": "\(item)", "round": "\(sale.round)"])
        return sale
    }

    /// A clock that could never sell is a mistake: closing before opening, or already closed.
    func checkClock(_ clock: SaleClock) throws {
        if let opens = clock.opensMs, let closes = clock.closesMs, closes <= opens {
            throw EngineError.invalidInput(field: "closes_at", "closes_at must be after opens_at")
        }
        if let closes = clock.closesMs, closes <= redisNowMs() {
            throw EngineError.invalidInput(field: "closes_at", "closes_at is in the past")
        }
        if let hold = clock.holdMs, hold < 1000 || hold > Self.maxHoldMs {
            throw EngineError.invalidInput(field: "hold_seconds", "hold_seconds must be from 1 to \(Self.maxHoldMs / 1000) (a week)")
        }
    }

    /// Redis' clock and every sale's clock, read now: at start-up before READY, then by the
    /// refresh loop.
    public func readClocks() async {
        await measureRedisClock()
        await refreshClocks()
    }

    /// Measures the offset of Redis' clock to this node's monotonic clock (a wall-clock jump
    /// moves neither). Its error is at most half the round trip (a reply delayed by a busy
    /// machine widens it); a measurement is kept unless it is less certain than the one
    /// before, which then ages a millisecond per refresh for drift.
    func measureRedisClock() async {
        let sent = time()
        guard let redisMs = try? await stock.timeMs() else { return }
        let received = time()
        let roundTrip = (received - sent).milliseconds
        let error = (roundTrip + 1) / 2 + 2
        let aged = redisClockErrorMs.load(ordering: .relaxed)
        if error <= aged + 1 || aged >= Int64.max / 8 {
            let midpoint = (sent - startedAt).milliseconds + roundTrip / 2
            redisClockOffsetMs.store(redisMs - midpoint, ordering: .relaxed)
            redisClockErrorMs.store(error, ordering: .relaxed)
        } else {
            // Ages 1 ms per refresh (5 per second): more than any clock's drift.
            redisClockErrorMs.store(aged + 1, ordering: .relaxed)
        }
    }

    /// Reads every sale's clock into the gate: how a pause, resume or reset on another node
    /// reaches this node's fast path.
    func refreshClocks() async {
        guard let all = try? await stock.sales() else { return }
        for sale in all {
            gate.setClock(item: sale.item, sale.clock)
            metrics.sales.stock(sale)
        }
        // The journal's side of the per-sale gauges, every 2 s (it reads the journal per sale),
        // and not in the pass before READY: counting a big sale's orders would delay it.
        let now = time()
        guard let last = lastSaleGauges else {
            lastSaleGauges = now
            return
        }
        guard now - last >= .seconds(2) else { return }
        lastSaleGauges = now
        for sale in all {
            guard let (orders, pending) = try? await journal.counts(item: sale.item, round: sale.round),
                  let holds = try? await journal.holdCounts(item: sale.item, round: sale.round) else { continue }
            metrics.sales.journal(item: sale.item, orders: orders, pending: pending, holds: holds)
        }
    }
}
