import Foundation
import TestSupport
import Testing

/// G3 against a power cut, not only kill -9: the journal runs on the power-cut VFS, flashd
/// and Redis (appendfsync always) are killed at once, the journal goes back to its last syncs,
/// and both start again. With synchronous=FULL every acknowledged order is there; with NORMAL
/// the same cut loses acknowledged orders, so the test can tell.
@Suite(.serialized) struct PowerCutTests {
    func cutAfterTwentyOrders(sync: String) throws -> (acknowledged: [String], present: Int, audit: [String: Any]) {
        let redis = try RedisServer(persistent: true)
        let node = try FlashdProcess(redis: redis, extraArgs: ["--sqlite-sync", sync], environment: PowerCut.environment)
        try node.createSale("sku", stock: 100)
        var acknowledged: [String] = []
        for i in 0..<20 {
            let r = try node.request("POST", "/v1/purchases", json: #"{"item":"sku","user":"u\#(i)","request_id":"r"}"#)
            #expect(r.status == 201)
            if let id = r.body["order_id"] as? String { acknowledged.append(id) }
        }
        node.kill9()
        redis.stop()
        try PowerCut.rollBack(stateDir: node.dir + "/state")
        try redis.start()
        try node.start()
        let present = try acknowledged.filter { try node.request("GET", "/v1/orders/\($0)").status == 200 }.count
        try Wait.until(timeout: 10, "recovery settled") {
            (try node.request("GET", "/v1/audit").body["settled"] as? Bool) == true
        }
        return (acknowledged, present, try node.audit())
    }

    @Test func everyAcknowledgedOrderSurvivesAPowerCutWithFullSync() throws {
        let r = try cutAfterTwentyOrders(sync: "full")
        #expect(r.acknowledged.count == 20 && r.present == 20, "\(r.present) of \(r.acknowledged.count) acknowledged orders survived")
        #expect(r.audit["consistent"] as? Bool == true, "\(r.audit)")
    }

    @Test func normalSyncLosesAcknowledgedOrdersSoTheTestCanFail() throws {
        let r = try cutAfterTwentyOrders(sync: "normal")
        #expect(r.present < r.acknowledged.count, "NORMAL kept all \(r.acknowledged.count): the power cut cut nothing")
        // Redis kept the deductions whose orders the journal lost: the audit sees the drift.
        #expect(r.audit["consistent"] as? Bool == false, "\(r.audit)")
    }
}
