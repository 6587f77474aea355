import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The state directory on a small filesystem (a 16 MiB tmpfs), filled during a sale: purchases
/// get 503 journal_unavailable saying the disk is full, nothing acknowledged is lost, status
/// and systemd's STATUS= say why, and flashd sells again once space returns, without a restart.
/// At start-up a full disk is a clear error.
@Suite(.serialized) struct FullDiskTests {
    /// A tmpfs of `size` at a fresh directory, unmounted by the caller.
    static func smallFilesystem(_ size: String) throws -> String {
        let dir = try TempDir.make(prefix: "fs")
        let (status, _, out) = try Shell.runStatus(try Executables.find("mount"), ["-t", "tmpfs", "-o", "size=\(size)", "tmpfs", dir])
        guard status == 0 else { throw TestFailure("mount tmpfs at \(dir) (the test needs root): \(out)") }
        return dir
    }

    static func unmount(_ dir: String) {
        _ = try? Shell.runStatus(try Executables.find("umount"), ["-l", dir])
    }

    /// Fills the filesystem at `dir` to its last byte.
    static func fill(_ dir: String) {
        let fd = open(dir + "/filler", O_WRONLY | O_CREAT, 0o600)
        defer { close(fd) }
        let chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while chunk.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) > 0 {}
        // Then byte by byte, so not even a small write has room.
        var one: UInt8 = 0
        while write(fd, &one, 1) > 0 {}
    }

    @Test func aFullDiskIsA503ThatSaysSoAndSellingResumesWhenSpaceReturns() throws {
        let fs = try Self.smallFilesystem("16m")
        defer { Self.unmount(fs) }
        let redis = try RedisServer()
        let dir = try TempDir.make(prefix: "fd")
        let notify = try NotifySocket(dir: dir)
        // The watchdog on: it must keep pinging (a restart can't make room) while STATUS= says why.
        let node = try FlashdProcess(redis: redis, extraArgs: ["--state-dir", fs + "/state"], dir: dir,
                                     environment: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "1000000"])
        try node.createSale("sku", stock: 100_000, limit: 100_000)
        var acknowledged: [String] = []
        func buy(_ i: Int) throws -> (status: Int, body: [String: Any]) {
            let r = try node.request("POST", "/v1/purchases", json: #"{"item":"sku","user":"u","request_id":"r\#(i)"}"#)
            if r.status == 201, let id = r.body["order_id"] as? String { acknowledged.append(id) }
            return r
        }
        for i in 0..<50 { #expect(try buy(i).status == 201) }

        Self.fill(fs)
        var refused: (status: Int, body: [String: Any])?
        for i in 50..<5000 {
            let r = try buy(i)
            if r.status != 201 { refused = r; break }
        }
        let r = try #require(refused, "the disk filled but purchases went on")
        #expect(r.status == 503 && r.body["error"] as? String == "journal_unavailable", "\(r)")
        #expect((r.body["message"] as? String)?.contains("full") == true, "\(r)")
        // status and systemd's STATUS= line say why, while reads still answer.
        let status = try node.request("GET", "/v1/status").body
        let sqlite = status["sqlite"] as? [String: Any]
        #expect(sqlite?["ok"] as? Bool == false && (sqlite?["error"] as? String)?.contains("full") == true, "\(status)")
        let cli = try node.ctl("status")
        #expect(cli.status == 3 && cli.stdout.contains("sqlite FAILING") && cli.stdout.contains("full")
                && cli.stdout.contains("DEGRADED: journal failing"), "\(cli)")
        var failing = 0
        try Wait.until(timeout: 10, "STATUS= naming the full journal") {
            let all = notify.all
            guard let i = all.lastIndex(where: { $0.contains("STATUS=serving:") && $0.contains("journal failing") && $0.contains("full") })
            else { return false }
            failing = i
            return true
        }
        _ = try notify.waitFor(["WATCHDOG=1"], from: failing)

        // Space returns: it sells again, with no restart.
        try FileManager.default.removeItem(atPath: fs + "/filler")
        let pid = node.pid
        try Wait.until(timeout: 10, "selling again") { try buy(100_000 + acknowledged.count).status == 201 }
        #expect(node.pid == pid && node.isRunning)
        #expect(try node.request("GET", "/v1/status").body["sqlite"].flatMap { ($0 as? [String: Any])?["ok"] as? Bool } == true)
        #expect(try node.ctl("status").status == 0)

        // Nothing acknowledged is lost, also across a kill -9 and a restart.
        try Wait.until(timeout: 10, "a consistent audit") { try node.settled() }
        node.kill9()
        try node.start()
        for id in acknowledged { #expect(try node.request("GET", "/v1/orders/\(id)").status == 200, "\(id) lost") }
        try Wait.until(timeout: 10, "a consistent audit after the restart") { try node.settled() }
    }

    @Test func aFullDiskAtStartUpIsAClearError() throws {
        let fs = try Self.smallFilesystem("1m")
        defer { Self.unmount(fs) }
        let redis = try RedisServer()
        Self.fill(fs)
        do {
            let node = try FlashdProcess(redis: redis, extraArgs: ["--state-dir", fs + "/state"])
            node.kill9()
            Issue.record("flashd started on a full disk")
        } catch {
            #expect("\(error)".contains("No space left on device") || "\(error)".contains("full"), "\(error)")
        }
    }
}
