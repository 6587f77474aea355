import FlashCore
@testable import FlashStorage
import Foundation
import RedisClient
import Testing
import TestSupport

/// One call of the purchase script for many purchases (`RedisPipeline`), against a real
/// redis-server: it must answer and write exactly what one call per purchase would, in the
/// same order. One call per purchase is what the store's other suites check against the
/// guarantees (limits, retries, rollbacks, requests, holds, the fence).
@Suite(.serialized) final class MergedPurchaseTests {
    let redis: RedisServer
    let conn: RedisConnection

    init() throws {
        redis = try RedisServer()
        conn = RedisConnection(endpoint: .unix(path: redis.socketPath))
    }

    deinit {
        conn.close()
        redis.stop()
    }

    /// gid, user, the node's orders floor, the seen floor, request id.
    typealias Entry = [String]

    /// Every kind of answer in one sequence: deducted, the limit, a retried gid, a request
    /// that deducted under another gid, a rollback marker, sold out, a floor above Redis'
    /// counts (the fence), and a purchase after the fence.
    static let sequence: [Entry] = [
        ["g1", "alice", "0", "0", "r1"], ["g2", "alice", "0", "0", "r2"], ["g3", "alice", "0", "0", "r3"],
        ["g1", "alice", "0", "0", "r1"], ["g4", "bob", "0", "0", "r1"], ["g5", "bob", "0", "0", "r1"],
        ["g-r", "carol", "0", "0", "rx"], ["g6", "carol", "0", "0", ""], ["g7", "dave", "1", "3", ""],
        ["g8", "erin", "0", "0", ""], ["g9", "erin", "6", "0", ""], ["g10", "frank", "0", "0", ""],
    ]

    /// A sale of 5 units, 2 per user, with a hold, a lease held, counting on, and `g-r`
    /// rolled back; its keys in `LuaScripts.buy`'s order.
    func sale(_ p: String) throws -> [String] {
        let keys = ["sale:sku", "bar", "usr", "cnt", "fence", "node", "holds", "req"].map { p + $0 }
        _ = try conn.command(["HSET", keys[0], "round", "1", "limit", "2", "total", "5", "stock", "5", "hold", "60000"])
        _ = try conn.command(["HSET", keys[3], "*", "0"])
        _ = try conn.command(["HSET", keys[1], "g-r", "r"])
        _ = try conn.command(["SET", keys[5], "tok"])
        return keys
    }

    func call(_ sha: String, _ keys: [String], _ entries: [Entry]) throws -> [RedisValue] {
        let reply = try conn.command(["EVALSHA", sha, "8"] + keys + ["1", "n1", "tok"] + entries.flatMap { $0 })
        return try #require(reply.array)
    }

    /// What a sale's keys hold, with Redis' clock (ms) taken out.
    func state(_ keys: [String]) throws -> [String] {
        try keys.map { key in
            let type = try conn.command(["TYPE", key]).string ?? "?"
            let value = type == "hash" ? try conn.command(["HGETALL", key]) : try conn.command(["GET", key])
            let pairs = value.array.map { a in stride(from: 0, to: a.count, by: 2).map { "\(a[$0].string ?? "")=\(a[$0 + 1].string ?? "")" } }
            return "\(key.split(separator: ":").dropFirst().joined(separator: ":")): " + (pairs?.sorted() ?? [value.string ?? "nil"]).joined(separator: ", ")
        }.map(Self.clockless)
    }

    static func clockless(_ s: String) -> String {
        s.replacing(/\d{13}/, with: "T")
    }

    @Test func oneCallAnswersAndWritesWhatACallPerPurchaseWould() throws {
        let sha = try #require(conn.command(["SCRIPT", "LOAD", LuaScripts.buy.source]).string)
        let merged = try sale("m:")
        let single = try sale("s:")
        let together = try call(sha, merged, Self.sequence)
        let apart = try Self.sequence.flatMap { try call(sha, single, [$0]) }
        #expect(together.count == Self.sequence.count)
        #expect(together.map { Self.clockless("\($0)") } == apart.map { Self.clockless("\($0)") })
        #expect(try state(merged) == state(single))
        // The answers themselves, so that both sides being wrong the same way fails too.
        let codes = together.map { $0.array?.first?.int ?? -1 }
        #expect(codes == [0, 0, 4, 1, 0, 12, 2, 0, 0, 3, 7, 7])
        #expect(together.compactMap { r in r.array?.first?.int == 0 ? r.array?[1].int : nil } == [4, 3, 2, 1, 0])
        #expect(together[5].array?[1] == .string("g4"), "bob's r1 deducted as g4")
        #expect(try conn.command(["HMGET", "m:cnt", "*", "n1"]) == .array([.string("5"), .string("5")]))
        #expect(try conn.command(["HLEN", "m:holds"]) == .integer(5))
        #expect(try conn.command(["HEXISTS", "m:fence", "n1"]) == .integer(1), "g9's floor of 6 orders fenced the item")
    }

    /// `sequence` as one call and as a call per purchase, each on a sale of its own that
    /// `prepare` sets up the same way: the answers (Redis' clock taken out), and the keys left.
    func bothWays(_ sequence: [Entry], _ prepare: ([String]) throws -> Void) throws -> [RedisValue] {
        let sha = try #require(conn.command(["SCRIPT", "LOAD", LuaScripts.buy.source]).string)
        let id = UUID().uuidString.prefix(8)
        let merged = try sale("m\(id):")
        let single = try sale("s\(id):")
        try prepare(merged)
        try prepare(single)
        let together = try call(sha, merged, sequence)
        let apart = try sequence.flatMap { try call(sha, single, [$0]) }
        #expect(together.map { Self.clockless("\($0)") } == apart.map { Self.clockless("\($0)") })
        #expect(try state(merged) == state(single))
        return together
    }

    /// The sale's clock and a round without counts, both ways: a retried gid still finds its
    /// deduction when the sale is paused, not open yet or closed; a round made before counting
    /// began compares no floor until its first deduction here, and then fences on the next.
    @Test func theClockAndARoundWithoutCountsAnswerAsCallsOfTheirOwn() throws {
        let codes = { (replies: [RedisValue]) in replies.map { $0.array?.first?.int ?? -1 } }
        let retried: Entry = ["done", "zoe", "0", "0", ""]
        let paused = try bothWays([retried, ["p1", "u1", "0", "0", ""]]) { keys in
            _ = try conn.command(["HSET", keys[0], "paused", "1"])
            _ = try conn.command(["HSET", keys[1], "done", "d"])
        }
        #expect(codes(paused) == [1, 11])
        let notOpen = try bothWays([retried, ["o1", "u1", "0", "0", ""]]) { keys in
            _ = try conn.command(["HSET", keys[0], "opens", "99999999999999"])
            _ = try conn.command(["HSET", keys[1], "done", "d"])
        }
        #expect(codes(notOpen) == [1, 9] && notOpen[1].array?[1] == .integer(99_999_999_999_999))
        let closed = try bothWays([retried, ["c1", "u1", "0", "0", ""]]) { keys in
            _ = try conn.command(["HSET", keys[0], "closes", "1"])
            _ = try conn.command(["HSET", keys[1], "done", "d"])
        }
        #expect(codes(closed) == [1, 10])
        let uncounted = try bothWays([["x1", "u1", "3", "9", ""], ["x2", "u2", "5", "0", ""], ["x3", "u3", "0", "0", ""]]) { keys in
            _ = try conn.command(["DEL", keys[3]])
            _ = try conn.command(["HDEL", keys[0], "hold"])
        }
        #expect(codes(uncounted) == [0, 7, 7])
        #expect(uncounted[0] == .array([.integer(0), .integer(4), .integer(0)]), "no hold: expires 0")
    }

    /// A call whose purchases are all refused writes nothing but the probe; one after the
    /// fence answers fenced for each, and a call on a stale round answers that for each.
    @Test func refusalsForACallAreAnsweredPerPurchase() throws {
        let sha = try #require(conn.command(["SCRIPT", "LOAD", LuaScripts.buy.source]).string)
        let keys = try sale("r:")
        _ = try conn.command(["HSET", keys[0], "stock", "0"])
        let soldOut = try call(sha, keys, [["a", "u1", "0", "0", ""], ["b", "u2", "0", "0", ""]])
        #expect(soldOut == [.array([.integer(3), .integer(0)]), .array([.integer(3), .integer(0)])])
        #expect(try conn.command(["HLEN", keys[1]]) == .integer(1), "no barrier written besides g-r")
        _ = try conn.command(["HSET", keys[4], "n2", "fenced by hand"])
        #expect(try call(sha, keys, [["c", "u3", "0", "0", ""], ["d", "u4", "0", "0", ""]]).map { $0.array?.first } == [.integer(7), .integer(7)])
        let stale = try conn.command(["EVALSHA", sha, "8"] + keys + ["2", "n1", "tok", "e", "u5", "0", "0", "", "f", "u6", "0", "0", ""])
        #expect(stale == .array([.array([.integer(6), .integer(1)]), .array([.integer(6), .integer(1)])]))
        let leaseLost = try conn.command(["EVALSHA", sha, "8"] + keys + ["1", "n1", "other", "g", "u7", "0", "0", ""])
        #expect(leaseLost == .array([.array([.integer(8), .integer(0)])]))
    }

    /// Purchases queued behind a batch in flight go out as one call; what they get is still
    /// one unit each while stock lasts, each remaining count once.
    @Test func purchasesQueuedTogetherShareACall() async throws {
        let store = RedisStockStore(endpoint: .unix(path: redis.socketPath), prefix: "q:", connections: 1)
        _ = try await store.createSale(item: "sku", stock: 30, limitPerUser: 1)
        _ = try conn.command(["CONFIG", "RESETSTAT"])
        // Redis holds every command for 300 ms: the first batch waits, and the rest gather behind it.
        _ = try conn.command(["CLIENT", "PAUSE", "300", "ALL"])
        let replies = try await withThrowingTaskGroup(of: StockReply.self) { group in
            for i in 0..<40 {
                group.addTask {
                    try await store.deduct(gid: "g\(i)", item: "sku", round: 1, user: "u\(i)", requestID: "",
                                           floor: FenceFloor(node: "n1", orders: 0, seen: 0))
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        await store.shutdown()
        let remaining = replies.compactMap { r -> Int? in if case .deducted(let left, _) = r { left } else { nil } }
        #expect(remaining.sorted() == Array(0..<30))
        #expect(replies.filter { $0 == .soldOut }.count == 10)
        let stats = try #require(conn.command(["INFO", "commandstats"]).string)
        let calls = stats.firstMatch(of: /cmdstat_evalsha:calls=(\d+)/).flatMap { Int($0.1) } ?? 0
        #expect(calls >= 1 && calls <= 4, "40 purchases in \(calls) script calls")
    }

    /// Redis lost its script cache (a restart, SCRIPT FLUSH) while purchases gathered for one
    /// call: the call's NOSCRIPT reaches each of them, and they load the script once between them.
    @Test func aCallThatFindsNoScriptLoadsItOnce() async throws {
        let store = RedisStockStore(endpoint: .unix(path: redis.socketPath), prefix: "q:", connections: 1)
        _ = try await store.createSale(item: "sku", stock: 30, limitPerUser: 1)
        let floor = FenceFloor(node: "n1", orders: 0, seen: 0)
        _ = try await store.deduct(gid: "warm", item: "sku", round: 1, user: "warm", requestID: "", floor: floor)
        _ = try conn.command(["SCRIPT", "FLUSH"])
        _ = try conn.command(["CONFIG", "RESETSTAT"])
        _ = try conn.command(["CLIENT", "PAUSE", "300", "ALL"])
        let replies = try await withThrowingTaskGroup(of: StockReply.self) { group in
            for i in 0..<40 {
                group.addTask { try await store.deduct(gid: "g\(i)", item: "sku", round: 1, user: "u\(i)", requestID: "", floor: floor) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let remaining = replies.compactMap { r -> Int? in if case .deducted(let left, _) = r { left } else { nil } }
        #expect(remaining.sorted() == Array(0..<29))
        #expect(replies.filter { $0 == .soldOut }.count == 11)
        func stats() throws -> (loads: Int, failed: Int) {
            let stats = try #require(conn.command(["INFO", "commandstats"]).string)
            return (stats.firstMatch(of: /cmdstat_script\|load:calls=(\d+)/).flatMap { Int($0.1) } ?? 0,
                    stats.firstMatch(of: /cmdstat_evalsha:calls=\d+,[^\r]*failed_calls=(\d+)/).flatMap { Int($0.1) } ?? 0)
        }
        let first = try stats()
        #expect(first.failed >= 1, "a call found no script")
        #expect(first.loads == 1, "\(first.loads) SCRIPT LOADs for \(first.failed) calls that found no script")
        // Lost again after that load: the next purchase loads anew rather than trusting the last.
        _ = try conn.command(["SCRIPT", "FLUSH"])
        #expect(try await store.deduct(gid: "late", item: "sku", round: 1, user: "late", requestID: "", floor: floor) == .soldOut)
        #expect(try stats().loads == 2)
        await store.shutdown()
    }

    @Test func aBatchMergesPurchasesByRoundAndKeepsOtherCommands() {
        let a = ["EVALSHA", "sha", "1", "sale:a", "1"]
        let b = ["EVALSHA", "sha", "1", "sale:b", "1"]
        var calls: [RedisPipeline.Call] = [.purchase(call: a, entry: ["g1"]), .command(["PING"]), .purchase(call: b, entry: ["g2"]),
                                           .purchase(call: a, entry: ["g3"])]
        calls += (4..<(4 + RedisPipeline.purchasesPerCall)).map { .purchase(call: a, entry: ["g\($0)"]) }
        let (commands, owners) = RedisPipeline.merge(calls)
        #expect(commands.count == 4)
        #expect(commands[0] == a + ["g1", "g3"] + (4..<(2 + RedisPipeline.purchasesPerCall)).map { "g\($0)" })
        #expect(commands[1] == ["PING"] && owners[1] == [1])
        #expect(commands[2] == b + ["g2"] && owners[2] == [2])
        #expect(owners[0].count == RedisPipeline.purchasesPerCall && owners[3] == [calls.count - 2, calls.count - 1])
        let short = RedisPipeline.split(.success(.array([.integer(1)])), among: 2, merged: true)
        #expect(short.count == 2 && short.allSatisfy { if case .failure = $0 { true } else { false } })
        let alone = RedisPipeline.split(.success(.status("PONG")), among: 1, merged: false)
        #expect(alone.count == 1 && (try? alone[0].get()) == .status("PONG"))
    }
}
