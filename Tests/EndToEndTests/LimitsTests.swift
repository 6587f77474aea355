import Control
import Foundation
import Testing
import TestSupport

/// Hostile and greedy clients: slow ones are cut off, idle ones closed, bursts past capacity
/// answered 503 at once, oversized headers refused; the daemon stays up for everyone else.
@Suite(.serialized) struct LimitsTests {
    @Test func slowClientIsCutOffWhileOthersAreServed() throws {
        let redis = try RedisServer()
        let flashd = try FlashdProcess(redis: redis, extraArgs: ["--request-timeout", "1"])
        let slow = try RawConnection(flashd.socketPath)
        let started = Date()
        #expect(slow.send("POST /v1/purchases HTTP/1.1\r\nHost: x\r\n"))
        var stillOpen = true
        for i in 0..<30 {  // one header line every 200 ms: never a complete request
            usleep(200_000)
            if i == 2 { #expect(try flashd.request("GET", "/v1/status").status == 200) }
            if !slow.send("X-Slow-\(i): y\r\n") {
                stillOpen = false
                break
            }
        }
        #expect(!stillOpen, "a trickling client kept its connection for 6 s")
        #expect(Date().timeIntervalSince(started) < 3)
        #expect(flashd.isRunning)
    }

    @Test func idleConnectionIsClosed() throws {
        let redis = try RedisServer()
        let flashd = try FlashdProcess(redis: redis, extraArgs: ["--idle-timeout", "1"])
        let idle = try RawConnection(flashd.socketPath, receiveTimeout: 4)
        let started = Date()
        #expect(idle.isClosedByPeer())
        let waited = Date().timeIntervalSince(started)
        #expect(waited > 0.5 && waited < 3, "closed after \(waited) s")
        // A kept-alive client re-dials transparently for its next GET.
        let client = flashd.client()
        #expect(try client.send("GET", "/v1/status").status == 200)
        Thread.sleep(forTimeInterval: 1.5)
        #expect(try client.send("GET", "/v1/status").status == 200)
    }

    @Test func connectionsPastTheLimitGetA503() throws {
        let redis = try RedisServer()
        let flashd = try FlashdProcess(redis: redis, extraArgs: ["--max-connections", "3"])
        // The readiness probe's connection may still be closing: wait until a slot is surely free.
        Thread.sleep(forTimeInterval: 0.3)
        let held = try (0..<3).map { _ in try RawConnection(flashd.socketPath) }
        #expect(held.count == 3)
        Thread.sleep(forTimeInterval: 0.2)
        let extra = try RawConnection(flashd.socketPath)
        let answer = extra.readAll()
        #expect(answer.hasPrefix("HTTP/1.1 503"), "got \(answer)")
        #expect(answer.contains("\"error\":\"overloaded\""))
        withExtendedLifetime(held) {}  // the three stay open until here
    }

    @Test func burstPastCapacityIsAnswered503AtOnce() throws {
        let redis = try RedisServer()
        let flashd = try FlashdProcess(redis: redis, extraArgs: ["--max-inflight", "2"])
        try flashd.createSale("sku", stock: 10)
        // Hang the journal: purchases now stay in progress.
        #expect(try flashd.request("POST", "/v1/debug/wedge").status == 202)
        let socket = flashd.socketPath
        for i in 0..<2 {
            Thread.detachNewThread {
                _ = try? ControlClient(socketPath: socket, timeoutSeconds: 3)
                    .send("POST", "/v1/purchases", body: Array(#"{"item":"sku","user":"u\#(i)"}"#.utf8))
            }
        }
        Thread.sleep(forTimeInterval: 0.5)
        let started = Date()
        let r = try flashd.request("POST", "/v1/purchases", json: #"{"item":"sku","user":"late"}"#)
        #expect(r.status == 503)
        #expect(r.body["error"] as? String == "overloaded")
        #expect(Date().timeIntervalSince(started) < 1)
        flashd.kill9()
    }

    @Test func oversizedHeaderIsRefused() throws {
        let redis = try RedisServer()
        let flashd = try FlashdProcess(redis: redis)
        let conn = try RawConnection(flashd.socketPath)
        conn.send("GET /v1/status HTTP/1.1\r\nHost: x\r\nX-Big: \(String(repeating: "a", count: 200_000))\r\n\r\n")
        let answer = conn.readAll()
        #expect(answer.hasPrefix("HTTP/1.1 4"), "got \(answer.prefix(100))")
        #expect(flashd.isRunning)
        #expect(try flashd.request("GET", "/v1/status").status == 200)
    }
}
