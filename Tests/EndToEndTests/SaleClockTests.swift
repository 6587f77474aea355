import Foundation
import TestSupport
import Testing

/// The sale's clock: a sale opens and closes on Redis' clock and can be paused; before, after
/// and meanwhile a purchase is refused at once, with no Redis script and no journal row, by
/// every node, including one whose own clock is an hour off.
@Suite(.serialized) struct SaleClockTests {
    /// Calls of the purchase script Redis has run (EVALSHA), to show a refusal cost none.
    func scriptCalls(_ redis: RedisServer) throws -> Int {
        let stats = try redis.cli("INFO", "commandstats")
        guard let line = stats.split(separator: "\n").first(where: { $0.hasPrefix("cmdstat_evalsha:") }),
              let calls = line.split(separator: "=").dropFirst().first?.split(separator: ",").first else { return 0 }
        return Int(calls) ?? 0
    }

    func buy(_ node: FlashdProcess, _ user: String, _ request: String, item: String = "sku") throws -> (status: Int, body: [String: Any]) {
        try node.request("POST", "/v1/purchases", json: #"{"item":"\#(item)","user":"\#(user)","request_id":"\#(request)"}"#)
    }

    func waitForFastPath(_ node: FlashdProcess) throws {
        try Wait.until(timeout: 10, "the fast path open") {
            try node.counter("sold_out_gate_open") == 1
        }
    }

    @Test func aSaleOpensAndClosesOnTimeAndRefusesAtOnceOutsideItsHours() throws {
        let redis = try RedisServer()
        let node = try FlashdProcess(redis: redis)
        try waitForFastPath(node)
        let created = try node.ctl("--json", "sale", "create", "sku", "--stock", "5", "--opens-at", "+3s", "--closes-at", "+7s")
        let sale = try JSONSerialization.jsonObject(with: Data(created.stdout.utf8)) as? [String: Any]
        #expect(created.status == 0 && sale?["state"] as? String == "scheduled" && sale?["opens_at"] is String, "\(created)")

        // Before opening: 409 not_open with the opening time, and no script, no journal row.
        let scripts = try scriptCalls(redis)
        for i in 0..<20 {
            let r = try buy(node, "early\(i)", "r\(i)")
            #expect(r.status == 409 && r.body["error"] as? String == "not_open" && r.body["opens_at"] as? String == sale?["opens_at"] as? String,
                    "\(r)")
        }
        #expect(try scriptCalls(redis) == scripts)
        #expect(try node.sql("SELECT COUNT(*) FROM txns") == "0")
        let cli = try node.ctl("buy", "sku", "--user", "early0")
        #expect(cli.status == 5 && cli.stderr.contains("not_open") && cli.stderr.contains("opens at"), "\(cli)")

        // Open: it sells.
        var ordered: (user: String, request: String)?
        try Wait.until(timeout: 15, "the sale open") {
            // A fresh request id each time, so the one that buys is known (a refused one could
            // be tried again: a clock refusal binds nothing).
            let request = "open-\(UUID().uuidString.prefix(8))"
            let r = try buy(node, "buyer", request)
            if r.status == 201 { ordered = ("buyer", request) }
            return r.status == 201
        }
        #expect(try node.request("GET", "/v1/sales/sku").body["state"] as? String == "open")

        // Closed: refused again at once; the order made while open is still its buyer's.
        try Wait.until(timeout: 15, "the sale closed") {
            try buy(node, "late", "late-\(UUID().uuidString.prefix(8))").body["error"] as? String == "closed"
        }
        let afterClose = try scriptCalls(redis)
        for i in 0..<10 { #expect(try buy(node, "late\(i)", "l\(i)").body["error"] as? String == "closed") }
        #expect(try scriptCalls(redis) == afterClose)
        let retry = try buy(node, ordered!.user, ordered!.request)
        #expect(retry.status == 201 && retry.body["replayed"] as? Bool == true, "\(retry)")
        #expect(try node.request("GET", "/v1/sales/sku").body["state"] as? String == "closed")
        try Wait.until(timeout: 10, "a consistent audit") { try node.settled() }
    }

    @Test func everyNodeFollowsRedisClockAndAPauseWithinTheBound() throws {
        let redis = try RedisServer()
        let a = try FlashdProcess(redis: redis, extraArgs: ["--node-id", "a"])
        // Node b's own clock is an hour fast: by it the sale would be open long before it is.
        let b = try FlashdProcess(redis: redis, extraArgs: ["--node-id", "b"], environment: ["FLASHD_TEST_CLOCK_SKEW_MS": "3600000"])
        try waitForFastPath(a)
        try waitForFastPath(b)
        #expect(try a.ctl("sale", "create", "sku", "--stock", "10", "--limit-per-user", "5", "--opens-at", "+4s").status == 0)
        // At once, b refuses it: from the script (Redis' TIME) if b has not read the clock yet.
        #expect(try buy(b, "u", "b-first").body["error"] as? String == "not_open")
        #expect(try b.sql("SELECT COUNT(*) FROM txns WHERE request_id = 'b-first'") == "0", "a clock refusal leaves no row")
        // Once b's refresh read the sale's clock, b judges it on Redis' time itself: not open,
        // answered at once with no journal row, though b's own clock says an hour has passed.
        usleep(600_000)
        let rows = try b.sql("SELECT COUNT(*) FROM txns")
        for i in 0..<10 { #expect(try buy(b, "u\(i)", "b-early-\(i)").body["error"] as? String == "not_open") }
        #expect(try b.sql("SELECT COUNT(*) FROM txns") == rows)
        try Wait.until(timeout: 15, "b selling once the sale opens") { try buy(b, "u", "b-open-\(UUID().uuidString.prefix(8))").status == 201 }
        // The request refused before the opening binds nothing: it buys now.
        #expect(try buy(b, "u", "b-first").status == 201)

        // A pause on a reaches b within the refresh interval (200 ms) plus a round trip.
        #expect(try a.ctl("sale", "pause", "sku").status == 0)
        let paused = Date()
        try Wait.until(timeout: 5, "b refusing: paused") { try buy(b, "v", "p-\(UUID().uuidString.prefix(8))").body["error"] as? String == "paused" }
        let took = Date().timeIntervalSince(paused)
        #expect(took < 2, "b saw the pause after \(took) s")
        #expect(try buy(a, "w", "a-paused").body["error"] as? String == "paused")
        #expect(try a.ctl("sale", "resume", "sku").status == 0)
        try Wait.until(timeout: 5, "b selling again") { try buy(b, "x", "b-resumed-\(UUID().uuidString.prefix(8))").status == 201 }
        // Summed over both nodes (each journals its own orders): 3 orders, 3 units taken.
        try Wait.until(timeout: 10, "a consistent audit over both nodes") { try a.ctl("--socket", b.socketPath, "audit").status == 0 }
        #expect(try Int(a.sql("SELECT COUNT(*) FROM orders"))! + Int(b.sql("SELECT COUNT(*) FROM orders"))! == 3)
        #expect(try a.redisTaken("sku") == 3)
    }

    @Test func aClockThatCantSellIsRefused() throws {
        let redis = try RedisServer()
        let node = try FlashdProcess(redis: redis)
        let bad = try node.ctl("sale", "create", "sku", "--stock", "1", "--opens-at", "tomorrow")
        #expect(bad.status == 1 && bad.stderr.contains("opens_at must be RFC 3339"), "\(bad)")
        let backwards = try node.request("POST", "/v1/sales", json: #"{"item":"sku","stock":1,"opens_at":"+1h","closes_at":"+1m"}"#)
        #expect(backwards.status == 400 && backwards.body["field"] as? String == "closes_at", "\(backwards)")
        let past = try node.request("POST", "/v1/sales", json: #"{"item":"sku","stock":1,"closes_at":"2020-01-01T00:00:00Z"}"#)
        #expect(past.status == 400 && (past.body["message"] as? String)?.contains("in the past") == true, "\(past)")
        #expect(try node.ctl("sale", "pause", "none").status == 1)
        // An RFC 3339 time with an offset is the same instant in UTC.
        let exact = try node.request("POST", "/v1/sales", json: #"{"item":"sku","stock":1,"opens_at":"2030-01-01T08:00:00+08:00"}"#)
        #expect(exact.status == 201 && exact.body["opens_at"] as? String == "2030-01-01T00:00:00Z", "\(exact)")
    }
}
