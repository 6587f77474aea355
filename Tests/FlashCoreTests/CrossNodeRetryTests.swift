import Testing
import TestSupport
@testable import FlashCore

/// A request retried on another node (a load balancer's retry): the same order, one unit
/// taken, and no call to the node that took it (G5 across nodes). Two engines share one
/// in-memory stock store, each with its own journal.
@Suite struct CrossNodeRetryTests {
    let time = CoordinatorTests.TestTime()
    let stock = MemoryStockStore()
    let journalN = MemoryJournal()
    let journalM = MemoryJournal()
    let n: Coordinator
    let m: Coordinator

    init() async throws {
        n = CoordinatorTests.engine(time: time, stock: stock, journal: journalN, node: "n")
        m = CoordinatorTests.engine(time: time, stock: stock, journal: journalM, node: "m")
        _ = try await n.createSale(item: "sku", stock: 10, limitPerUser: 1)
    }

    func order(_ outcome: PurchaseOutcome) -> (id: String, replayed: Bool)? {
        if case .ordered(let o, let replayed) = outcome { return (o.orderID, replayed) }
        return nil
    }

    /// A purchase on node m left prepared after its journal write (as a crash would leave it).
    func abandonedOnM(_ user: String) async {
        do {
            _ = try await m.buy(item: "sku", user: user, requestID: "r", fault: FaultRequest(point: .afterJournal, mode: .abandon))
            Issue.record("an injected fault did not fire")
        } catch let e as EngineError {
            #expect(e.code == .faultInjected)
        } catch {
            Issue.record("\(error)")
        }
    }

    func mGID(_ user: String, _ requestID: String) -> String { m.gate.gids.make(item: "sku", user: user, requestID: requestID) }

    @Test func aRetryOnAnotherNodeGetsTheFirstNodesOrder() async throws {
        let first = try #require(order(try await n.buy(item: "sku", user: "alice", requestID: "r1")))
        let again = try #require(order(try await m.buy(item: "sku", user: "alice", requestID: "r1")))
        #expect(again.id == first.id && again.replayed)
        #expect(await stock.deductions == 1)
        #expect(await journalM.transaction(gid: mGID("alice", "r1")) == nil, "the other node keeps no row")
        #expect(await m.counters.adoptedElsewhere == 1)
        // And the other way round.
        let onM = try #require(order(try await m.buy(item: "sku", user: "bob", requestID: "r1")))
        #expect(try #require(order(try await n.buy(item: "sku", user: "bob", requestID: "r1"))).id == onM.id)
        #expect(await stock.deductions == 2)
    }

    /// The other node's attempt was cut short after its journal write (a crash): its check
    /// finds the request's order and drops the row instead of calling it rolled back.
    @Test func anAttemptLeftPreparedIsDroppedOnceTheRequestOrderedElsewhere() async throws {
        await abandonedOnM("carol")
        let first = try #require(order(try await n.buy(item: "sku", user: "carol", requestID: "r")))
        time.advance(.seconds(3))
        await m.timeoutCheckPass()
        #expect(await journalM.transaction(gid: mGID("carol", "r")) == nil)
        #expect(try #require(order(try await m.buy(item: "sku", user: "carol", requestID: "r"))).id == first.id)
        #expect(await stock.deductions == 1)
    }

    /// The other node rolled its attempt back before the first one deducted (a slow first
    /// attempt): a later retry there still gets the order, not the rollback.
    @Test func aRollbackHereIsAnsweredWithALaterOrderElsewhere() async throws {
        await abandonedOnM("dave")
        time.advance(.seconds(3))
        await m.timeoutCheckPass()
        #expect(await journalM.transaction(gid: mGID("dave", "r"))?.state == .failed)
        let first = try #require(order(try await n.buy(item: "sku", user: "dave", requestID: "r")))
        #expect(try #require(order(try await m.buy(item: "sku", user: "dave", requestID: "r"))).id == first.id)
        // No order elsewhere: the rollback stands.
        await abandonedOnM("erin")
        time.advance(.seconds(3))
        await m.timeoutCheckPass()
        #expect(try await m.buy(item: "sku", user: "erin", requestID: "r") == .refused(.rolledBack, gid: mGID("erin", "r"), replayed: true))
    }
}
