import FlashCore
import FlashStorage
import Foundation
import Testing
import TestSupport

/// Checkout holds' scripts against a real redis-server (G7): a released unit returns once
/// however often the release is retried, a confirm and a release racing are decided once, a
/// hold runs out on Redis' clock, and the repair knows decided holds.
@Suite(.serialized) struct HoldScriptTests {
    let redis: RedisServer
    let store: RedisStockStore

    init() throws {
        redis = try RedisServer()
        store = RedisStockStore(endpoint: .unix(path: redis.socketPath), prefix: "t:", connections: 4)
    }

    /// A sale of `stock` units holding each order `holdMs`.
    func holdSale(stock: Int, holdMs: Int64 = 60_000, limit: Int = 1) async throws {
        _ = try await store.createSale(item: "sku", stock: stock, limitPerUser: limit, clock: SaleClock(holdMs: holdMs))
    }

    func buy(_ gid: String, _ user: String) async throws -> HoldEntry {
        let reply = try await store.deduct(gid: gid, item: "sku", round: 1, user: user)
        guard case .deducted(_, let expires?) = reply else { throw EngineError(.internalError, "not held: \(reply)") }
        let entry = try #require(try await store.hold(gid: gid))
        #expect(entry.expiresMs == expires && entry.state == .held && entry.user == user && entry.item == "sku" && entry.round == 1)
        return entry
    }

    func remaining() async throws -> Int { try #require(try await store.sale(item: "sku")).remaining }

    @Test func aReleaseRetriedReturnsTheUnitAndTheSlotOnce() async throws {
        try await holdSale(stock: 2)
        let entry = try await buy("n-1", "alice")
        #expect(try await remaining() == 1)
        #expect(try redis.cli("HGET", "t:usr:sku:1", "alice") == "1")
        // Ten cancels at once, then five more: one unit back, whoever ran first.
        let replies = try await withThrowingTaskGroup(of: HoldReply.self) { group in
            for _ in 0..<10 { group.addTask { try await store.decideHold(entry, action: .cancel, notifyOwner: false) } }
            return try await group.reduce(into: [HoldReply]()) { $0.append($1) }
        }
        #expect(replies.allSatisfy { $0 == .released })
        for action in [HoldAction.cancel, .expire, .cancel, .confirm, .expire] {
            #expect(try await store.decideHold(entry, action: action, notifyOwner: false) == .released)
        }
        #expect(try await remaining() == 2)
        #expect(try redis.cli("HGET", "t:usr:sku:1", "alice") == "0")
        #expect(try await store.hold(gid: "n-1")?.state == .released)
        // The buyer's slot is back: with another request (gid) alice buys again within her limit.
        _ = try await buy("n-2", "alice")
        #expect(try await remaining() == 1)
        // A retried step of the released purchase is that deduction, not a second one.
        #expect(try await store.deduct(gid: "n-1", item: "sku", round: 1, user: "alice") == .alreadyDeducted)
        #expect(try await store.backCheck(gid: "n-1", item: "sku", round: 1) == .deducted)
        #expect(try redis.cli("HGET", "t:bar:sku:1", "n-1") == "x")
        #expect(try await remaining() == 1)
    }

    @Test func aConfirmAndACancelAreDecidedByWhicheverRunsFirstInBothOrders() async throws {
        try await holdSale(stock: 4)
        let a = try await buy("n-a", "u1")
        #expect(try await store.decideHold(a, action: .confirm, notifyOwner: false) == .confirmed)
        #expect(try await store.decideHold(a, action: .cancel, notifyOwner: false) == .confirmed)
        #expect(try await store.decideHold(a, action: .expire, notifyOwner: false) == .confirmed)
        #expect(try await store.decideHold(a, action: .confirm, notifyOwner: false) == .confirmed)
        let b = try await buy("n-b", "u2")
        #expect(try await store.decideHold(b, action: .cancel, notifyOwner: false) == .released)
        #expect(try await store.decideHold(b, action: .confirm, notifyOwner: false) == .released)
        // Stock: 4 − 2 bought + 1 released.
        #expect(try await remaining() == 3)

        // Racing, many times: each gid ends one way, and the units back are exactly its releases.
        _ = try await store.restock(item: "sku", add: 40)
        var entries: [HoldEntry] = []
        for i in 0..<40 { entries.append(try await buy("n-r\(i)", "r\(i)")) }
        let before = try await remaining()
        let verdicts = try await withThrowingTaskGroup(of: (String, HoldReply).self) { group in
            for e in entries {
                group.addTask { (e.gid, try await store.decideHold(e, action: .confirm, notifyOwner: false)) }
                group.addTask { (e.gid, try await store.decideHold(e, action: .cancel, notifyOwner: false)) }
            }
            return try await group.reduce(into: [String: [HoldReply]]()) { $0[$1.0, default: []].append($1.1) }
        }
        var released = 0
        for e in entries {
            let both = try #require(verdicts[e.gid])
            #expect(both.count == 2 && both[0] == both[1], "\(e.gid): \(both)")
            if both[0] == .released { released += 1 }
            #expect(try await store.hold(gid: e.gid)?.state == (both[0] == .released ? .released : .confirmed))
        }
        #expect(try await remaining() == before + released)
    }

    @Test func aHoldRunsOutOnRedisClockAndALateConfirmReleasesIt() async throws {
        try await holdSale(stock: 3, holdMs: 1000)
        let a = try await buy("n-a", "u1")
        let b = try await buy("n-b", "u2")
        // Early: an expiry changes nothing.
        #expect(try await store.decideHold(a, action: .expire, notifyOwner: false) == .stillHeld(expiresMs: a.expiresMs))
        #expect(try await remaining() == 1)
        try await Task.sleep(for: .milliseconds(1100))
        #expect(try await store.decideHold(a, action: .expire, notifyOwner: false) == .released)
        // The hold ran out on Redis' clock: a confirm now is too late, and releases the unit.
        #expect(try await store.decideHold(b, action: .confirm, notifyOwner: false) == .released)
        #expect(try await remaining() == 3)
    }

    @Test func aReleaseAfterAResetReturnsNothingToTheNewRound() async throws {
        try await holdSale(stock: 2)
        let a = try await buy("n-a", "u1")
        _ = try await store.reset(item: "sku", expectedRound: 1, stock: 5, limitPerUser: 1)
        #expect(try await store.decideHold(a, action: .cancel, notifyOwner: false) == .released)
        #expect(try await remaining() == 5)
        #expect(try redis.cli("HGET", "t:usr:sku:2", "u1") == "")
    }

    /// Releases and restocks add to the stock in any order: both arrive, neither is lost.
    @Test func releasesAndRestocksRacingBothArrive() async throws {
        try await holdSale(stock: 30)
        var entries: [HoldEntry] = []
        for i in 0..<30 { entries.append(try await buy("n-\(i)", "u\(i)")) }
        #expect(try await remaining() == 0)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for e in entries { group.addTask { _ = try await store.decideHold(e, action: .cancel, notifyOwner: false) } }
            for i in 0..<10 { group.addTask { _ = try await store.restock(item: "sku", add: 2, requestID: "re\(i)") } }
            try await group.waitForAll()
        }
        #expect(try await remaining() == 30 + 20)
        #expect(try await store.sale(item: "sku")?.total == 50)
    }

    @Test func anotherNodesVerdictIsNewsForTheSellingNode() async throws {
        try await holdSale(stock: 2)
        let a = try await buy("node1-00000000000000aa", "u1")
        #expect(a.node == "node1")
        #expect(try await store.decideHold(a, action: .confirm, notifyOwner: true) == .confirmed)
        #expect(try await store.decideHold(a, action: .confirm, notifyOwner: true) == .confirmed)
        #expect(try await store.takeHoldNews(node: "node1", max: 10) == ["node1-00000000000000aa"])
        #expect(try await store.takeHoldNews(node: "node1", max: 10) == [])
    }

    @Test func aRepairRestoresDecidedHoldsAsTheJournalHasThem() async throws {
        try await holdSale(stock: 5, limit: 2)
        let c = try await buy("n-c", "u1")
        let x = try await buy("n-x", "u1")
        _ = try await buy("n-h", "u2")
        #expect(try await store.decideHold(c, action: .confirm, notifyOwner: false) == .confirmed)
        #expect(try await store.decideHold(x, action: .cancel, notifyOwner: false) == .released)
        #expect(try await remaining() == 3)
        let refs = [OrderRef(gid: "n-c", user: "u1", hold: .confirmed), OrderRef(gid: "n-x", user: "u1", hold: .released),
                    OrderRef(gid: "n-h", user: "u2", hold: .held)]
        // Nothing lost: nothing to do, and a released order is not deducted again.
        #expect(try await store.repair(item: "sku", round: 1, node: "n", orders: refs, apply: true).missing == 0)
        #expect(try await remaining() == 3)

        // Redis lost everything (a flush); the sale is made again as it was.
        _ = try redis.cli("FLUSHALL")
        try await holdSale(stock: 5, limit: 2)
        let r = try await store.repair(item: "sku", round: 1, node: "n", orders: refs, apply: true)
        #expect(r.missing == 3 && r.stockAfter == 3)
        #expect(try redis.cli("HGET", "t:bar:sku:1", "n-c") == "c")
        #expect(try redis.cli("HGET", "t:bar:sku:1", "n-x") == "x")
        #expect(try redis.cli("HGET", "t:bar:sku:1", "n-h") == "d")
        #expect(try redis.cli("HGET", "t:usr:sku:1", "u1") == "1")
        #expect(try redis.cli("HGET", "t:cnt:sku:1", "n") == "3")

        // Redis kept the deduction but lost the release (and the confirm): the repair finishes them.
        _ = try redis.cli("HSET", "t:bar:sku:1", "n-x", "d", "n-c", "d")
        _ = try redis.cli("HINCRBY", "t:sale:sku", "stock", "-1")
        _ = try redis.cli("HINCRBY", "t:usr:sku:1", "u1", "1")
        let again = try await store.repair(item: "sku", round: 1, node: "n", orders: refs, apply: true)
        #expect(again.missing == 2 && again.stockAfter == 3)
        #expect(try redis.cli("HGET", "t:bar:sku:1", "n-x") == "x" && (try redis.cli("HGET", "t:bar:sku:1", "n-c")) == "c")
        #expect(try redis.cli("HGET", "t:usr:sku:1", "u1") == "1")
    }

    @Test func aSaleWithoutAHoldMakesNoHoldEntry() async throws {
        _ = try await store.createSale(item: "sku", stock: 2, limitPerUser: 1)
        #expect(try await store.deduct(gid: "n-1", item: "sku", round: 1, user: "u") == .deducted(remaining: 1))
        #expect(try await store.hold(gid: "n-1") == nil)
        #expect(try await store.sale(item: "sku")?.clock.holdMs == nil)
    }
}
