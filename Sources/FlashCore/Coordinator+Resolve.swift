import Logging

/// Recovery at start-up and the timeout check while serving (G4).
extension Coordinator {
    /// Back-checks and settles every prepared transaction in the journal. Runs before the socket
    /// accepts purchases. Transactions that can't be settled now (Redis down) stay scheduled.
    /// `progress` is called after each one with (done, total), for EXTEND_TIMEOUT_USEC and logs.
    public func recover(progress: (@Sendable (Int, Int) -> Void)? = nil) async -> RecoveryReport {
        let started = clock.now
        var report = RecoveryReport()
        let prepared: [TxnRecord]
        do {
            prepared = try await journal.preparedTransactions()
        } catch {
            logger.error("recovery could not read the journal", metadata: ["error": "\(error)"])
            return report
        }
        report.found = prepared.count
        openNoticeBudget()
        defer { closeNoticeBudget("recovery") }
        var done = 0
        for batch in prepared.chunked(config.resolveConcurrency) {
            let results = await withTaskGroup(of: ResolveResult.self) { group in
                for record in batch { group.addTask { await self.resolve(record) } }
                var results: [ResolveResult] = []
                for await r in group { results.append(r) }
                return results
            }
            for r in results {
                switch r {
                case .ordered: report.ordered += 1
                case .rolledBack: report.rolledBack += 1
                case .deferred: report.deferred += 1
                case .skipped: break
                }
            }
            done += batch.count
            progress?(done, prepared.count)
        }
        // Then the holds: a confirm or release a crash interrupted is decided again, on the
        // orders the purchases above may just have made.
        report.holdIntents = await recoverHolds()
        report.milliseconds = (clock.now - started).milliseconds
        return report
    }

    /// Turns a final reply action into the outcome, reading the order back for a replay.
    func finish(_ action: PurchaseMachine.Action, record: TxnRecord, order: Order?) async throws -> PurchaseOutcome {
        switch action {
        case .replyOrdered(let replayed):
            if let order { return .ordered(order, replayed: replayed) }
            // A replay of a succeeded purchase: the order is in the journal.
            do {
                guard let stored = try await journal.order(gid: record.gid) else {
                    throw EngineError(.internalError, "transaction \(record.gid) succeeded but has no order", gid: record.gid)
                }
                return .ordered(stored, replayed: replayed)
            } catch {
                throw engineError(error, record.gid)
            }
        case .replyRefused(let reason, let replayed):
            return .refused(reason, gid: record.gid, replayed: replayed)
        default:
            throw EngineError(.internalError, "unexpected final action \(action)", gid: record.gid)
        }
    }

    enum ResolveResult: Sendable { case ordered, rolledBack, deferred, skipped }

    /// Settles one prepared transaction through the back-check, unless a request is already
    /// working on it.
    func resolve(_ record: TxnRecord) async -> ResolveResult {
        // A request or another pass is working on it already: that run settles it.
        guard inflight.admit(record.gid, owner: PurchaseKey(item: record.item, user: record.user, requestID: record.requestID))
                == .lead else { return .skipped }
        let result: Result<PurchaseOutcome, any Error>
        do {
            result = .success(try await drive(PurchaseMachine(mode: .resolve), record: record))
        } catch {
            result = .failure(error)
        }
        inflight.finish(record.gid, with: result)
        switch result {
        case .success(.ordered(let order, _)) where order.gid != record.gid:
            // This gid deducted nothing (its rollback marker is in place): the request's order
            // is another node's, and this row is gone.
            counters.resolvedRolledBack += 1
            metrics.recoveredRolledBack.increment()
            logger.log(level: takeNotice(), "back-check rolled back; the request's order is another node's",
                       metadata: meta(record, "discarded").merging(["order_gid": "\(order.gid)"]) { $1 }
                           .merging(MessageID.metadata(MessageID.backCheckRolledBack)) { $1 })
            return .rolledBack
        case .success(.ordered):
            counters.resolvedOrdered += 1
            metrics.recoveredOrdered.increment()
            logger.log(level: takeNotice(), "transaction recovered", metadata: meta(record, "succeeded").merging(
                MessageID.metadata(MessageID.transactionRecovered)) { $1 })
            return .ordered
        case .success(.refused):
            counters.resolvedRolledBack += 1
            metrics.recoveredRolledBack.increment()
            logger.log(level: takeNotice(), "back-check rolled back", metadata: meta(record, "failed").merging(
                MessageID.metadata(MessageID.backCheckRolledBack)) { $1 })
            return .rolledBack
        case .failure:
            return .deferred
        }
    }

    /// Keeps a transaction prepared and schedules its next check with capped exponential backoff.
    func deferResolution(gid: String, error: EngineError) async {
        let (attempts, delay) = schedule.failed(gid, now: time()) { config.backoff(afterAttempts: $0) }
        counters.resolveRetries += 1
        metrics.retries.increment()
        let now = wallClockMs()
        logger.warning("transaction left pending", metadata: [
            "gid": "\(gid)", "attempt": "\(attempts)", "retry_in_ms": "\(delay.milliseconds)", "error": "\(error)",
        ])
        // Best effort: when the journal itself is what failed, this write fails too; the
        // in-memory schedule still retries, and the row stays prepared on disk.
        try? await journal.recordRetry(gid: gid, attempts: attempts, nextCheckMs: now + delay.milliseconds,
                                       error: error.description, nowMs: now)
    }

    /// Each settled transaction gets a notice line, up to `settledNoticeBudget` per recovery
    /// or timeout-check pass; beyond that its line is at debug level and the pass ends with one
    /// notice counting them. 10,000 transactions recovered after a crash must not be 10,000
    /// notices in the journal.
    static let settledNoticeBudget = 100

    func openNoticeBudget() {
        noticeBudget = Self.settledNoticeBudget
        noticesHeldBack = 0
    }

    func takeNotice() -> Logger.Level {
        if noticeBudget > 0 {
            noticeBudget -= 1
            return .notice
        }
        noticesHeldBack += 1
        return .debug
    }

    func closeNoticeBudget(_ pass: String) {
        if noticesHeldBack > 0 {
            logger.notice("\(noticesHeldBack) more transactions settled by the \(pass); their lines are at debug level",
                          metadata: ["held_back": "\(noticesHeldBack)"])
        }
        noticesHeldBack = 0
    }

    /// The timeout check: runs until the task is cancelled (graceful shutdown). It sleeps until
    /// the earliest scheduled check (at most one second, to probe a lost Redis and sweep the
    /// journal), then settles every due transaction.
    public func runTimeoutChecks() async {
        lastSweep = time()
        while !Task.isCancelled {
            await timeoutCheckPass()
            let wake = schedule.nextWake(after: time(), cap: .seconds(1))
            do {
                try await Task.sleep(for: max(wake - time(), .milliseconds(10)))
            } catch {
                return
            }
        }
    }

    /// One pass of the timeout check, at `time()`: probe a lost Redis or lagging replicas,
    /// check the fence once a second, sweep the journal now and then, and settle every
    /// transaction due. Tests call it directly after moving their clock.
    public func timeoutCheckPass() async {
        if !redisHealthy { await probeRedis() }
        if replicasBehind { probeReplicas() }
        if redisHealthy, lastFenceCheck.map({ time() - $0 >= .seconds(1) }) ?? true { await checkFences() }
        let now = time()
        if let last = lastSweep {
            if now - last >= config.sweepInterval {
                await sweepJournal()
                lastSweep = now
            }
        } else {
            lastSweep = now
        }
        let due = schedule.due(at: now) { inflight.isRunning($0) }
        openNoticeBudget()
        for batch in due.chunked(config.resolveConcurrency) {
            await withTaskGroup(of: Void.self) { group in
                for gid in batch { group.addTask { await self.resolveScheduled(gid) } }
            }
        }
        closeNoticeBudget("timeout check")
        await holdUpkeep()
    }

    private func resolveScheduled(_ gid: String) async {
        do {
            guard let record = try await journal.transaction(gid: gid), record.state == .prepared else {
                schedule.settled(gid)
                return
            }
            _ = await resolve(record)
        } catch {
            await deferResolution(gid: gid, error: engineError(error, gid))
        }
    }

    /// Adopts prepared rows that are in the journal but not in the schedule: a row whose
    /// journal write reported an error yet landed, for example.
    private func sweepJournal() async {
        guard let prepared = try? await journal.preparedTransactions() else { return }
        for record in prepared where !schedule.contains(record.gid) && !inflight.isRunning(record.gid) {
            let age = Duration.milliseconds(max(0, wallClockMs() - record.createdMs))
            let wait = age >= config.checkDelay ? Duration.zero : config.checkDelay - age
            schedule.adopt(record.gid, due: time() + wait, attempts: record.attempts)
        }
    }

    /// While replicas lag, the pending transaction due first is checked now: its back-check is
    /// a confirmed write, so it is both the probe and useful work. At most once a second.
    private func probeReplicas() {
        let now = time()
        if let last = lastReplicaProbe, now - last < .seconds(1) { return }
        lastReplicaProbe = now
        schedule.bringEarliestForward(now) { inflight.isRunning($0) }
    }

    private func probeRedis() async {
        do {
            try await stock.ping()
            markRedis(ok: true)
        } catch {
            markRedis(ok: false, "\(error)")
        }
    }

    /// Stops taking purchases; the ones in flight finish. Returns once none is in flight or
    /// `timeout` passed.
    public func drain(timeout: Duration) async {
        draining = true
        // Real time: the drain waits for purchases, whatever a test's clock says.
        let deadline = clock.now + timeout
        // inflightItems counts purchases from admission on, before their gid is known.
        while (!inflight.isEmpty || !inflightItems.isEmpty) && clock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
    }
}

extension Array {
    func chunked(_ size: Int) -> [ArraySlice<Element>] {
        let n = Swift.max(size, 1)
        return stride(from: 0, to: count, by: n).map { self[$0..<Swift.min($0 + n, count)] }
    }
}
