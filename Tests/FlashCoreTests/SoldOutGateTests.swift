import Testing
@testable import FlashCore

/// The sold-out gate and its filter, without I/O.
@Suite struct SoldOutGateTests {
    let gids = GlobalTransactionID(node: "n1", key: (7, 9))

    @Test func filterHasNoFalseNegativesAndFewFalsePositives() {
        var f = DigestFilter(initialCapacity: 64)
        var rng = SystemRandomNumberGenerator()
        let inserted = (0..<100_000).map { _ in rng.next() as UInt64 }
        for d in inserted { f.insert(d) }
        #expect(inserted.allSatisfy(f.contains), "a remembered digest must always be found")
        let probes = 100_000
        let falsePositives = (0..<probes).filter { _ in f.contains(rng.next()) }.count
        // ~1% per layer, over a dozen layers; a broken filter says yes to nearly everything.
        #expect(Double(falsePositives) / Double(probes) < 0.05, "false positives: \(falsePositives)")
        #expect(f.bytes < 100_000 * 4, "memory grows with the digests, a few bytes each: \(f.bytes)")
    }

    /// A retry sent here by a load balancer may be another node's order: until the item's
    /// requests from every node are in the filter for this spell of refusals, its refusals
    /// take the normal path, and those requests never get a fast answer after.
    @Test func otherNodesRequestsAreReadBeforeEachSpellsFirstFastAnswer() {
        let gate = SoldOutGate(gids: gids)
        gate.markHistoryLoaded()
        #expect(gate.markSoldOut(item: "sku", round: 1, generation: gate.generation(item: "sku")), "to be read now")
        #expect(gate.refusal(item: "sku", user: "bob", requestID: "r2", nowMs: 0) == nil)
        let first = gate.othersToRead()
        #expect(first.map(\.item) == ["sku"] && first[0].count == nil)
        gate.rememberOthers(item: "sku", [("alice", "r1")])
        gate.othersRead(first[0], count: 1)
        #expect(gate.refusal(item: "sku", user: "alice", requestID: "r1", nowMs: 0) == nil, "another node's order: normal path")
        #expect(gate.refusal(item: "sku", user: "bob", requestID: "r2", nowMs: 0)?.reason == .soldOut)
        // Fast answers were given: the next look compares the count read (1) with Redis'.
        let again = gate.othersToRead()
        #expect(again.count == 1 && again[0].count == 1)
        #expect(gate.othersToRead().isEmpty, "nothing asked since")
        gate.rememberOthers(item: "sku", [("carol", "r3")])
        gate.othersRead(again[0], count: 2)
        #expect(gate.refusal(item: "sku", user: "carol", requestID: "r3", nowMs: 0) == nil)
        // Restocked here and sold out again: a new spell, read afresh before its first fast answer.
        gate.clear(item: "sku", round: 1)
        #expect(gate.markSoldOut(item: "sku", round: 1, generation: gate.generation(item: "sku")))
        #expect(gate.refusal(item: "sku", user: "bob", requestID: "r2", nowMs: 0) == nil)
        let fresh = gate.othersToRead()
        #expect(fresh.count == 1 && fresh[0].count == nil)
        gate.othersRead(fresh[0], count: 3)
        #expect(gate.refusal(item: "sku", user: "bob", requestID: "r2", nowMs: 0)?.reason == .soldOut)
    }

    @Test func onlyAFlaggedItemWithAKnownHistoryIsAnsweredAndNeverAJournaledGID() {
        let gate = SoldOutGate(gids: gids)
        let gid = gids.make(item: "sku", user: "alice", requestID: "r1")
        gate.willJournal(item: "sku", round: 1, gid: gid)
        gate.markSoldOut(item: "sku", round: 1, generation: gate.generation(item: "sku"))
        #expect(answer(gate, item: "sku", user: "bob", requestID: "r2", nowMs: 0)?.gid == nil, "history not read yet")
        gate.markHistoryLoaded()
        #expect(answer(gate, item: "sku", user: "alice", requestID: "r1", nowMs: 0)?.gid == nil, "journaled: normal path")
        let bob = answer(gate, item: "sku", user: "bob", requestID: "r2", nowMs: 0)?.gid
        #expect(bob == gids.make(item: "sku", user: "bob", requestID: "r2"))
        #expect(answer(gate, item: "sku", user: "bob", requestID: nil, nowMs: 0)?.gid.hasPrefix("n1-") == true)
        #expect(answer(gate, item: "other", user: "bob", requestID: "r2", nowMs: 0)?.gid == nil)
    }

    @Test func restockResetAndRefreshDropTheFlag() {
        let gate = SoldOutGate(gids: gids)
        gate.markHistoryLoaded()
        gate.markSoldOut(item: "sku", round: 1, generation: gate.generation(item: "sku"))
        #expect(answer(gate, item: "sku", user: "u", requestID: "r", nowMs: 0)?.gid != nil)
        gate.clear(item: "sku", round: 1)  // restock here
        #expect(answer(gate, item: "sku", user: "u", requestID: "r", nowMs: 0)?.gid == nil)

        gate.markSoldOut(item: "sku", round: 1, generation: gate.generation(item: "sku"))
        // A refresh that finds nothing changed keeps the flag and learns the total…
        #expect(!gate.refreshed(SaleInfo(item: "sku", round: 1, limitPerUser: 1, total: 10, remaining: 0)))
        // …and one that finds a restock elsewhere (the total moved, the units already gone) drops it.
        #expect(gate.refreshed(SaleInfo(item: "sku", round: 1, limitPerUser: 1, total: 12, remaining: 0)))
        #expect(answer(gate, item: "sku", user: "u", requestID: "r", nowMs: 0)?.gid == nil)

        gate.markSoldOut(item: "sku", round: 1, generation: gate.generation(item: "sku"))
        #expect(gate.refreshed(SaleInfo(item: "sku", round: 2, limitPerUser: 1, total: 5, remaining: 5)), "a reset elsewhere")
        #expect(answer(gate, item: "sku", user: "u", requestID: "r", nowMs: 0)?.gid == nil)
        // A late flag for the old round changes nothing.
        gate.markSoldOut(item: "sku", round: 1, generation: gate.generation(item: "sku"))
        #expect(answer(gate, item: "sku", user: "u", requestID: "r", nowMs: 0)?.gid == nil)
    }

    /// A script sent before a restock here, answering "sold out" after it, must not raise the
    /// flag again; nor may anything while the node's lease is lost.
    @Test func aSoldOutAnswerFromBeforeARestockIsIgnored() {
        let gate = SoldOutGate(gids: gids)
        gate.markHistoryLoaded()
        let before = gate.generation(item: "sku")
        gate.clear(item: "sku", round: 1)  // the restock lands first
        gate.markSoldOut(item: "sku", round: 1, generation: before)
        #expect(answer(gate, item: "sku", user: "u", requestID: "r", nowMs: 0)?.gid == nil)
        gate.markSoldOut(item: "sku", round: 1, generation: gate.generation(item: "sku"))
        #expect(answer(gate, item: "sku", user: "u", requestID: "r", nowMs: 0)?.gid != nil)
        gate.setSuspended(true)
        #expect(answer(gate, item: "sku", user: "u", requestID: "r", nowMs: 0)?.gid == nil)
    }

    /// A request id keeps its first outcome across a reset: a retry of a purchase journaled in
    /// an older round takes the normal path to its row, even with the new round sold out.
    @Test func historyOfEveryRoundIsKept() {
        let gate = SoldOutGate(gids: gids)
        let old = gids.digest(item: "sku", user: "a", requestID: "r")
        let current = gids.digest(item: "sku", user: "b", requestID: "r")
        gate.remember([("sku", 1, old), ("sku", 2, current)])
        gate.markHistoryLoaded()
        gate.markSoldOut(item: "sku", round: 2, generation: gate.generation(item: "sku"))
        #expect(answer(gate, item: "sku", user: "b", requestID: "r", nowMs: 0)?.gid == nil)
        #expect(answer(gate, item: "sku", user: "a", requestID: "r", nowMs: 0)?.gid == nil)
        #expect(answer(gate, item: "sku", user: "c", requestID: "r", nowMs: 0)?.gid != nil)
        // The same after a reset seen live.
        gate.willJournal(item: "sku", round: 2, gid: gids.make(item: "sku", user: "d", requestID: "r"))
        gate.clear(item: "sku", round: 3)
        gate.markSoldOut(item: "sku", round: 3, generation: gate.generation(item: "sku"))
        #expect(answer(gate, item: "sku", user: "d", requestID: "r", nowMs: 0)?.gid == nil)
    }

    @Test func digestRoundTripsThroughTheGID() {
        let node1 = GlobalTransactionID(node: "node-1", key: (1, 2))
        let d = node1.digest(item: "i", user: "u", requestID: "r")
        let gid = GlobalTransactionID.make(node: "node-1", digest: d)
        #expect(GlobalTransactionID.digest(ofGID: gid) == d)
        #expect(gid == node1.make(item: "i", user: "u", requestID: "r"))
    }
}

/// The sale's clock on the fast path: refusals by Redis' time, in the script's order, and a
/// retry of a journaled purchase still takes the normal path.
@Suite struct SaleClockGateTests {
    @Test func theClockNamesItsRefusalInTheScriptsOrder() {
        let clock = SaleClock(opensMs: 1000, closesMs: 2000)
        #expect(clock.refusal(atMs: 999) == .notOpen && clock.state(atMs: 999) == .scheduled)
        #expect(clock.refusal(atMs: 1000) == nil && clock.state(atMs: 1999) == .open)
        #expect(clock.refusal(atMs: 2000) == .closed && clock.state(atMs: 5000) == .closed)
        var paused = clock
        paused.paused = true
        #expect(paused.refusal(atMs: 1500) == .paused && paused.refusal(atMs: 0) == .paused)
        #expect(SaleClock.always.refusal(atMs: .min) == nil && SaleClock.always.refusal(atMs: .max) == nil)
        // Near an edge, within the reckoning's uncertainty, the fast path leaves it to the script.
        #expect(clock.refusal(atMs: 990, uncertainty: 20) == nil && clock.refusal(atMs: 979, uncertainty: 20) == .notOpen)
        #expect(clock.refusal(atMs: 2010, uncertainty: 20) == nil && clock.refusal(atMs: 2020, uncertainty: 20) == .closed)
        #expect(paused.refusal(atMs: 990, uncertainty: 1_000_000) == .paused)
    }

    @Test func theGateRefusesByTheClockButNotAJournaledRetry() {
        let gids = GlobalTransactionID(node: "n1", key: (1, 2))
        let gate = SoldOutGate(gids: gids)
        gate.setClock(item: "sku", SaleClock(opensMs: 10_000))
        #expect(answer(gate, item: "sku", user: "u", requestID: "r", nowMs: 0) == nil, "history not read yet")
        gate.markHistoryLoaded()
        #expect(answer(gate, item: "sku", user: "u", requestID: "r", nowMs: 9_999)?.reason == .notOpen)
        #expect(answer(gate, item: "sku", user: "u", requestID: "r", nowMs: 10_000) == nil)
        #expect(answer(gate, item: "other", user: "u", requestID: "r", nowMs: 0) == nil)
        // A purchase journaled earlier (this request id ordered before a pause) goes to its row.
        gate.willJournal(item: "sku", round: 1, gid: gids.make(item: "sku", user: "u", requestID: "r"))
        gate.setClock(item: "sku", SaleClock(paused: true))
        #expect(answer(gate, item: "sku", user: "u", requestID: "r", nowMs: 20_000) == nil)
        #expect(answer(gate, item: "sku", user: "v", requestID: "r", nowMs: 20_000)?.reason == .paused)
        // A clock refusal comes before sold out; resumed, the sold-out flag answers again.
        gate.markSoldOut(item: "sku", round: 1, generation: gate.generation(item: "sku"))
        #expect(answer(gate, item: "sku", user: "v", requestID: "r", nowMs: 20_000)?.reason == .paused)
        gate.setClock(item: "sku", .always)
        #expect(answer(gate, item: "sku", user: "v", requestID: "r", nowMs: 20_000)?.reason == .soldOut)
        #expect(gate.clock(item: "sku") == nil)
    }
}

/// The gate's answer once other nodes' requests (none in these tests) are read for the
/// spell, as the coordinator reads them before a spell's first fast answer.
private func answer(_ gate: SoldOutGate, item: String, user: String, requestID: String?, nowMs: Int64,
            uncertaintyMs: Int64 = 0) -> (reason: FailureReason, gid: String)? {
    if let a = gate.refusal(item: item, user: user, requestID: requestID, nowMs: nowMs, uncertaintyMs: uncertaintyMs) { return a }
    for read in gate.othersToRead() { gate.othersRead(read, count: 0) }
    return gate.refusal(item: item, user: user, requestID: requestID, nowMs: nowMs, uncertaintyMs: uncertaintyMs)
}
