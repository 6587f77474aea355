/// Upkeep of the sold-out fast path (`SoldOutGate`).
extension Coordinator {
    /// Reads every journal row into the gate's filters, a page at a time, then opens the fast
    /// path; undecided holds go into the hold schedule on the way. Runs in the background after
    /// start-up: until it is done, sold-out answers take the normal path, which is slower but
    /// never wrong.
    public func loadSoldOutHistory(pageSize: Int = 5000) async {
        let started = clock.now
        var after: Int64 = 0
        var rows = 0
        while !Task.isCancelled {
            do {
                let page = try await journal.history(after: after, limit: pageSize)
                gate.remember(page.rows.compactMap { r in GlobalTransactionID.digest(ofGID: r.gid).map { (r.item, r.round, $0) } })
                // The holds this node must still decide: held ones at their expiry, intents now.
                for r in page.rows {
                    guard let hold = r.hold, !hold.isFinal, holdSchedule.due[r.gid] == nil else { continue }
                    holdSchedule.schedule(r.gid, at: hold == .held ? r.expiresMs ?? 0 : 0)
                }
                rows += page.rows.count
                guard let next = page.next else {
                    gate.markHistoryLoaded()
                    logger.info("sold-out fast path open", metadata: [
                        "journal_rows": "\(rows)", "ms": "\((clock.now - started).milliseconds)",
                    ])
                    return
                }
                after = next
            } catch {
                // The journal is failing; the health monitor says so. Try again shortly.
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    /// Every `interval`, re-reads each flagged sale from Redis and drops the flag when a
    /// restock or reset (on any node) gave it stock again. This bounds how long a node keeps
    /// answering "sold out" after another node restocked: `interval` plus one Redis round trip.
    /// The same pass reads Redis' clock and every sale's clock (opening, closing, pause).
    public func runSoldOutRefresh(interval: Duration) async {
        while !Task.isCancelled {
            await readClocks()
            do {
                try await Task.sleep(for: interval)
            } catch {
                return
            }
            await readOtherRequests()
            for flag in gate.flagged() {
                guard let sale = try? await stock.sale(item: flag.item) else { continue }
                if gate.refreshed(sale) {
                    cache(sale)
                    logger.info("sold-out flag dropped: the sale has stock again", metadata: [
                        "item": "\(sale.item)", "round": "\(sale.round)", "remaining": "\(sale.remaining)",
                    ])
                }
            }
            metrics.soldOutItems.record(gate.soldOutCount)
        }
    }

    /// Reads other nodes' requests into the gate's filters for the items it was asked to
    /// refuse (see `SoldOutGate`): the whole set the first time, again when it grew. Until
    /// read, those purchases take the normal path, where the purchase script answers a retry
    /// of another node's order with that order.
    func readOtherRequests() async {
        for want in gate.othersToRead() {
            do {
                // Counted before the read: one that lands during it is read again next time.
                let count = try await stock.requestCount(item: want.item)
                if count == want.count {
                    gate.othersRead(want, count: count)
                    continue
                }
                let started = clock.now
                // A page at a time into the filter: a long sale may have a million of them.
                var cursor: String? = "0"
                var read = 0
                while let at = cursor {
                    let page = try await stock.requests(item: want.item, cursor: at)
                    gate.rememberOthers(item: want.item, page.page)
                    read += page.page.count
                    cursor = page.next
                }
                gate.othersRead(want, count: count)
                othersReadError = nil
                logger.debug("requests of other nodes read for the fast path", metadata: [
                    "item": "\(want.item)", "requests": "\(read)", "ms": "\((clock.now - started).milliseconds)",
                ])
            } catch {
                // The fast path waits for the next pass; the normal path answers meanwhile, right
                // but slower. Said once per cause: a Redis ACL without HSCAN would fail every pass.
                let cause = "\(error)"
                if cause != othersReadError {
                    othersReadError = cause
                    logger.warning("sold-out fast path waits: other nodes' requests could not be read", metadata: [
                        "item": "\(want.item)", "error": "\(cause)",
                    ])
                }
            }
        }
    }
}
