import FlashCore
import FlashStorage
import Foundation
import Testing
import TestSupport

extension StockStore {
    func restock(item: String, add: Int) async throws -> SaleInfo {
        try await restock(item: item, add: add, requestID: nil)
    }

    func reset(item: String, expectedRound: Int, stock: Int, limitPerUser: Int) async throws -> SaleInfo {
        try await reset(item: item, expectedRound: expectedRound, stock: stock, limitPerUser: limitPerUser, requestID: nil)
    }

    /// A purchase with no floor: these tests are about the scripts, not the fence.
    func deduct(gid: String, item: String, round: Int, user: String) async throws -> StockReply {
        try await deduct(gid: gid, item: item, round: round, user: user, requestID: "", floor: FenceFloor(node: "t", orders: 0, seen: 0))
    }
}

/// The Lua scripts against a real redis-server: atomicity is Redis' to give, so it is tested there.
@Suite(.serialized) struct RedisStockStoreTests {
    let redis: RedisServer
    let store: RedisStockStore

    init() throws {
        redis = try RedisServer()
        store = RedisStockStore(endpoint: .unix(path: redis.socketPath), prefix: "t:", connections: 4)
    }

    @Test func barrierMakesTheStockStepIdempotent() async throws {
        _ = try await store.createSale(item: "sku", stock: 5, limitPerUser: 3)
        #expect(try await store.deduct(gid: "g1", item: "sku", round: 1, user: "alice") == .deducted(remaining: 4))
        #expect(try await store.deduct(gid: "g1", item: "sku", round: 1, user: "alice") == .alreadyDeducted)
        #expect(try await store.deduct(gid: "g1", item: "sku", round: 1, user: "alice") == .alreadyDeducted)
        #expect(try await store.sale(item: "sku")?.remaining == 4)
        #expect(try redis.cli("HGET", "t:usr:sku:1", "alice") == "1")
    }

    @Test func perUserLimitHolds() async throws {
        _ = try await store.createSale(item: "sku", stock: 10, limitPerUser: 2)
        #expect(try await store.deduct(gid: "a1", item: "sku", round: 1, user: "alice") == .deducted(remaining: 9))
        #expect(try await store.deduct(gid: "a2", item: "sku", round: 1, user: "alice") == .deducted(remaining: 8))
        #expect(try await store.deduct(gid: "a3", item: "sku", round: 1, user: "alice") == .limitReached)
        #expect(try await store.deduct(gid: "b1", item: "sku", round: 1, user: "bob") == .deducted(remaining: 7))
        #expect(try await store.sale(item: "sku")?.remaining == 7)
    }

    @Test func stockNeverGoesBelowZeroUnderConcurrency() async throws {
        _ = try await store.createSale(item: "sku", stock: 7, limitPerUser: 1)
        let replies = try await withThrowingTaskGroup(of: StockReply.self) { group in
            for i in 0..<60 {
                group.addTask { try await store.deduct(gid: "g\(i)", item: "sku", round: 1, user: "u\(i)") }
            }
            return try await group.reduce(into: [StockReply]()) { $0.append($1) }
        }
        let deducted = replies.filter { if case .deducted = $0 { return true } else { return false } }.count
        #expect(deducted == 7)
        #expect(replies.filter { $0 == .soldOut }.count == 53)
        #expect(try await store.sale(item: "sku")?.remaining == 0)
        #expect(try redis.cli("HLEN", "t:bar:sku:1") == "7")
    }

    @Test func backCheckFirstRefusesTheLateDeduction() async throws {
        _ = try await store.createSale(item: "sku", stock: 3, limitPerUser: 1)
        #expect(try await store.backCheck(gid: "g", item: "sku", round: 1) == .rolledBack)
        #expect(try await store.deduct(gid: "g", item: "sku", round: 1, user: "alice") == .rolledBack)
        #expect(try await store.backCheck(gid: "g", item: "sku", round: 1) == .rolledBack)
        #expect(try await store.sale(item: "sku")?.remaining == 3)
    }

    @Test func deductionFirstMakesTheBackCheckFinishIt() async throws {
        _ = try await store.createSale(item: "sku", stock: 3, limitPerUser: 1)
        #expect(try await store.deduct(gid: "g", item: "sku", round: 1, user: "alice") == .deducted(remaining: 2))
        #expect(try await store.backCheck(gid: "g", item: "sku", round: 1) == .deducted)
        #expect(try await store.sale(item: "sku")?.remaining == 2)
    }

    /// Back-check and deduction racing for the same gids: for each gid exactly one wins, and the
    /// stock taken equals the number of gids whose deduction won.
    @Test func backCheckAndDeductionRaceHasOneWinnerPerGID() async throws {
        _ = try await store.createSale(item: "sku", stock: 1000, limitPerUser: 1)
        let n = 200
        let results = try await withThrowingTaskGroup(of: (Int, StockReply?, BackCheckReply?).self) { group in
            for i in 0..<n {
                group.addTask { (i, try await store.deduct(gid: "g\(i)", item: "sku", round: 1, user: "u\(i)"), nil) }
                group.addTask { (i, nil, try await store.backCheck(gid: "g\(i)", item: "sku", round: 1)) }
            }
            var byGID: [Int: (StockReply?, BackCheckReply?)] = [:]
            for try await (i, d, b) in group {
                var e = byGID[i] ?? (nil, nil)
                if let d { e.0 = d }
                if let b { e.1 = b }
                byGID[i] = e
            }
            return byGID
        }
        var deductions = 0
        for (_, pair) in results {
            switch (pair.0, pair.1) {
            case (.deducted?, .deducted?): deductions += 1
            case (.rolledBack?, .rolledBack?): break
            default: Issue.record("inconsistent pair \(pair)")
            }
        }
        #expect(try await store.sale(item: "sku")?.taken == deductions)
    }

    @Test func scriptsSurviveAScriptCacheFlush() async throws {
        _ = try await store.createSale(item: "sku", stock: 3, limitPerUser: 1)
        #expect(try await store.deduct(gid: "a", item: "sku", round: 1, user: "a") == .deducted(remaining: 2))
        try redis.cli("SCRIPT", "FLUSH")
        #expect(try await store.deduct(gid: "b", item: "sku", round: 1, user: "b") == .deducted(remaining: 1))
    }

    @Test func resetStartsANewRoundAndOldGIDsAreStale() async throws {
        _ = try await store.createSale(item: "sku", stock: 2, limitPerUser: 1)
        _ = try await store.deduct(gid: "a", item: "sku", round: 1, user: "alice")
        let sale = try await store.reset(item: "sku", expectedRound: 1, stock: 5, limitPerUser: 2)
        #expect(sale.round == 2 && sale.remaining == 5 && sale.limitPerUser == 2)
        #expect(try await store.deduct(gid: "b", item: "sku", round: 1, user: "bob") == .staleRound(current: 2))
        // The per-user count started afresh with the round.
        #expect(try await store.deduct(gid: "c", item: "sku", round: 2, user: "alice") == .deducted(remaining: 4))
        // The old round's barriers stay: a transaction of it may still be pending on some node,
        // and its back-check must find its deduction.
        #expect(try redis.cli("HGET", "t:bar:sku:1", "a") == "d")
        #expect(try await store.backCheck(gid: "a", item: "sku", round: 1) == .deducted)
        await #expect(throws: EngineError.self) { try await store.reset(item: "sku", expectedRound: 1, stock: 1, limitPerUser: 1) }
    }

    /// An admin verb whose answer was lost is retried by its caller: with a request id the
    /// retry changes nothing (a restock used to add its units twice; a reset made round 3).
    @Test func adminVerbsRetriedWithTheirRequestIDActOnce() async throws {
        _ = try await store.createSale(item: "sku", stock: 2, limitPerUser: 1)
        #expect(try await store.restock(item: "sku", add: 3, requestID: "op-1").remaining == 5)
        #expect(try await store.restock(item: "sku", add: 3, requestID: "op-1").remaining == 5)
        #expect(try await store.restock(item: "sku", add: 3, requestID: "op-2").remaining == 8)
        #expect(try await store.sale(item: "sku")?.total == 8)
        let reset = try await store.reset(item: "sku", expectedRound: 1, stock: 4, limitPerUser: 1, requestID: "op-3")
        #expect(reset.round == 2)
        // The retry reads the round it is at now (2) and asks for round 3: the id says it was done.
        let again = try await store.reset(item: "sku", expectedRound: 2, stock: 4, limitPerUser: 1, requestID: "op-3")
        #expect(again.round == 2 && again.remaining == 4)
    }

    @Test func adminVerbsReportExistingAndUnknownSales() async throws {
        _ = try await store.createSale(item: "sku", stock: 2, limitPerUser: 1)
        await #expect(throws: EngineError(.saleExists, "a sale for item sku exists already; use restock or reset")) {
            try await store.createSale(item: "sku", stock: 2, limitPerUser: 1)
        }
        #expect(try await store.restock(item: "sku", add: 3).remaining == 5)
        #expect(try await store.sale(item: "nope") == nil)
        #expect(try await store.deduct(gid: "x", item: "nope", round: 1, user: "u") == .noSale)
        await #expect(throws: EngineError.unknownSale("nope")) { try await store.restock(item: "nope", add: 1) }
        #expect(try await store.sales().map(\.item) == ["sku"])
    }

    @Test func barriersHaveNoTTL() async throws {
        _ = try await store.createSale(item: "sku", stock: 2, limitPerUser: 1)
        _ = try await store.deduct(gid: "a", item: "sku", round: 1, user: "alice")
        _ = try await store.backCheck(gid: "b", item: "sku", round: 1)
        #expect(try redis.cli("TTL", "t:bar:sku:1") == "-1")
        #expect(try redis.cli("TTL", "t:sale:sku") == "-1")
    }

    /// After a Redis restart every pooled connection is stale; a command that could not even be
    /// written is retried on a fresh connection instead of failing the purchase.
    @Test func keptConnectionsSurviveARedisRestart() async throws {
        let durable = try RedisServer(persistent: true)
        let store = RedisStockStore(endpoint: .unix(path: durable.socketPath), prefix: "t:", connections: 4)
        _ = try await store.createSale(item: "sku", stock: 20, limitPerUser: 1)
        for i in 0..<8 { _ = try await store.deduct(gid: "a\(i)", item: "sku", round: 1, user: "a\(i)") }
        durable.stop()
        try durable.start()
        for i in 0..<8 {
            #expect(try await store.deduct(gid: "b\(i)", item: "sku", round: 1, user: "b\(i)") == .deducted(remaining: 11 - i))
        }
        await store.shutdown()
    }

    @Test func unreachableRedisIsReportedPromptlyAsUnavailable() async throws {
        _ = try await store.createSale(item: "sku", stock: 2, limitPerUser: 1)
        redis.stop()
        let started = Date()
        do {
            _ = try await store.deduct(gid: "a", item: "sku", round: 1, user: "alice")
            Issue.record("deduct succeeded with Redis down")
        } catch let e as EngineError {
            #expect(e.code == .redisUnavailable)
        }
        #expect(Date().timeIntervalSince(started) < 1)
        try redis.start()
        // The connection re-dials by itself once Redis is back (its data is gone: not persistent).
        try await store.ping()
    }
}

/// The sale's clock in the purchase script, judged on Redis' own TIME: nothing is deducted
/// outside the sale's hours or while it is paused, and a retried step of a purchase that
/// deducted in time still finds its deduction.
@Suite(.serialized) struct SaleClockScriptTests {
    let redis: RedisServer
    let store: RedisStockStore

    init() throws {
        redis = try RedisServer()
        store = RedisStockStore(endpoint: .unix(path: redis.socketPath), prefix: "t:", connections: 2)
    }

    @Test func redisTimeIsReadInMilliseconds() async throws {
        // Redis runs on this machine: its clock is this one, read between the two readings here
        // (however long the call waited to be scheduled).
        let before = Int64(Date().timeIntervalSince1970 * 1000)
        let ms = try await store.timeMs()
        let after = Int64(Date().timeIntervalSince1970 * 1000)
        #expect(ms >= before - 5 && ms <= after + 5, "\(before) <= \(ms) <= \(after)")
    }

    @Test func nothingSellsBeforeOpeningOrAfterClosing() async throws {
        let now = try await store.timeMs()
        _ = try await store.createSale(item: "early", stock: 5, limitPerUser: 1, clock: SaleClock(opensMs: now + 60_000))
        #expect(try await store.deduct(gid: "g1", item: "early", round: 1, user: "alice") == .clockRefused(.notOpen))
        _ = try await store.createSale(item: "late", stock: 5, limitPerUser: 1, clock: SaleClock(opensMs: now - 60_000, closesMs: now - 1))
        #expect(try await store.deduct(gid: "g2", item: "late", round: 1, user: "alice") == .clockRefused(.closed))
        _ = try await store.createSale(item: "now", stock: 5, limitPerUser: 1,
                                       clock: SaleClock(opensMs: now - 1000, closesMs: now + 60_000))
        #expect(try await store.deduct(gid: "g3", item: "now", round: 1, user: "alice") == .deducted(remaining: 4))
        // Refused: no stock taken, no barrier, no per-user count.
        #expect(try await store.sale(item: "early")?.remaining == 5)
        #expect(try await store.sale(item: "late")?.remaining == 5)
        #expect(try redis.cli("HLEN", "t:bar:early:1") == "0" && redis.cli("HGET", "t:usr:early:1", "alice") == "")
        let read = try #require(try await store.sale(item: "early"))
        #expect(read.clock == SaleClock(opensMs: now + 60_000) && read.clock.state(atMs: now) == .scheduled)
    }

    @Test func aPauseStopsSalesUntilResumedAndAResetEndsIt() async throws {
        _ = try await store.createSale(item: "sku", stock: 5, limitPerUser: 2)
        #expect(try await store.deduct(gid: "g1", item: "sku", round: 1, user: "alice") == .deducted(remaining: 4))
        #expect(try await store.setPaused(item: "sku", paused: true).clock.paused)
        #expect(try await store.deduct(gid: "g2", item: "sku", round: 1, user: "alice") == .clockRefused(.paused))
        // The purchase that deducted before the pause is still found deducted on retry.
        #expect(try await store.deduct(gid: "g1", item: "sku", round: 1, user: "alice") == .alreadyDeducted)
        #expect(try await store.setPaused(item: "sku", paused: false).clock == .always)
        #expect(try await store.deduct(gid: "g2", item: "sku", round: 1, user: "alice") == .deducted(remaining: 3))
        _ = try await store.setPaused(item: "sku", paused: true)
        let reset = try await store.reset(item: "sku", expectedRound: 1, stock: 2, limitPerUser: 1, requestID: nil)
        #expect(reset.clock == .always)
        #expect(try await store.sale(item: "sku")?.clock == .always)
        await #expect(throws: EngineError.self) { try await store.setPaused(item: "none", paused: true) }
    }
}
