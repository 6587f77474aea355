import Control
import Foundation
import Synchronization
import Testing
import TestSupport

/// 50 concurrent buyers on stock 20 while flashd is SIGKILLed from outside at a random moment and
/// restarted. Buyers retry errors with the same request id, as a web tier would. Afterwards, read
/// from the SQLite file and Redis directly: no oversell (G1), orders == stock taken (G2), every
/// purchase that got 201 has its order (G3), and no purchase has two orders (G5).
@Suite(.serialized) struct KillUnderLoadTests {
    @Test(arguments: [1, 2, 3])
    func killNineUnderLoadKeepsEveryInvariant(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        let redis = try RedisServer()
        let flashd = try FlashdProcess(redis: redis, checkDelay: 1)
        try flashd.createSale("hot", stock: 20)

        let outcomes = Mutex<[Buyer.Answer]>([])
        let socket = flashd.socketPath
        let killAfterMs = 5 + Int(rng.next() % 100)
        let buyers = 50
        let done = Atomic<Int>(0)
        let group = DispatchGroup()
        for i in 0..<buyers {
            // Every fifth buyer sends its purchase twice at once: duplicates must not double-buy.
            let copies = i % 5 == 0 ? 2 : 1
            for _ in 0..<copies {
                group.enter()
                Thread.detachNewThread {
                    defer { group.leave(); done.add(1, ordering: .relaxed) }
                    let o = Buyer.buyUntilAnswered(socket: socket, item: "hot", user: "u\(i)", requestID: "req-\(i)")
                    outcomes.withLock { $0.append(o) }
                }
            }
        }
        usleep(UInt32(killAfterMs * 1000))
        flashd.kill9()
        let killedWith = done.load(ordering: .relaxed)
        usleep(UInt32(Int(rng.next() % 300) * 1000))
        try flashd.start()
        print("seed \(seed): killed after \(killAfterMs) ms with \(killedWith) answers in; restart to ready took \(flashd.lastStartSeconds) s")
        #expect(group.wait(timeout: .now() + 60) == .success, "buyers did not finish")
        try Wait.until(timeout: 1 + 2, "every prepared transaction to resolve") { try flashd.settled() }

        let all = outcomes.withLock { $0 }
        let ordered = all.filter { $0.status == 201 }
        // Refusals are definitive answers too; everything was answered (buyers retry until then).
        #expect(all.allSatisfy { $0.status == 201 || $0.status == 409 }, "unanswered: \(all.filter { $0.status != 201 && $0.status != 409 })")

        let orderRows = try flashd.sql("SELECT order_id || '|' || user FROM orders WHERE item = 'hot'")
            .split(separator: "\n").map(String.init)
        let orderIDs = Set(orderRows.map { String($0.split(separator: "|")[0]) })
        let usersWithOrders = orderRows.map { String($0.split(separator: "|")[1]) }
        // G1: never more orders than stock.
        #expect(orderRows.count <= 20)
        // G2: stock taken in Redis == orders in SQLite.
        #expect(try flashd.redisTaken("hot") == orderRows.count)
        // G3: every 201 has its order.
        for o in ordered { #expect(o.orderID.map(orderIDs.contains) == true, "acknowledged order \(o) missing") }
        // G5: one order per user (limit 1), and duplicates of a request got the same order.
        #expect(Set(usersWithOrders).count == usersWithOrders.count)
        for (user, answers) in Dictionary(grouping: ordered, by: \.user) {
            #expect(Set(answers.compactMap(\.orderID)).count == 1, "\(user) got several orders: \(answers)")
        }
        // Stock 20 and 50 buyers each wanting one: the sale sells out, unless the kill left
        // purchases journaled and not deducted. Recovery rolls those back, and their retries,
        // under the same request id, get that first outcome. Then every buyer without an order
        // was refused as rolled back: none as sold out while a unit was left.
        let refusals = Dictionary(grouping: all.filter { $0.status == 409 }, by: { $0.error ?? "?" }).mapValues(\.count)
        #expect(orderRows.count == 20 || refusals.keys.allSatisfy { $0 == "rolled_back" },
                "\(orderRows.count) orders of 20; refusals \(refusals)")
        #expect(try flashd.sql("SELECT COUNT(*) FROM txns WHERE state = 'prepared'") == "0")
    }
}
