import FlashCore
import FlashStorage
import Testing
import TestSupport

/// The requests record (`req:ITEM`) against a real redis-server: one request, two nodes, two
/// gids, and still one deduction (G5 across nodes).
@Suite(.serialized) struct RequestRecordTests {
    let redis: RedisServer
    let store: RedisStockStore

    init() async throws {
        redis = try RedisServer()
        store = RedisStockStore(endpoint: .unix(path: redis.socketPath), prefix: "t:", connections: 2)
        _ = try await store.createSale(item: "sku", stock: 3, limitPerUser: 3)
    }

    func buy(_ gid: String, _ user: String, _ requestID: String) async throws -> StockReply {
        try await store.deduct(gid: gid, item: "sku", round: 1, user: user, requestID: requestID,
                               floor: FenceFloor(node: String(gid.prefix(1)), orders: 0, seen: 0))
    }

    func firstGID(_ reply: StockReply) -> String? {
        if case .orderedElsewhere(let first) = reply { return first.gid }
        return nil
    }

    func firstGID(_ reply: BackCheckReply) -> String? {
        if case .orderedElsewhere(let first) = reply { return first.gid }
        return nil
    }

    @Test func theSameRequestOnAnotherNodeGetsTheFirstGIDAndTakesNothing() async throws {
        #expect(try await buy("a-1", "alice", "r1") == .deducted(remaining: 2))
        let other = try await buy("b-1", "alice", "r1")
        guard case .orderedElsewhere(let first) = other else {
            Issue.record("a second gid for the same request deducted: \(other)")
            return
        }
        #expect(first.gid == "a-1" && first.round == 1 && first.deductedMs > 1_700_000_000_000)
        #expect(try await buy("b-1", "alice", "r1") == other, "asked again: the same answer")
        #expect(try await buy("a-1", "alice", "r1") == .alreadyDeducted)
        #expect(try await store.sale(item: "sku")?.remaining == 2)
        #expect(try redis.cli("HGET", "t:usr:sku:1", "alice") == "1")
        #expect(try redis.cli("HEXISTS", "t:bar:sku:1", "b-1") == "0", "the second gid wrote no barrier")
        // Another request of the same user is another purchase.
        #expect(try await buy("b-2", "alice", "r2") == .deducted(remaining: 1))
        #expect(try await store.requestCount(item: "sku") == 2)
        var read: [String] = []
        var cursor: String? = "0"
        while let at = cursor {
            let page = try await store.requests(item: "sku", cursor: at)
            read += page.page.map { "\($0.user)/\($0.requestID)" }
            cursor = page.next
        }
        #expect(read.sorted() == ["alice/r1", "alice/r2"])
    }

    @Test func aBackCheckFindsTheRequestsOrderOnAnotherNode() async throws {
        #expect(try await buy("a-1", "alice", "r1") == .deducted(remaining: 2))
        let checked = try await store.backCheck(gid: "b-1", item: "sku", round: 1, user: "alice", requestID: "r1")
        let ms = try firstMs("alice r1")
        #expect(checked == .orderedElsewhere(OrderElsewhere(gid: "a-1", round: 1, deductedMs: ms)))
        #expect(try redis.cli("HGET", "t:bar:sku:1", "b-1") == "r", "the marker is written all the same")
        #expect(try await store.backCheck(gid: "b-2", item: "sku", round: 1, user: "alice", requestID: "r2") == .rolledBack)
    }

    /// The first attempt rolled back on this node, then the request deducted on another: the
    /// record is consulted before the marker, so this gid answers with that order.
    @Test func aGIDRolledBackHereFindsTheRequestsLaterDeductionElsewhere() async throws {
        #expect(try await store.backCheck(gid: "b-1", item: "sku", round: 1, user: "alice", requestID: "r1") == .rolledBack)
        #expect(try await buy("a-1", "alice", "r1") == .deducted(remaining: 2))
        #expect(firstGID(try await buy("b-1", "alice", "r1")) == "a-1")
        #expect(firstGID(try await store.backCheck(gid: "b-1", item: "sku", round: 1, user: "alice", requestID: "r1")) == "a-1")
        #expect(try await store.sale(item: "sku")?.remaining == 2)
    }

    /// A retry is answered with its order whatever the sale says now: sold out, paused.
    @Test func aSoldOutOrPausedSaleStillAnswersTheRetry() async throws {
        for (i, user) in ["alice", "bob", "carol"].enumerated() {
            #expect(try await buy("a-\(i)", user, "r") == .deducted(remaining: 2 - i))
        }
        #expect(try await buy("b-9", "dave", "r") == .soldOut)
        #expect(firstGID(try await buy("b-0", "alice", "r")) == "a-0")
        _ = try await store.setPaused(item: "sku", paused: true)
        #expect(firstGID(try await buy("b-1", "bob", "r")) == "a-1")
        #expect(try await buy("b-9", "dave", "r") == .clockRefused(.paused))
    }

    /// Redis lost the deduction and its record (an older snapshot): the repair puts both back,
    /// so a retry on another node answers the order instead of buying again (G9 with G5).
    @Test func aRepairPutsBackTheRecordWithTheBarrier() async throws {
        #expect(try await buy("a-1", "alice", "r1") == .deducted(remaining: 2))
        _ = try redis.cli("DEL", "t:req:sku", "t:bar:sku:1")
        let order = OrderRef(gid: "a-1", user: "alice", requestID: "r1", createdMs: 77)
        _ = try await store.repair(item: "sku", round: 1, node: "a", orders: [order], apply: false)
        #expect(try redis.cli("EXISTS", "t:req:sku") == "0", "a dry run writes nothing")
        _ = try await store.repair(item: "sku", round: 1, node: "a", orders: [order], apply: true)
        #expect(try redis.cli("HGET", "t:req:sku", "alice r1") == "a-1 1 77")
        #expect(firstGID(try await buy("b-1", "alice", "r1")) == "a-1")
    }

    func firstMs(_ field: String) throws -> Int64 {
        let value = try redis.cli("HGET", "t:req:sku", field)
        return Int64(value.split(separator: " ").last ?? "") ?? -1
    }
}
