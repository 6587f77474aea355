import Control
import Foundation
import Testing
import TestSupport

/// The systemd protocol without a booted systemd: a datagram socket stands in for NOTIFY_SOCKET,
/// and systemd-socket-activate passes a listening socket the way flashd.socket does.
@Suite(.serialized) struct SystemdProtocolTests {
    @Test func notifiesReadyStatusWatchdogReloadAndStopping() throws {
        let redis = try RedisServer()
        let dir = try TempDir.make(prefix: "sd")
        let notify = try NotifySocket(dir: dir)
        let flashd = try FlashdProcess(redis: redis, checkDelay: 3, dir: dir, environment: [
            "NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "1000000",
        ])
        // READY only after recovery, with the STATUS summary.
        let ready = try notify.waitFor(["READY=1", "STATUS=serving: 0 sales, 0 orders, 0 pending, redis ok"])
        let recovering = try notify.waitFor(["STATUS=recovering prepared transactions"])
        #expect(recovering < ready)
        _ = try notify.waitFor(["WATCHDOG=1"], from: ready)

        // STATUS follows the counters.
        try flashd.createSale("sku", stock: 10)
        #expect(try flashd.request("POST", "/v1/purchases", json: #"{"item":"sku","user":"u"}"#).status == 201)
        _ = try notify.waitFor(["STATUS=serving: 1 sales, 1 orders, 0 pending, redis ok"], from: ready)

        // SIGHUP: RELOADING=1 with MONOTONIC_USEC, then READY=1 again; the new log level applies.
        try "log-level = debug\n".write(toFile: flashd.configPath, atomically: true, encoding: .utf8)
        let before = notify.all.count
        kill(flashd.pid, SIGHUP)
        let reloading = try notify.waitFor(["RELOADING=1", "MONOTONIC_USEC=*"], from: before)
        _ = try notify.waitFor(["READY=1"], from: reloading + 1)
        #expect(try flashd.request("POST", "/v1/purchases", json: #"{"item":"sku","user":"v"}"#).status == 201)
        try Wait.until(timeout: 5, "a debug-level purchase line after the reload") { flashd.log().contains("order committed") }

        // SIGTERM: STOPPING=1, then a clean exit.
        let beforeStop = notify.all.count
        #expect(try flashd.terminate() == 0)
        _ = try notify.waitFor(["STOPPING=1"], from: beforeStop)
    }

    @Test func wedgedJournalStopsTheWatchdogPings() throws {
        let redis = try RedisServer()
        let dir = try TempDir.make(prefix: "sw")
        let notify = try NotifySocket(dir: dir)
        let flashd = try FlashdProcess(redis: redis, dir: dir, environment: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "1000000"])
        let ready = try notify.waitFor(["READY=1"])
        _ = try notify.waitFor(["WATCHDOG=1"], from: ready)
        let r = try flashd.request("POST", "/v1/debug/wedge")
        #expect(r.status == 202)
        _ = try notify.waitFor(["STATUS=unhealthy: event loop or journal not answering"], from: ready)
        // Once unhealthy, no more pings: systemd's WatchdogSec would now kill and restart us.
        let cut = notify.all.count
        Thread.sleep(forTimeInterval: 2)
        #expect(!notify.all[cut...].contains { $0.contains("WATCHDOG=1") })
        flashd.kill9()
    }

    @Test func wedgeIsForbiddenWithoutFaultInjection() throws {
        let redis = try RedisServer()
        let flashd = try FlashdProcess(redis: redis, faultInjection: false)
        #expect(try flashd.request("POST", "/v1/debug/wedge").status == 403)
    }

    /// flashd.socket's case: the listening socket comes from systemd (LISTEN_FDS), not from flashd.
    @Test func adoptsTheSocketSystemdPasses() throws {
        let redis = try RedisServer()
        let dir = try TempDir.make(prefix: "sa")
        let socket = dir + "/f.sock"
        let flashd = try FlashdProcess(redis: redis, dir: dir, launcher: [try Executables.find("systemd-socket-activate"), "-l", socket])
        try flashd.createSale("sku", stock: 5)
        #expect(flashd.log().contains("serving the socket systemd passed"))
        // Here the launcher owns the socket and dies with flashd; under systemd, flashd.socket
        // keeps it open across restarts. That half is checked by the booted-systemd system test.
        #expect(try flashd.request("POST", "/v1/purchases", json: #"{"item":"sku","user":"u"}"#).status == 201)
    }

    @Test func metricsAreExposedOnTheSocketAndOptionallyOverTCP() throws {
        let redis = try RedisServer()
        let port = 20000 + Int.random(in: 0..<20000)
        let flashd = try FlashdProcess(redis: redis, extraArgs: ["--metrics-listen", "127.0.0.1:\(port)"])
        try flashd.createSale("sku", stock: 1)
        #expect(try flashd.request("POST", "/v1/purchases", json: #"{"item":"sku","user":"a"}"#).status == 201)
        #expect(try flashd.request("POST", "/v1/purchases", json: #"{"item":"sku","user":"b"}"#).status == 409)
        // Per sale, refreshed in the background: the stock from Redis, the orders from the journal.
        try Wait.until(timeout: 5, "the per-sale gauges") {
            let t = String(decoding: try flashd.client().send("GET", "/metrics").body, as: UTF8.self)
            return t.contains(#"flashd_sale_stock_remaining{item="sku"} 0"#) && t.contains(#"flashd_sale_stock_total{item="sku"} 1"#)
                && t.contains(#"flashd_sale_orders{item="sku"} 1"#) && t.contains(#"flashd_sale_pending{item="sku"} 0"#)
        }
        let r = try flashd.client().send("GET", "/metrics")
        #expect(r.status == 200)
        #expect(r.header("Content-Type")?.hasPrefix("text/plain") == true)
        let text = String(decoding: r.body, as: UTF8.self)
        for line in [#"flashd_purchases_total{outcome="ordered"} 1"#, #"flashd_purchases_total{outcome="sold_out"} 1"#,
                     "flashd_sold_out_items 1", "flashd_pending_transactions 0"] {
            #expect(text.contains(line), "missing \(line) in\n\(text)")
        }
        // Buckets where purchases fall (a few ms), so a p99 computed from them means something.
        for series in [#"flashd_purchase_duration_seconds_bucket{le="0.001"} "#,
                       #"flashd_purchase_step_seconds_bucket{step="journal_prepare",le="0.002"} "#] {
            #expect(text.contains(series), "missing \(series)")
        }
        // Which build runs, and what each metric means: every TYPE line has its HELP line.
        #expect(text.contains(#"flashd_build_info{version=""#) && text.contains("# HELP flashd_purchases_total "))
        let lines = text.split(separator: "\n")
        for (i, line) in lines.enumerated() where line.hasPrefix("# TYPE flashd_") {
            let name = line.dropFirst(7).split(separator: " ")[0]
            #expect(i > 0 && lines[i - 1].hasPrefix("# HELP \(name) "), "no HELP for \(name)")
        }
        let curl = try Shell.runStatus(try Executables.find("curl"), ["-s", "http://127.0.0.1:\(port)/metrics"])
        #expect(curl.stdout.contains("flashd_purchases_total"))
        // Over TCP, the metrics and the live sale page's read-only answers; nothing that changes
        // anything, no transactions (the socket's access control guards those).
        func code(_ args: [String]) throws -> String {
            try Shell.runStatus(try Executables.find("curl"), ["-s", "-o", "/dev/null", "-w", "%{http_code}"] + args).stdout
        }
        #expect(try code(["http://127.0.0.1:\(port)/v1/status"]) == "200")
        #expect(try code(["http://127.0.0.1:\(port)/"]) == "200")
        #expect(try code(["http://127.0.0.1:\(port)/v1/txns"]) == "404")
        #expect(try code(["-X", "POST", "-d", #"{"item":"sku","user":"c"}"#, "http://127.0.0.1:\(port)/v1/purchases"]) == "404")
        #expect(try code(["-X", "POST", "-d", #"{"add":5}"#, "http://127.0.0.1:\(port)/v1/sales/sku/restock"]) == "404")
    }
}
