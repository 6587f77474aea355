import Control
import Foundation

/// The real flashd binary, started on a private socket and state directory against a
/// `RedisServer`, killed with SIGKILL or stopped with SIGTERM by the test.
public final class FlashdProcess: @unchecked Sendable {
    // @unchecked: `process` is touched by the owning test only, one call at a time.
    public let dir: String
    public let redis: RedisServer
    public let extraArgs: [String]
    public var socketPath: String { dir + "/f.sock" }
    public var journalPath: String { dir + "/state/flashd.db" }
    public var logPath: String { dir + "/flashd.log" }
    /// An empty config file, so a /etc/flashd/flashd.conf on the machine can't change the test.
    public var configPath: String { dir + "/flashd.conf" }
    private var process: Process?
    /// Seconds from spawn to the first answered ping, for the last start.
    public private(set) var lastStartSeconds: Double = 0

    /// Extra environment (NOTIFY_SOCKET, WATCHDOG_USEC, ...) and a launcher that execs flashd
    /// (`systemd-socket-activate -l PATH`).
    public let environment: [String: String]
    public let launcher: [String]

    public init(redis: RedisServer, checkDelay: Double = 1, faultInjection: Bool = true, extraArgs: [String] = [],
                dir: String? = nil, environment: [String: String] = [:], launcher: [String] = []) throws {
        self.dir = try dir ?? TempDir.make(prefix: "fd")
        self.redis = redis
        self.environment = environment
        self.launcher = launcher
        var args = ["--check-delay", String(checkDelay), "--node-id", "test"]
        if faultInjection { args.append("--enable-fault-injection") }
        self.extraArgs = args + extraArgs
        FileManager.default.createFile(atPath: configPath, contents: Data("# test\n".utf8))
        try start()
    }

    deinit {
        if let p = process, p.isRunning {
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
        }
    }

    public static var binDir: String {
        if let dir = ProcessInfo.processInfo.environment["FLASHD_BIN_DIR"] { return dir }
        // The test bundle sits beside the products it was built with.
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent().path
    }

    public func start() throws {
        let p = Process()
        let flashd = Self.binDir + "/flashd"
        p.executableURL = URL(fileURLWithPath: launcher.first ?? flashd)
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        p.arguments = Array(launcher.dropFirst()) + (launcher.isEmpty ? [] : [flashd]) + ["--socket", socketPath, "--redis", redis.endpoint, "--redis-prefix", "e2e:", "--state-dir", dir + "/state",
                       "--config", configPath] + extraArgs
        if !FileManager.default.fileExists(atPath: logPath) { FileManager.default.createFile(atPath: logPath, contents: nil) }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        log.seekToEndOfFile()
        p.standardError = log
        p.standardOutput = log
        let started = Date()
        try p.run()
        process = p
        try Wait.until(timeout: 20, "flashd to answer on \(socketPath)") {
            guard p.isRunning else { throw TestFailure("flashd exited with \(p.terminationStatus): \(self.log())") }
            return (try? ControlClient(socketPath: socketPath, timeoutSeconds: 2).send("GET", "/v1/ping").status) == 200
        }
        lastStartSeconds = Date().timeIntervalSince(started)
    }

    public var isRunning: Bool { process?.isRunning ?? false }
    public var pid: Int32 { process?.processIdentifier ?? 0 }

    /// SIGKILL, like a crash or kill -9 from outside, and reap it.
    public func kill9() {
        guard let p = process else { return }
        if p.isRunning { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
        process = nil
    }

    /// Waits for the process to die by itself (a fault in exit mode); returns its termination reason.
    public func waitForExit(timeout: Double = 10) throws -> (Process.TerminationReason, Int32) {
        guard let p = process else { throw TestFailure("flashd not started") }
        try Wait.until(timeout: timeout, "flashd to exit") { !p.isRunning }
        process = nil
        return (p.terminationReason, p.terminationStatus)
    }

    /// SIGTERM and wait: the graceful path.
    public func terminate() throws -> Int32 {
        guard let p = process else { return 0 }
        kill(p.processIdentifier, SIGTERM)
        try Wait.until(timeout: 15, "flashd to stop") { !p.isRunning }
        process = nil
        return p.terminationStatus
    }

    public func client() -> ControlClient { ControlClient(socketPath: socketPath, timeoutSeconds: 10) }

    /// Runs the real flashsalectl against this daemon.
    public func ctl(_ args: String...) throws -> (status: Int32, stdout: String, stderr: String) {
        try ctl(args)
    }

    public func ctl(_ args: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try Shell.runStatus(Self.binDir + "/flashsalectl", ["--socket", socketPath] + args)
    }

    /// Reads the journal file directly with the sqlite3 shell, not through flashd.
    public func sql(_ query: String) throws -> String {
        try Shell.run(try Executables.find("sqlite3"), ["-readonly", journalPath, query]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Stock taken for `item` according to Redis itself (total - remaining), read with redis-cli.
    public func redisTaken(_ item: String) throws -> Int {
        let out = try redis.cli("HMGET", "e2e:sale:\(item)", "total", "stock").split(separator: "\n").compactMap { Int($0) }
        guard out.count == 2 else { throw TestFailure("no sale \(item) in redis") }
        return out[0] - out[1]
    }

    public func log() -> String {
        (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
    }

    // MARK: JSON helpers over the raw socket API

    /// Every answer is checked against the OpenAPI document first (`OpenAPIContract`): one it
    /// doesn't allow fails the test that asked, whatever the test then looks at.
    @discardableResult
    public func request(_ method: String, _ path: String, json: String? = nil) throws -> (status: Int, body: [String: Any]) {
        let r = try client().send(method, path, body: json.map { Array($0.utf8) })
        let violations = OpenAPIContract.shared.violations(method: method, path: path, status: r.status, body: r.body)
        guard violations.isEmpty else {
            throw TestFailure("the answer breaks the OpenAPI document (Control/OpenAPI.swift): " + violations.joined(separator: "; "))
        }
        let obj = (try? JSONSerialization.jsonObject(with: Data(r.body))) as? [String: Any] ?? [:]
        return (r.status, obj)
    }

    /// One of status' counters (-1 when status has no such counter).
    public func counter(_ name: String) throws -> Int {
        (try request("GET", "/v1/status").body["counters"] as? [String: Any])?[name] as? Int ?? -1
    }

    /// Creates a sale, retrying a 503 for up to 5 s as an operator would (Redis just restarted).
    public func createSale(_ item: String, stock: Int, limit: Int = 1, holdSeconds: Int? = nil) throws {
        let hold = holdSeconds.map { #","hold_seconds":\#($0)"# } ?? ""
        let body = #"{"item":"\#(item)","stock":\#(stock),"limit_per_user":\#(limit)\#(hold)}"#
        var r = try request("POST", "/v1/sales", json: body)
        let deadline = Date().addingTimeInterval(5)
        while r.status == 503 && Date() < deadline {
            usleep(100_000)
            r = try request("POST", "/v1/sales", json: body)
        }
        guard r.status == 201 else { throw TestFailure("create sale: \(r)") }
    }

    public func audit() throws -> [String: Any] {
        let r = try request("GET", "/v1/audit")
        guard r.status == 200 else { throw TestFailure("audit: \(r)") }
        return r.body
    }

    /// True when every item is consistent and nothing is pending.
    public func settled() throws -> Bool {
        let a = try audit()
        return (a["consistent"] as? Bool) == true && (a["settled"] as? Bool) == true
    }
}
