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

    /// The seed with a 2 s hold (G7): the crashed purchase gets its order 3-5 s later, held; its
    /// buyer never pays, so 2 s after that its unit goes back and the next buyer gets it.
    @Test func simulateWithAHoldReturnsTheUnpaidUnitToTheNextBuyer() throws {
        let redis = try RedisServer()
        let flashd = try FlashdProcess(redis: redis, checkDelay: 3)
        let r = try flashd.ctl("simulate", "--stock", "4", "--buyers", "10", "--hold", "2s")
        #expect(r.status == 0, "simulate failed: \(r.stdout)\n\(r.stderr)\n\(flashd.log())")
        #expect(r.stdout.contains("its hold ran out") && r.stdout.contains("the next buyer got it"), "\(r.stdout)")
        #expect(try flashd.sql("SELECT hold, COUNT(*) FROM txns WHERE state = 'succeeded' GROUP BY hold ORDER BY hold")
                == "confirmed|4\nreleased|1")
        #expect(try flashd.sql("SELECT release_cause FROM txns WHERE hold = 'released'") == "expired")
        // Its hold ran from when its order was made (3 s after the deduction), not from the
        // deduction: it arrived with 2 s to pay, not already over (one clock here: Redis' = wall).
        let held = try #require(Int(try flashd.sql("SELECT expires_ms - ordered_ms FROM txns WHERE hold = 'released'")))
        #expect((1500...2500).contains(held), "held \(held) ms")
        #expect(try flashd.redisTaken("sim-item") == 4)
    }

    @Test func simulateRefusesWithoutFaultInjection() throws {
        let redis = try RedisServer()
        let flashd = try FlashdProcess(redis: redis, faultInjection: false)
        let r = try flashd.ctl("simulate")
        #expect(r.status == 1)
        #expect(r.stderr.contains("--enable-fault-injection"))
    }
}
