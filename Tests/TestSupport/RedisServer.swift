import Foundation

/// A real redis-server on a Unix socket in a short temporary directory, private to one test or
/// suite. Optionally persistent (appendonly, appendfsync always), so a restart keeps its data
/// the way a production Redis configured for flashd would.
public final class RedisServer: @unchecked Sendable {
    // @unchecked: mutated only by the test that owns it, from one task at a time.
    public let dir: String
    public let persistent: Bool
    public var socketPath: String { dir + "/r.sock" }
    public var endpoint: String { "unix:" + socketPath }
    private var process: Process?

    /// Further redis-server arguments, e.g. ["--maxmemory-policy", "allkeys-lru"].
    public let extraArgs: [String]
    /// Also listens on 127.0.0.1:port (replication and Sentinel speak TCP); nil = socket only.
    public let tcpPort: Int?

    public init(persistent: Bool = false, extraArgs: [String] = [], tcpPort: Int? = nil) throws {
        dir = try TempDir.make(prefix: "rd")
        self.persistent = persistent
        self.extraArgs = extraArgs
        self.tcpPort = tcpPort
        try start()
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: dir)
    }

    public func start() throws {
        // A replica's first sync would otherwise wait 5 s (repl-diskless-sync-delay) for company.
        let listen = tcpPort.map { ["--port", String($0), "--bind", "127.0.0.1", "--repl-diskless-sync-delay", "0"] } ?? ["--port", "0"]
        var args = listen + ["--unixsocket", socketPath, "--unixsocketperm", "700", "--dir", dir,
                    "--save", "", "--logfile", dir + "/redis.log"]
        args += persistent ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"]
        args += extraArgs
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try Executables.find("redis-server"))
        p.arguments = args
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        process = p
        try Wait.until(timeout: 10, "redis-server socket \(socketPath)") { self.ping() }
    }

    /// Stops Redis at once (SIGKILL): like a crash, not a shutdown.
    public func stop() {
        guard let p = process else { return }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        process = nil
        try? FileManager.default.removeItem(atPath: socketPath)
    }

    /// Runs redis-cli against this server and returns its trimmed output.
    @discardableResult
    public func cli(_ args: String...) throws -> String {
        try cli(args)
    }

    @discardableResult
    public func cli(_ args: [String]) throws -> String {
        try Shell.run(try Executables.find("redis-cli"), ["-s", socketPath] + args).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Waits until `n` replicas acknowledge a write to this primary (`acknowledged(by:)`).
    public func waitForOnlineReplicas(_ n: Int, timeout: Double = 20) throws {
        try Wait.until(timeout: timeout, "\(n) replica(s) acknowledging writes") { try self.acknowledged(by: n) }
    }

    /// Two probes, each a write then WAIT on the same connection; true when `n` replicas have
    /// both within a second each. "master_link_status:up" on the replica, or "state=online"
    /// here, come earlier: after a diskless sync the command stream to a replica starts only
    /// at a REPLCONF ACK the primary takes once it has seen the transfer end, up to a second
    /// later, and a WAIT sent before then times out. One probe is not enough: a sync that
    /// starts while its WAIT waits carries the write in the RDB, and the replica's first ACK
    /// (sent as it finishes loading, before the primary has seen the transfer end) covers it
    /// with no stream running yet. That happened in one run in ten of the Sentinel failover
    /// test: steady by this probe, then 0 replicas for the store's next WAIT of 500 ms. The
    /// second write comes after that RDB, so only the stream can carry it. A server that is a
    /// replica itself answers WAIT with an error: false.
    public func acknowledged(by n: Int) throws -> Bool {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try Executables.find("redis-cli"))
        p.arguments = ["-s", socketPath]
        let input = Pipe()
        let output = Pipe()
        p.standardInput = input
        p.standardOutput = output
        p.standardError = FileHandle.nullDevice
        try p.run()
        input.fileHandleForWriting.write(Data("SET test:replication-probe 1\nWAIT \(n) 1000\nSET test:replication-probe 2\nWAIT \(n) 1000\n".utf8))
        try input.fileHandleForWriting.close()
        let out = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        // The replies: OK, the first WAIT's count, OK, the second's.
        let replies = out.split(whereSeparator: \.isNewline)
        return replies.count == 4 && [replies[1], replies[3]].allSatisfy { (Int($0) ?? 0) >= n }
    }

    public func ping() -> Bool {
        (try? cli("PING")) == "PONG"
    }
}

public enum FreePort {
    /// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then closed).
    public static func next() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket failed") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard bound else { throw TestFailure("bind to port 0 failed") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}

public enum TempDir {
    /// A short directory under /tmp: socket paths must fit in sun_path's 108 bytes.
    public static func make(prefix: String) throws -> String {
        var template = Array("/tmp/\(prefix).XXXXXX".utf8CString)
        guard let p = mkdtemp(&template) else { throw TestFailure("mkdtemp failed") }
        return String(cString: p)
    }
}

public enum Executables {
    public static func find(_ name: String) throws -> String {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") + ["/usr/local/bin", "/usr/sbin", "/usr/bin"] {
            let path = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        throw TestFailure("\(name) not found on PATH (run scripts/install-deps.sh)")
    }
}

public enum Shell {
    /// Runs a command to completion; returns stdout. Throws if it exits non-zero.
    public static func run(_ path: String, _ args: [String]) throws -> String {
        let r = try runStatus(path, args)
        guard r.status == 0 else { throw TestFailure("\(path) \(args.joined(separator: " ")) exited \(r.status): \(r.stderr)") }
        return r.stdout
    }

    public static func runStatus(_ path: String, _ args: [String], environment: [String: String]? = nil)
        throws -> (status: Int32, stdout: String, stderr: String)
    {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = args
        if let environment { p.environment = environment }
        // stdout through a pipe read to its end, stderr into a file: reading two pipes one after
        // the other could block on a child that fills the second.
        let errPath = NSTemporaryDirectory() + "flashd-test-stderr-\(UUID().uuidString)"
        FileManager.default.createFile(atPath: errPath, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: errPath) }
        let out = Pipe()
        p.standardOutput = out
        p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        try p.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let errData = FileManager.default.contents(atPath: errPath) ?? Data()
        return (p.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
    }
}

public enum Wait {
    /// Polls `condition` every 20 ms until it holds; throws after `timeout` seconds, or at once
    /// when the condition itself throws.
    public static func until(timeout: Double, _ what: String, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try condition() { return }
            usleep(20_000)
        }
        if try condition() { return }
        throw TestFailure("timed out after \(timeout) s waiting for \(what)")
    }
}

public struct TestFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
