import Foundation
import Testing
import TestSupport

/// `flashsalectl bench` end to end, briefly: every scenario prints the JSON object scripts and
/// `make bench` read, with figures that add up, and the run ends with a consistent audit. The
/// sale scenario is a small real flash sale: far more buyers than stock, and exactly the stock sold.
@Suite(.serialized) struct BenchCommandTests {
    func bench(_ flashd: FlashdProcess, _ args: String...) throws -> [String: Any] {
        let r = try flashd.ctl(["--json", "bench", "--duration", "1", "--connections", "8", "--quiet"] + args)
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], "\(r)")
        #expect(r.status == 0, "\(r.stderr)")
        for key in ["scenario", "connections", "requests", "success_per_s", "soldout_per_s", "errors", "p50_ms", "p99_ms",
                    "audit_consistent"] {
            #expect(obj[key] != nil, "missing \(key)")
        }
        return obj
    }

    @Test func everyScenarioReportsAndAudits() throws {
        let redis = try RedisServer()
        let flashd = try FlashdProcess(redis: redis)

        let success = try bench(flashd, "--scenario", "success")
        #expect((success["success"] as? Int ?? 0) > 0 && success["soldout"] as? Int == 0 && success["errors"] as? Int == 0)
        #expect((success["noop_per_s"] as? Double ?? 0) > 0, "the no-op ceiling")
        #expect((success["lua_per_s"] as? Double ?? 0) > 0, "the script ceiling (redis-benchmark): \(success["lua_note"] ?? "")")
        #expect(success["audit_consistent"] as? Bool == true)
        // Who used the machine: flashd (found by its socket's peer credentials) and this client
        // in both phases, and its Redis (by INFO's process_id) in the purchases; the no-op
        // doesn't touch Redis, so there it is only reported.
        for phase in ["cpu_s", "noop_cpu_s"] {
            let cpu = try #require(success[phase] as? [String: Any], "\(phase) in \(success)")
            for who in ["flashd", "client"] { #expect((cpu[who] as? Double ?? 0) > 0, "\(phase).\(who): \(cpu)") }
            #expect(cpu["redis"] is Double, "\(phase).redis: \(cpu)")
        }
        #expect(((success["cpu_s"] as? [String: Any])?["redis"] as? Double ?? 0) > 0)
        // The same per request, with flashd's by kind of thread: the threads are named
        // (`NamedThread`), so the journal's writer and the Redis connection each show their
        // own share of a purchase, and a ping reaches neither. The groups are flashd's threads,
        // so they add up to flashd's figure, within the clock ticks /proc counts in: each
        // thread's count and the process's are rounded apart (up to a tick each, and flashd
        // runs fewer than 16 threads).
        let perRequest = try #require(success["cpu_us_per_request"] as? [String: Any], "\(success)")
        let threads = try #require(perRequest["flashd_threads"] as? [String: Double], "\(perRequest)")
        for kind in ["event_loops", "engine", "journal", "redis_io"] { #expect((threads[kind] ?? 0) > 0, "\(kind): \(threads)") }
        let flashdPer = try #require(perRequest["flashd"] as? Double)
        let ticks = 16 * 0.01 / Double(max(1, success["requests"] as? Int ?? 1)) * 1e6
        #expect(abs(threads.values.reduce(0, +) - flashdPer) <= ticks + 0.5, "\(threads) against \(flashdPer)")
        let parts = ["flashd", "redis", "client"].map { perRequest[$0] as? Double ?? 0 }
        #expect(abs(parts.reduce(0, +) - (perRequest["all"] as? Double ?? 0)) <= 0.2, "\(perRequest)")
        let noopPer = try #require(success["noop_cpu_us_per_request"] as? [String: Any], "\(success)")
        let noopThreads = noopPer["flashd_threads"] as? [String: Double] ?? [:]
        // Only the daemon's own timers use them then (the lease, the sold-out gate's refresh).
        #expect((noopThreads["journal"] ?? 0) + (noopThreads["redis_io"] ?? 0) < (threads["journal"] ?? 0) / 4, "\(noopThreads)")
        let bound = try #require(success["cpu_bound_to_noop"] as? Double, "\(success)")
        #expect(abs(bound - (noopPer["all"] as? Double ?? 0) / (perRequest["all"] as? Double ?? 1)) < 0.01, "\(success)")
        let perPurchase = try #require(success["client_cpu_us_per_request"] as? Double)
        let perNoop = try #require(success["noop_client_cpu_us_per_request"] as? Double)
        #expect(abs((success["client_cpu_ratio"] as? Double ?? 0) - perPurchase / perNoop) < 0.02, "\(success)")
        // Where a purchase's time went: each step waited, the steps run one after another
        // inside flashd's time for the purchase, and that inside the client's.
        let mean = try #require(success["mean_ms"] as? [String: Any], "mean_ms in \(success)")
        let steps = ["journal_prepare", "stock_script", "journal_order"].map { mean[$0] as? Double ?? 0 }
        let inFlashd = mean["purchase"] as? Double ?? 0
        let client = mean["client"] as? Double ?? 0
        #expect(steps.allSatisfy { $0 > 0 }, "\(mean)")
        #expect(steps.reduce(0, +) <= inFlashd + 0.005, "\(mean)")
        #expect(inFlashd > 0 && inFlashd <= client * 1.01 + 0.01, "\(mean)")
        // flashd's own p99, from its histogram: a purchase's time in flashd is part of its time at
        // the client, and the interpolation stays inside the bucket (at most 2.5× its lower bound).
        let p99InFlashd = try #require(success["flashd_p99_ms"] as? Double, "flashd_p99_ms in \(success)")
        #expect(p99InFlashd > 0 && p99InFlashd <= 2.5 * (success["max_ms"] as? Double ?? 0), "\(success)")

        let soldout = try bench(flashd, "--scenario", "soldout", "--no-ceilings")
        #expect(soldout["success"] as? Int == 0 && (soldout["soldout"] as? Int ?? 0) > 0 && soldout["errors"] as? Int == 0)

        // Before its opening time a sale refuses at once, as a sold-out one does.
        let notOpen = try bench(flashd, "--scenario", "notopen", "--no-ceilings")
        #expect(notOpen["success"] as? Int == 0 && (notOpen["soldout"] as? Int ?? 0) > 0 && notOpen["errors"] as? Int == 0)

        let sale = try bench(flashd, "--scenario", "sale", "--stock", "50", "--no-ceilings")
        #expect(sale["success"] as? Int == 50, "exactly the stock sells: \(sale)")
        #expect((sale["soldout"] as? Int ?? 0) > 0 && sale["oversold"] as? Bool == false)
        #expect(sale["audit_consistent"] as? Bool == true && sale["audit_settled"] as? Bool == true)
        #expect(try flashd.settled())
    }

    /// Paced: the client wakes for each due send instead of sending as answers come, so the
    /// count is about the rate times the duration, far below what 8 connections do unpaced.
    /// The bounds leave room for a stalled machine near the deadline (a send due after it is
    /// not made) and for the wait for the last answers.
    @Test func aPacedRunSendsAtTheRate() throws {
        let redis = try RedisServer()
        let flashd = try FlashdProcess(redis: redis)
        let r = try bench(flashd, "--scenario", "success", "--no-ceilings", "--rate", "400", "--duration", "2")
        let requests = try #require(r["requests"] as? Int, "\(r)")
        #expect((600...808).contains(requests), "400/s for 2 s over 8 connections: \(r)")
        #expect(r["errors"] as? Int == 0 && r["success"] as? Int == requests, "\(r)")
        #expect(abs((r["success_per_s"] as? Double ?? 0) - 400) < 100, "\(r)")
        #expect(r["audit_consistent"] as? Bool == true)
    }

    /// Holds off against on in one run: both rates measured, their ratio reported, every order
    /// of the held sale held (an hour), the audit consistent.
    @Test func theHoldsScenarioReportsTheRatioOfOneRun() throws {
        let redis = try RedisServer()
        let flashd = try FlashdProcess(redis: redis)
        let r = try flashd.ctl("--json", "bench", "--scenario", "holds", "--duration", "1", "--connections", "8", "--quiet")
        #expect(r.status == 0, "\(r)")
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], "\(r)")
        let off = try #require(obj["holds_off_per_s"] as? Double)
        let on = try #require(obj["holds_on_per_s"] as? Double)
        let ratio = try #require(obj["ratio"] as? Double)
        #expect(off > 0 && on > 0 && abs(ratio - on / off) < 0.01, "\(obj)")
        #expect(obj["errors"] as? Int == 0 && obj["audit_consistent"] as? Bool == true)
        let held = try flashd.sql("SELECT COUNT(*) FROM txns WHERE item LIKE 'bench-holds-on-%' AND hold = 'held'")
        let all = try flashd.sql("SELECT COUNT(*) FROM txns WHERE item LIKE 'bench-holds-on-%' AND state = 'succeeded'")
        #expect(Int(held) ?? 0 > 0 && held == all)
        #expect(try flashd.sql("SELECT COUNT(*) FROM txns WHERE item LIKE 'bench-holds-off-%' AND hold IS NOT NULL") == "0")
    }

    @Test func badOptionsAreUsageErrors() throws {
        let redis = try RedisServer()
        let flashd = try FlashdProcess(redis: redis)
        #expect(try flashd.ctl("bench", "--connections", "0").status == 64)
        #expect(try flashd.ctl("bench", "--scenario", "nope").status == 64)
        #expect(try flashd.ctl("bench", "--abandon", "later").status == 64)
    }
}
