import Control
import Foundation
import Testing
import TestSupport

/// G6: faults are answered, not suffered. Redis down, hostile input: each gets its documented
/// error, the daemon stays up, and pending work resumes when the fault clears.
@Suite(.serialized) struct FaultAnswerTests {
    @Test func redisDownIsA503WithinOneSecondAndPendingWorkResumes() throws {
        let redis = try RedisServer(persistent: true)
        let flashd = try FlashdProcess(redis: redis, checkDelay: 2)
        try flashd.createSale("sku", stock: 5)
        // A purchase abandoned after its deduction: prepared, waiting for the timeout check.
        let crash = try flashd.request("POST", "/v1/purchases",
                                       json: #"{"item":"sku","user":"alice","request_id":"a","crash_after":"after-stock"}"#)
        #expect(crash.status == 500 && crash.body["error"] as? String == "fault_injected")
        redis.stop()

        let started = Date()
        let r = try flashd.client().send("POST", "/v1/purchases", body: Array(#"{"item":"sku","user":"bob"}"#.utf8))
        let elapsed = Date().timeIntervalSince(started)
        #expect(r.status == 503)
        #expect(r.header("Retry-After") == "1")
        #expect(elapsed < 1, "503 took \(elapsed) s")
        let body = try JSONSerialization.jsonObject(with: Data(r.body)) as? [String: Any]
        #expect(body?["error"] as? String == "redis_unavailable")

        // Alive, and says what is wrong.
        let status = try flashd.request("GET", "/v1/status")
        #expect(status.status == 200)
        #expect((status.body["redis"] as? [String: Any])?["ok"] as? Bool == false)

        // The timeout check fails against the dead Redis and backs off, visibly.
        try Wait.until(timeout: 6, "a failed back-check attempt to be recorded") {
            Int(try flashd.sql("SELECT attempts FROM txns WHERE user = 'alice'")) ?? 0 >= 1
        }
        let txns = try flashd.ctl("--json", "txns", "--state", "prepared")
        #expect(txns.stdout.contains("redis_unavailable"))
        #expect(try flashd.sql("SELECT COUNT(*) FROM orders") == "0")

        try redis.start()
        try Wait.until(timeout: 10, "the pending purchase to resolve after Redis returned") { try flashd.settled() }
        #expect(try flashd.sql("SELECT state FROM txns WHERE user = 'alice'") == "succeeded")
        #expect(try flashd.redisTaken("sku") == 1)
        // Bob's purchase may have been journaled before Redis was known to be down (the first
        // request finds out); if so it never reached Redis and was rolled back.
        let bob = try flashd.sql("SELECT state || ':' || IFNULL(reason, '') FROM txns WHERE user = 'bob'")
        #expect(bob == "" || bob == "failed:rolled_back")
        let again = try flashd.request("POST", "/v1/purchases", json: #"{"item":"sku","user":"bob"}"#)
        #expect(again.status == 201)
        #expect(flashd.isRunning)
    }

    @Test func hostileRequestsGetTheirDocumentedErrors() throws {
        let redis = try RedisServer()
        let flashd = try FlashdProcess(redis: redis)
        try flashd.createSale("sku", stock: 5)

        let cases: [(String, String, String?, Int, String)] = [
            ("POST", "/v1/purchases", "{not json", 400, "invalid_json"),
            ("POST", "/v1/purchases", "", 400, "invalid_json"),
            ("POST", "/v1/purchases", "[1,2]", 400, "invalid_json"),
            ("POST", "/v1/purchases", #"{"item":"sku"}"#, 400, "invalid_input"),
            ("POST", "/v1/purchases", #"{"item":"sku","user":42}"#, 400, "invalid_input"),
            ("POST", "/v1/purchases", #"{"item":"sku","user":"a b"}"#, 400, "invalid_input"),
            ("POST", "/v1/purchases", #"{"item":"sku","user":"x","request_id":"\u0000"}"#, 400, "invalid_input"),
            ("POST", "/v1/purchases", #"{"item":"nope","user":"alice"}"#, 404, "unknown_sale"),
            ("POST", "/v1/purchases", #"{"item":"sku","user":"alice","crash_after":"sometime"}"#, 400, "invalid_input"),
            ("POST", "/v1/sales", #"{"item":"x","stock":-1}"#, 400, "invalid_input"),
            ("POST", "/v1/sales", #"{"item":"sku","stock":1}"#, 409, "sale_exists"),
            ("GET", "/v1/purchases", nil, 405, "method_not_allowed"),
            ("DELETE", "/v1/sales/sku", nil, 405, "method_not_allowed"),
            ("GET", "/v1/nothing", nil, 404, "not_found"),
            ("GET", "/v1/sales/nope", nil, 404, "unknown_sale"),
            ("GET", "/v1/txns?state=weird", nil, 400, "invalid_input"),
            ("GET", "/v1/orders?limit=0", nil, 400, "invalid_input"),
        ]
        for (method, path, body, status, code) in cases {
            guard flashd.isRunning else {
                Issue.record("flashd died before \(method) \(path): \(flashd.log())")
                return
            }
            let r = try flashd.request(method, path, json: body)
            #expect(r.status == status, "\(method) \(path) \(body ?? "") → \(r)")
            #expect(r.body["error"] as? String == code, "\(method) \(path) \(body ?? "") → \(r)")
            #expect(r.body["message"] is String)
        }

        // 1 MiB body: 413, and the daemon goes on.
        let big = try flashd.client().send("POST", "/v1/purchases", body: [UInt8](repeating: UInt8(ascii: "a"), count: 1 << 20))
        #expect(big.status == 413)

        // Not HTTP at all.
        let raw = try RawConnection(flashd.socketPath)
        raw.send("\u{1}\u{2}GARBAGE\r\n\r\n")
        let garbage = raw.readAll()
        #expect(garbage.hasPrefix("HTTP/1.1 400"))

        #expect(flashd.isRunning)
        #expect(try flashd.request("GET", "/v1/status").status == 200)
        #expect(try flashd.request("POST", "/v1/purchases", json: #"{"item":"sku","user":"alice"}"#).status == 201)
        #expect(try flashd.settled())
    }

    /// dtmcli#1: an evicting Redis can delete barrier keys. flashd refuses to start on one,
    /// unless told otherwise.
    @Test func refusesARedisThatMayEvictBarriers() throws {
        let redis = try RedisServer(extraArgs: ["--maxmemory-policy", "allkeys-lru"])
        #expect(throws: TestFailure.self) { _ = try FlashdProcess(redis: redis) }
        let dir = try TempDir.make(prefix: "ev")
        let refused = try Shell.runStatus(FlashdProcess.binDir + "/flashd", [
            "--config", "/dev/null", "--socket", dir + "/f.sock", "--redis", redis.endpoint, "--state-dir", dir + "/s",
        ])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("maxmemory-policy is allkeys-lru"))
        let allowed = try FlashdProcess(redis: redis, extraArgs: ["--allow-evicting-redis"])
        #expect(allowed.isRunning)
    }

    @Test func faultInjectionIsForbiddenUnlessEnabled() throws {
        let redis = try RedisServer()
        let flashd = try FlashdProcess(redis: redis, faultInjection: false)
        try flashd.createSale("sku", stock: 5)
        let r = try flashd.request("POST", "/v1/purchases", json: #"{"item":"sku","user":"a","crash_after":"after-stock","crash_mode":"exit"}"#)
        #expect(r.status == 403 && r.body["error"] as? String == "fault_injection_disabled")
        #expect(flashd.isRunning)
        #expect(try flashd.sql("SELECT COUNT(*) FROM txns") == "0")
    }
}
