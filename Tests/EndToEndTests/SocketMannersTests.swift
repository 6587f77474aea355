import Foundation
import Testing
import TestSupport

/// What a socket server owes its clients and its neighbours (issue 14, "also close").
@Suite(.serialized) struct SocketMannersTests {
    /// A client that half-closes after a whole request (`nc -N`, socat) gets its answer, for a
    /// purchase answered later by the engine as for a ping answered at once; the connection
    /// closes after it. It used to be dropped with no answer.
    @Test func aHalfClosingClientGetsItsAnswer() throws {
        let redis = try RedisServer()
        let node = try FlashdProcess(redis: redis)
        try node.createSale("sku", stock: 5)
        for (request, status) in [
            ("GET /v1/ping HTTP/1.1\r\nHost: x\r\n\r\n", "200"),
            ("POST /v1/purchases HTTP/1.1\r\nHost: x\r\nContent-Length: 35\r\n\r\n{\"item\":\"sku\",\"user\":\"half-closer\"}", "201"),
        ] {
            let c = try RawConnection(node.socketPath)
            #expect(c.send(request))
            shutdown(c.fd, Int32(SHUT_WR))
            let answer = c.readAll()
            #expect(answer.hasPrefix("HTTP/1.1 \(status)"), "\(answer)")
        }
        #expect(try node.sql("SELECT COUNT(*) FROM orders WHERE user = 'half-closer'") == "1")
    }

    /// A second daemon given a socket that a live one serves is refused before it touches
    /// anything; it used to unlink the first one's socket and take the path over silently.
    @Test func aSecondDaemonOnALiveSocketIsRefused() throws {
        let redis = try RedisServer()
        let first = try FlashdProcess(redis: redis)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: FlashdProcess.binDir + "/flashd")
        p.arguments = ["--socket", first.socketPath, "--redis", redis.endpoint, "--redis-prefix", "e2e:",
                       "--state-dir", first.dir + "/other-state", "--node-id", "other", "--config", first.configPath]
        let errors = Pipe()
        p.standardError = errors
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        // Refused at once; a second daemon that took the socket over would run on: stop it.
        let refused = (try? Wait.until(timeout: 10, "the second daemon to exit") { !p.isRunning }) != nil
        if !refused {
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
        }
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(refused && p.terminationStatus != 0 && stderr.contains("answers on \(first.socketPath)"), "\(stderr)")
        #expect(try first.request("GET", "/v1/ping").status == 200)
        // A socket file nobody serves (a killed daemon's) is taken over as before.
        first.kill9()
        try first.start()
        #expect(try first.request("GET", "/v1/ping").status == 200)
    }
}
