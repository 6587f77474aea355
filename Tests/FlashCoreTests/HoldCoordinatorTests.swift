import Testing
import TestSupport
@testable import FlashCore

/// Holds in the engine on in-memory stores, with a clock the test moves (G7): expiry on the
/// store's (Redis') clock, a confirm that wins, an interrupted cancel finished by the timeout
/// check; and `HoldMachine`'s steps.
@Suite struct HoldCoordinatorTests {
    let time = CoordinatorTests.TestTime()
    let stock = MemoryStockStore()
    let journal = MemoryJournal()
    let coordinator: Coordinator

    init() async throws {
        coordinator = CoordinatorTests.engine(time: time, stock: stock, journal: journal)
        await coordinator.readClocks()
        _ = try await coordinator.createSale(item: "sku", stock: 1, limitPerUser: 1, clock: SaleClock(holdMs: 10_000))
    }

    func order(_ user: String, request: String = "r") async throws -> Order {
        guard case .ordered(let o, _) = try await coordinator.buy(item: "sku", user: user, requestID: request) else {
            throw EngineError(.internalError, "no order for \(user)")
        }
        return o
    }

    /// Moves Redis' clock and this node's together, and lets the node measure the offset again.
    func advance(_ ms: Int64) async {
        let now = await stock.nowMs
        await stock.setNow(now + ms)
        time.advance(.milliseconds(ms))
        await coordinator.readClocks()
    }

    @Test func aHoldRunsOutOnRedisClockAndItsUnitReturnsOnce() async throws {
        let o = try await order("ann")
        let now = await stock.nowMs
        #expect(o.hold == .held && o.expiresMs == now + 10_000)
        guard case .refused(.soldOut, _, _) = try await coordinator.buy(item: "sku", user: "bob", requestID: "r") else {
            Issue.record("not sold out")
            return
        }
        await advance(9_000)
        await coordinator.timeoutCheckPass()
        #expect(await journal.order(gid: o.gid)?.hold == .held)
        await advance(1_000)
        for _ in 0..<3 { await coordinator.timeoutCheckPass() }
        let released = await journal.order(gid: o.gid)
        #expect(released?.hold == .released && released?.releaseCause == .expired)
        #expect(await stock.saleByItem["sku"]?.remaining == 1)
        #expect(await coordinator.counters.holdsExpired == 1)
        // The unit sells again at once: this node's sold-out flag went with the release.
        #expect(coordinator.refusedAtOnce(item: "sku", user: "bob", requestID: "r2") == nil)
        // (A new request: bob's first one was refused, and a refusal binds its request id.)
        _ = try await order("bob", request: "r2")
    }

    @Test func aConfirmBeforeTheHoldRunsOutKeepsTheUnit() async throws {
        let o = try await order("ann")
        let (confirmed, replayed) = try await coordinator.decide(orderID: o.orderID, .confirm)
        #expect(confirmed.hold == .confirmed && !replayed)
        #expect(try await coordinator.decide(orderID: o.orderID, .confirm).replayed)
        await advance(60_000)
        await coordinator.timeoutCheckPass()
        #expect(try await coordinator.decide(orderID: o.orderID, .cancel).order.hold == .confirmed)
        #expect(await stock.saleByItem["sku"]?.remaining == 0)
    }

    @Test func anInterruptedCancelIsFinishedByTheTimeoutCheck() async throws {
        let o = try await order("ann")
        await #expect(throws: EngineError.self) {
            _ = try await coordinator.decide(orderID: o.orderID, .cancel, fault: FaultRequest(point: .afterIntent, mode: .abandon))
        }
        #expect(await journal.order(gid: o.gid)?.hold == .releasing)
        #expect(await stock.saleByItem["sku"]?.remaining == 0)
        // Retried a second later (on Redis' clock), by the timeout check.
        await coordinator.timeoutCheckPass()
        #expect(await journal.order(gid: o.gid)?.hold == .releasing)
        await advance(1000)
        await coordinator.timeoutCheckPass()
        #expect(await journal.order(gid: o.gid)?.hold == .released)
        #expect(await journal.order(gid: o.gid)?.releaseCause == .cancelled)
        #expect(await stock.saleByItem["sku"]?.remaining == 1)
    }

    @Test func badOrderIDsAndPurchasePointsAreRefused() async throws {
        for id in ["", "ord-", "ord-n-xyz", "n-00000000000000aa", "ord-n:x-00000000000000aa"] {
            await #expect(throws: EngineError.invalidInput(field: "order_id", "not an order id: \(id)")) {
                _ = try await coordinator.decide(orderID: id, .confirm)
            }
        }
        let o = try await order("ann")
        await #expect(throws: EngineError.self) {
            _ = try await coordinator.decide(orderID: o.orderID, .confirm, fault: FaultRequest(point: .afterStock, mode: .abandon))
        }
        #expect(await journal.order(gid: o.gid)?.hold == .held)
    }

    @Test func theMachineRecordsWhateverRedisDecided() {
        var m = HoldMachine(action: .confirm)
        #expect(m.start(.held) == .writeIntent(.confirming, nil))
        #expect(m.intentWritten() == .decide(.confirm))
        // The hold ran out on Redis' clock: the confirm records the release it found.
        #expect(m.decided(.released) == .recordVerdict(.released, .expired))
        #expect(m.recorded() == .reply(replayed: false))

        var c = HoldMachine(action: .cancel)
        #expect(c.start(.confirming) == .decide(.cancel))
        #expect(c.decided(.confirmed) == .recordVerdict(.confirmed, nil))

        var e = HoldMachine(action: .expire)
        #expect(e.start(.held) == .writeIntent(.releasing, .expired))
        _ = e.intentWritten()
        #expect(e.decided(.stillHeld(expiresMs: 5)) == .recordVerdict(.held, nil))
        #expect(e.recorded() == .reply(replayed: true))

        for final in [HoldState?.none, .confirmed, .released] {
            var f = HoldMachine(action: .cancel)
            #expect(f.start(final) == .reply(replayed: true))
        }
        var missing = HoldMachine(action: .cancel, fault: nil)
        _ = missing.start(.releasing)
        guard case .fail(let error) = missing.decided(.missing) else {
            Issue.record("a missing barrier must fail")
            return
        }
        #expect(error.code == .redisBehind)
        var crash = HoldMachine(action: .confirm, fault: FaultRequest(point: .afterDecision, mode: .exit))
        _ = crash.start(.held)
        _ = crash.intentWritten()
        #expect(crash.decided(.confirmed) == .injectFault(FaultRequest(point: .afterDecision, mode: .exit)))
    }
}
