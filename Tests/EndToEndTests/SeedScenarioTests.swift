import Foundation
import Testing
import TestSupport

/// The seed's flash-sale batch through the real binaries: 3 orders at once, the 4th within the
/// check delay + 2 s (G4).
@Suite(.serialized) struct SeedScenarioTests {
    @Test func simulateConvergesToFourOrders() throws {
        let redis = try RedisServer()
        let flashd = try FlashdProcess(redis: redis, checkDelay: 3)
        let r = try flashd.ctl("--json", "simulate", "--stock", "4", "--buyers", "10")
        #expect(r.status == 0, "simulate failed: \(r.stderr)\n\(flashd.log())")
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(summary["orders_before"] as? Int == 3)
        #expect(summary["redis_stock_before"] as? Int == 0)
        #expect(summary["orders_after"] as? Int == 4)
        #expect(summary["converged"] as? Bool == true)
        #expect(summary["audit_consistent"] as? Bool == true)
        let seconds = try #require(summary["converge_seconds"] as? Double)
        #expect(seconds <= 3 + 2)
        print("seed scenario: crashed purchase converged after \(seconds) s (check delay 3 s)")
        // Independent check, from the files: 4 orders in SQLite, 4 units taken in Redis.
        #expect(try flashd.sql("SELECT COUNT(*) FROM orders WHERE item = 'sim-item'") == "4")
        #expect(try flashd.redisTaken("sim-item") == 4)
        #expect(try flashd.sql("SELECT COUNT(*) FROM txns WHERE state = 'prepared'") == "0")
    }

    @Test func simulateRefusesWithoutFaultInjection() throws {
        let redis = try RedisServer()
        let flashd = try FlashdProcess(redis: redis, faultInjection: false)
        let r = try flashd.ctl("simulate")
        #expect(r.status == 1)
        #expect(r.stderr.contains("--enable-fault-injection"))
    }
}
