import Control
import Foundation
import Synchronization
import Testing
import TestSupport

/// flashsalectl as a terminal user and a script meet it, and idempotent retries (G5).
@Suite(.serialized) struct ControlTests {
    @Test func buyExitCodesAreDistinct() throws {
        let redis = try RedisServer()
        let flashd = try FlashdProcess(redis: redis)
        #expect(try flashd.ctl("sale", "create", "sku", "--stock", "2").status == 0)
        let ok = try flashd.ctl("buy", "sku", "--user", "alice", "--request-id", "r1")
        #expect(ok.status == 0 && ok.stdout.hasPrefix("ordered sku for alice"))
        let replay = try flashd.ctl("buy", "sku", "--user", "alice", "--request-id", "r1")
        #expect(replay.status == 0 && replay.stdout.contains("replayed"))
        #expect(try flashd.ctl("buy", "sku", "--user", "alice", "--request-id", "r2").status == 4)  // limit
        #expect(try flashd.ctl("buy", "sku", "--user", "carol").status == 0)  // the last unit
        #expect(try flashd.ctl("buy", "sku", "--user", "bob").status == 3)  // sold out
        #expect(try flashd.ctl("buy", "nope", "--user", "bob").status == 1)  // unknown sale
        #expect(try flashd.ctl("buy", "sku", "--user", "bad user").status == 1)
        #expect(try flashd.ctl("buy", "sku").status == 64)  // usage: --user missing
        #expect(try flashd.ctl("audit").status == 0)
        #expect(try flashd.ctl("sale", "restock", "sku", "--add", "2").status == 0)
        #expect(try flashd.ctl("buy", "sku", "--user", "bob").status == 0)
    }

    @Test func jsonOutputIsOneObjectForScripts() throws {
        let redis = try RedisServer()
        let flashd = try FlashdProcess(redis: redis)
        for args in [["sale", "create", "sku", "--stock", "3", "--limit-per-user", "2"], ["buy", "sku", "--user", "u1"],
                     ["sale", "show", "sku"], ["status"], ["orders"], ["txns", "--state", "succeeded"], ["audit"],
                     ["sale", "list"], ["buy", "nope", "--user", "u"]] {
            let r = try flashd.ctl(["--json"] + args)
            let obj = try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
            #expect(obj != nil, "\(args): \(r.stdout) \(r.stderr)")
        }
        let show = try flashd.ctl("--json", "sale", "show", "sku")
        let sale = try #require(try JSONSerialization.jsonObject(with: Data(show.stdout.utf8)) as? [String: Any])
        #expect(sale["stock_remaining"] as? Int == 2 && sale["orders"] as? Int == 1 && sale["limit_per_user"] as? Int == 2)
        let err = try flashd.ctl("--json", "buy", "nope", "--user", "u")
        #expect(err.stdout.contains("\"error\":\"unknown_sale\""))
        // A usage error under --json is JSON too, with exit 64; without --json, prose only.
        for args in [["buy", "sku"], ["sale", "create", "sku", "--hold", "soon"], ["orders", "--request-id", "r1"], ["nonsense"]] {
            let usage = try flashd.ctl(["--json"] + args)
            let obj = try? JSONSerialization.jsonObject(with: Data(usage.stdout.utf8)) as? [String: Any]
            #expect(usage.status == 64 && obj?["error"] as? String == "usage" && (obj?["message"] as? String ?? "").count > 5,
                    "\(args): \(usage)")
        }
        let prose = try flashd.ctl("buy", "sku")
        #expect(prose.status == 64 && prose.stdout.isEmpty && prose.stderr.contains("--user"), "\(prose)")
        #expect(try flashd.ctl("--json", "--help").status == 0)
    }

    @Test func daemonNotRunningIsOneLineNamingTheSocket() throws {
        let dir = try TempDir.make(prefix: "nc")
        let r = try Shell.runStatus(FlashdProcess.binDir + "/flashsalectl", ["--socket", dir + "/none.sock", "status"])
        #expect(r.status == 69)
        #expect(r.stdout.isEmpty)
        #expect(r.stderr == "flashsalectl: flashd is not running (nothing listens on \(dir)/none.sock)\n")
        let env = ProcessInfo.processInfo.environment.merging(["FLASHD_SOCKET": dir + "/env.sock"]) { $1 }
        let viaEnv = try Shell.runStatus(FlashdProcess.binDir + "/flashsalectl", ["buy", "x", "--user", "u"], environment: env)
        #expect(viaEnv.status == 69 && viaEnv.stderr.contains("env.sock"))
    }

    @Test func concurrentAndRepeatedRetriesMakeOneOrder() throws {
        let redis = try RedisServer()
        let flashd = try FlashdProcess(redis: redis)
        try flashd.createSale("sku", stock: 100, limit: 5)
        let ids = Mutex<[String]>([])
        let body = #"{"item":"sku","user":"alice","request_id":"same"}"#
        DispatchQueue.concurrentPerform(iterations: 16) { _ in
            if let r = try? flashd.request("POST", "/v1/purchases", json: body), r.status == 201 {
                ids.withLock { $0.append(r.body["order_id"] as? String ?? "") }
            }
        }
        for _ in 0..<5 {
            let r = try flashd.request("POST", "/v1/purchases", json: body)
            #expect(r.status == 201 && r.body["replayed"] as? Bool == true)
            ids.withLock { $0.append(r.body["order_id"] as? String ?? "") }
        }
        let all = ids.withLock { $0 }
        #expect(all.count == 21)
        #expect(Set(all).count == 1)
        #expect(try flashd.sql("SELECT COUNT(*) FROM orders") == "1")
        #expect(try flashd.redisTaken("sku") == 1)
        #expect(try flashd.sql("SELECT COUNT(*) FROM txns") == "1")
    }

    @Test func resetIsRefusedWhilePendingAndStartsANewRound() throws {
        let redis = try RedisServer()
        let flashd = try FlashdProcess(redis: redis, checkDelay: 30)
        try flashd.createSale("sku", stock: 2)
        _ = try flashd.ctl("buy", "sku", "--user", "a", "--crash-after", "after-stock")
        let refused = try flashd.ctl("sale", "reset", "sku", "--stock", "5")
        #expect(refused.status == 1 && refused.stderr.contains("sale_pending"))
        // Settle it (a retry would; here a restart does, through recovery).
        flashd.kill9()
        try flashd.start()
        let reset = try flashd.ctl("--json", "sale", "reset", "sku", "--stock", "5")
        #expect(reset.status == 0)
        let sale = try #require(try JSONSerialization.jsonObject(with: Data(reset.stdout.utf8)) as? [String: Any])
        #expect(sale["round"] as? Int == 2 && sale["stock_remaining"] as? Int == 5 && sale["orders"] as? Int == 0)
        // The first round's order is kept: acknowledged orders are never deleted.
        #expect(try flashd.sql("SELECT COUNT(*) FROM orders") == "1")
        #expect(try flashd.ctl("buy", "sku", "--user", "a").status == 0)  // per-user count is per round
        #expect(try flashd.ctl("audit").status == 0)
    }

    @Test func sigtermStopsCleanly() throws {
        let redis = try RedisServer()
        let flashd = try FlashdProcess(redis: redis)
        try flashd.createSale("sku", stock: 2)
        #expect(try flashd.terminate() == 0)
        #expect(flashd.log().contains("flashd stopped"))
    }

    /// SIGTERM drains: a purchase in flight keeps its place, a new one gets 503 shutting_down.
    @Test func drainRefusesNewPurchasesWith503() throws {
        let redis = try RedisServer()
        let flashd = try FlashdProcess(redis: redis)
        try flashd.createSale("sku", stock: 5)
        // Hang the journal so a purchase stays in flight while the drain runs.
        #expect(try flashd.request("POST", "/v1/debug/wedge").status == 202)
        let socket = flashd.socketPath
        Thread.detachNewThread {
            _ = try? ControlClient(socketPath: socket, timeoutSeconds: 15)
                .send("POST", "/v1/purchases", body: Array(#"{"item":"sku","user":"inflight"}"#.utf8))
        }
        Thread.sleep(forTimeInterval: 0.3)
        kill(flashd.pid, SIGTERM)
        try Wait.until(timeout: 5, "the drain to start") { flashd.log().contains("stopping: draining") }
        let r = try flashd.request("POST", "/v1/purchases", json: #"{"item":"sku","user":"late"}"#)
        #expect(r.status == 503)
        #expect(r.body["error"] as? String == "shutting_down")
        flashd.kill9()  // the wedged journal would hold the exit for the rest of the drain
    }
}
