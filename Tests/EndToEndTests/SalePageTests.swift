import Foundation
import Testing
import TestSupport

/// The live sale page (GET /) in a real headless Chromium (`scripts/page-watch.py`, over the
/// DevTools pipe): it loads from the TCP listener, shows the sale, updates itself after a
/// purchase made behind its back (stock, rates, the order in the recent list), and finds an
/// order through its lookup.
@Suite(.serialized) struct SalePageTests {
    static var script: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/page-watch.py").path
    }

    @Test func thePageShowsTheSaleAndUpdatesItselfAfterAPurchase() throws {
        let redis = try RedisServer()
        let port = 20000 + Int.random(in: 0..<20000)
        let flashd = try FlashdProcess(redis: redis, extraArgs: ["--metrics-listen", "127.0.0.1:\(port)"])
        try flashd.createSale("sku", stock: 5)
        let buy = "'\(FlashdProcess.binDir)/flashsalectl' --socket '\(flashd.socketPath)' buy sku --user alice --request-id r1"
        let watched = try Shell.runStatus(try Executables.find("python3"),
                                          [Self.script, "--lookup-newest", "http://127.0.0.1:\(port)/", "5 of 5", buy, "4 of 5", "alice"])
        #expect(watched.status == 0, "\(watched.stderr)")
        let order = try flashd.sql("SELECT order_id FROM orders")
        #expect(watched.stdout.contains("node test") && watched.stdout.contains("redis ok"), "\(watched.stdout)")
        #expect(watched.stdout.contains(#""order_id": "\#(order)""#), "the lookup shows the order: \(watched.stdout)")
        #expect(watched.stdout.contains("latency p50"))

        // The same page on the socket, as the operator's own curl gets it.
        let page = try flashd.client().send("GET", "/")
        #expect(page.status == 200 && page.header("Content-Type") == "text/html; charset=utf-8")
        #expect(String(decoding: page.body, as: UTF8.self).contains("<title>flashd: live sale</title>"))
    }
}
