import Logging
import Synchronization
import Testing
import TestSupport
@testable import FlashCore

/// The engine on in-memory stores with a clock that moves only when a test says so: dedup,
/// replay, the timeout check, backoff, a refused reset and lease gating, in milliseconds and
/// with no redis-server. The stores' own atomicity is the Redis and SQLite tests' business.
@Suite struct CoordinatorTests {
    /// Monotonic and wall time, both moved by `advance`.
    final class TestTime: Sendable {
        let start = ContinuousClock.now
        private let offset = Mutex<Duration>(.zero)
        func now() -> ContinuousClock.Instant { start + offset.withLock { $0 } }
        func wallMs() -> Int64 { 1_800_000_000_000 + offset.withLock { $0 }.milliseconds }
        func advance(_ d: Duration) { offset.withLock { $0 += d } }
    }

    let time = TestTime()
    let stock = MemoryStockStore()
    let journal = MemoryJournal()
    let coordinator: Coordinator

    init() async throws {
        coordinator = Self.engine(time: time, stock: stock, journal: journal)
        _ = try await coordinator.createSale(item: "sku", stock: 10, limitPerUser: 1)
    }

    /// The engine on these stores, node "n" unless told, check delay 3 s, on the test's clock.
    static func engine(time: TestTime, stock: MemoryStockStore, journal: MemoryJournal, node: String = "n") -> Coordinator {
        Coordinator(config: CoordinatorConfig(node: node, checkDelay: .seconds(3), faultInjection: true),
                    stock: stock, journal: journal, logger: Logger(label: "test"),
                    wallClockMs: { time.wallMs() }, time: { time.now() }, fatalFault: { _ in })
    }

    /// A purchase left prepared at `point` (the handler abandoned it, as a crash would).
    func abandoned(_ user: String, at point: FaultPoint) async -> String {
        do {
            _ = try await coordinator.buy(item: "sku", user: user, requestID: "r", fault: FaultRequest(point: point, mode: .abandon))
            Issue.record("an injected fault did not fire")
        } catch let e as EngineError {
            #expect(e.code == .faultInjected)
            return e.gid ?? ""
        } catch {
            Issue.record("\(error)")
        }
        return ""
    }

    func state(_ gid: String) async throws -> TxnState? { try await journal.transaction(gid: gid)?.state }

    @Test func concurrentIdenticalRequestsShareOneOutcome() async throws {
        let outcomes = try await withThrowingTaskGroup(of: PurchaseOutcome.self) { group in
            for _ in 0..<8 { group.addTask { try await coordinator.buy(item: "sku", user: "alice", requestID: "r1") } }
            var all: [PurchaseOutcome] = []
            for try await o in group { all.append(o) }
            return all
        }
        let orders = outcomes.compactMap { o -> (String, Bool)? in
            if case .ordered(let order, let replayed) = o { return (order.orderID, replayed) }
            return nil
        }
        #expect(orders.count == 8 && Set(orders.map(\.0)).count == 1)
        #expect(orders.filter { !$0.1 }.count == 1, "one made the order, the rest share it")
        #expect(await stock.deductions == 1)
    }

    @Test func anOrderedRetryIsReplayedWithoutTouchingStock() async throws {
        guard case .ordered(let first, false) = try await coordinator.buy(item: "sku", user: "bob", requestID: "r") else {
            Issue.record("no order")
            return
        }
        guard case .ordered(let again, true) = try await coordinator.buy(item: "sku", user: "bob", requestID: "r") else {
            Issue.record("the retry was not a replay")
            return
        }
        #expect(again == first)
        #expect(await stock.deductions == 1)
        let counters = await coordinator.counters
        #expect(counters[.replayed] == 1 && counters[.ordered] == 1)
    }

    @Test func theTimeoutCheckSettlesAfterTheCheckDelayNotBefore() async throws {
        let gid = await abandoned("carol", at: .afterStock)
        time.advance(.milliseconds(2900))
        await coordinator.timeoutCheckPass()
        #expect(try await state(gid) == .prepared)
        time.advance(.milliseconds(100))
        await coordinator.timeoutCheckPass()
        #expect(try await state(gid) == .succeeded, "deducted before the abandon: the back-check finds it")
        #expect(await coordinator.counters.resolvedOrdered == 1)
    }

    @Test func failedChecksBackOffAndSettleOnceRedisIsBack() async throws {
        let gid = await abandoned("dave", at: .afterJournal)
        await stock.setDown(true)
        time.advance(.seconds(3))
        await coordinator.timeoutCheckPass()
        #expect(try await journal.transaction(gid: gid)?.attempts == 1)
        time.advance(.milliseconds(499))
        await coordinator.timeoutCheckPass()
        #expect(try await journal.transaction(gid: gid)?.attempts == 1, "0.5 s backoff after the first failure")
        time.advance(.milliseconds(1))
        await coordinator.timeoutCheckPass()
        #expect(try await journal.transaction(gid: gid)?.attempts == 2)
        // Redis returns: the next pass probes it and checks the row at once, not after 1 s.
        await stock.setDown(false)
        time.advance(.milliseconds(10))
        await coordinator.timeoutCheckPass()
        await coordinator.timeoutCheckPass()
        let row = try await journal.transaction(gid: gid)
        #expect(row?.state == .failed && row?.reason == .rolledBack, "no deduction happened: rolled back, \(String(describing: row))")
    }

    @Test func aResetWaitsForThePendingPurchasesOfItsRound() async throws {
        let gid = await abandoned("erin", at: .afterStock)
        await #expect(throws: EngineError.self) { try await coordinator.reset(item: "sku", stock: 5, limitPerUser: nil) }
        time.advance(.seconds(3))
        await coordinator.timeoutCheckPass()
        #expect(try await state(gid) == .succeeded)
        #expect(try await coordinator.reset(item: "sku", stock: 5, limitPerUser: nil).round == 2)
    }

    @Test func withoutItsLeaseTheNodeNeitherSellsNorSettles() async throws {
        let gid = await abandoned("frank", at: .afterStock)
        await coordinator.setNodeLease(held: false, holder: "another:process")
        await #expect(throws: EngineError.self) { _ = try await coordinator.buy(item: "sku", user: "gina", requestID: "r") }
        time.advance(.seconds(5))
        await coordinator.timeoutCheckPass()
        #expect(try await state(gid) == .prepared, "a node without its lease touches nothing shared")
        await coordinator.setNodeLease(held: true, holder: nil, validFor: .seconds(9))
        await coordinator.timeoutCheckPass()
        #expect(try await state(gid) == .succeeded)
        // The lease runs out unless renewed: past its validity nothing is settled either.
        time.advance(.seconds(10))
        #expect(await !coordinator.nodeLeaseValid)
    }

    /// A refusal by the sale's clock on the normal path (the store judged it, as the script
    /// does on Redis' TIME) leaves no journal row, so it binds nothing: the same request id
    /// buys once the sale opens.
    @Test func aClockRefusalLeavesNoRowAndBindsNothing() async throws {
        _ = try await coordinator.createSale(item: "later", stock: 5, limitPerUser: 1, clock: SaleClock(opensMs: 2_000_000))
        let first = try await coordinator.buy(item: "later", user: "u", requestID: "r")
        guard case .refused(.notOpen, let gid, replayed: false) = first else {
            Issue.record("\(first)")
            return
        }
        #expect(try await journal.transaction(gid: gid) == nil)
        #expect(await coordinator.schedule.count == 0)
        await stock.setNow(2_000_000)
        let second = try await coordinator.buy(item: "later", user: "u", requestID: "r")
        guard case .ordered(_, replayed: false) = second else {
            Issue.record("the same request id, after the opening: \(second)")
            return
        }
    }

    /// Redis' time is reckoned on the monotonic clock: a jump of this node's wall clock after
    /// the measurement moves nothing (the sale's clock is judged on Redis' time).
    @Test func aWallClockJumpDoesNotMoveRedisTime() async throws {
        let wall = Mutex<Int64>(5_000_000)
        let c = Coordinator(config: CoordinatorConfig(node: "w"), stock: stock, journal: journal, logger: Logger(label: "test"),
                            wallClockMs: { wall.withLock { $0 } }, time: { time.now() }, fatalFault: { _ in })
        await c.readClocks()
        #expect(c.redisNowMs() == 1_000_000, "the store's TIME, measured with no time passing")
        wall.withLock { $0 += 3_600_000 }
        time.advance(.milliseconds(250))
        #expect(c.redisNowMs() == 1_000_250)
    }
}
