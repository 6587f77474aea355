import Foundation

/// A replicated Redis watched by Sentinel, all on loopback: one primary, replicas, and three
/// sentinels (quorum 2) that fail over one second after the primary stops answering. The
/// servers are real redis-server processes (`--sentinel` for the sentinels), so a failover
/// is Redis' own, replication lag and all.
public final class SentinelCluster: @unchecked Sendable {
    // @unchecked: driven by the owning test only, one call at a time.
    public static let master = "flashd-test"
    public let dir: String
    /// servers[0] starts as the primary, the others as its replicas.
    public let servers: [RedisServer]
    private var sentinels: [Process] = []
    public private(set) var sentinelPorts: [Int] = []

    /// `--redis` for flashd.
    public var url: String { "sentinel://" + sentinelPorts.map { "127.0.0.1:\($0)" }.joined(separator: ",") + "/" + Self.master }

    public init(replicas: Int = 1, downAfterMs: Int = 1000) throws {
        dir = try TempDir.make(prefix: "sc")
        let primary = try RedisServer(tcpPort: try FreePort.next())
        var servers = [primary]
        for _ in 0..<replicas {
            servers.append(try RedisServer(extraArgs: ["--replicaof", "127.0.0.1", String(primary.tcpPort!)], tcpPort: try FreePort.next()))
        }
        self.servers = servers
        for i in 0..<3 {
            let port = try FreePort.next()
            let conf = dir + "/sentinel-\(i).conf"
            try """
                port \(port)
                bind 127.0.0.1
                dir \(dir)
                logfile \(dir)/sentinel-\(i).log
                sentinel monitor \(Self.master) 127.0.0.1 \(primary.tcpPort!) 2
                sentinel down-after-milliseconds \(Self.master) \(downAfterMs)
                sentinel failover-timeout \(Self.master) 10000
                sentinel parallel-syncs \(Self.master) 1

                """.write(toFile: conf, atomically: true, encoding: .utf8)
            let p = Process()
            p.executableURL = URL(fileURLWithPath: try Executables.find("redis-server"))
            p.arguments = [conf, "--sentinel"]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            sentinels.append(p)
            sentinelPorts.append(port)
            // Bound before the next FreePort.next(), which could otherwise hand out its port again.
            try Wait.until(timeout: 10, "sentinel \(i) on port \(port)") {
                guard p.isRunning else { throw TestFailure("sentinel \(i) exited; see \(self.dir)/sentinel-\(i).log") }
                return (try? self.sentinel(port, "PING")) == "PONG\n"
            }
        }
        // A failover needs the sentinels to know each other (they meet through the primary's
        // hello channel, every 2 s) and the replicas: wait for both, or a kill would go unanswered.
        try Wait.until(timeout: 30, "sentinels to see each other and \(replicas) replica(s)") {
            self.sentinelPorts.allSatisfy { port in
                let info = (try? self.sentinel(port, "SENTINEL", "master", Self.master)) ?? ""
                return Self.field(info, "num-other-sentinels") == "2" && Self.field(info, "num-slaves") == String(replicas)
            }
        }
        try primary.waitForOnlineReplicas(replicas)
    }

    deinit {
        for p in sentinels where p.isRunning {
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// The primary's TCP port as the sentinels name it now.
    public func primaryPort() throws -> Int {
        for port in sentinelPorts {
            let out = (try? sentinel(port, "SENTINEL", "get-master-addr-by-name", Self.master)) ?? ""
            if let p = out.split(separator: "\n").last.flatMap({ Int($0) }) { return p }
        }
        throw TestFailure("no sentinel names a primary")
    }

    /// The server the sentinels name primary now.
    public func primary() throws -> RedisServer {
        let port = try primaryPort()
        guard let s = servers.first(where: { $0.tcpPort == port }) else { throw TestFailure("primary port \(port) is none of ours") }
        return s
    }

    /// Waits until the sentinels name a primary other than `old` and it has taken the role.
    public func waitForFailover(from old: RedisServer, timeout: Double = 30) throws -> RedisServer {
        var promoted: RedisServer?
        try Wait.until(timeout: timeout, "the sentinels to promote a replica") {
            guard let p = try? self.primary(), p !== old else { return false }
            promoted = p
            return (try? p.cli("ROLE"))?.hasPrefix("master") == true
        }
        return promoted!
    }

    /// Waits until the cluster is steady again and returns its primary: every sentinel names
    /// the same server, it has the master role, and `replicas` replicas acknowledge a write to
    /// it. The primary is asked anew at every poll, not once: on a loaded machine a sentinel
    /// can find a just-promoted primary slow to answer within down-after-milliseconds and fail
    /// over a second time, a second or two after the first (Redis' own behaviour, seen here).
    /// A probe that kept waiting on the server named before that would wait on a replica forever.
    public func waitForSteadyPrimary(replicas: Int, timeout: Double) throws -> RedisServer {
        var steady: RedisServer?
        do {
            try Wait.until(timeout: timeout, "every sentinel to name one primary with \(replicas) replica(s) acknowledging writes") {
                let named = Set(sentinelPorts.map { port in
                    ((try? sentinel(port, "SENTINEL", "get-master-addr-by-name", Self.master)) ?? "")
                        .split(separator: "\n").last.flatMap { Int($0) } ?? 0
                })
                guard named.count == 1, let port = named.first,
                      let server = servers.first(where: { $0.tcpPort == port }),
                      (try? server.cli("ROLE"))?.hasPrefix("master") == true else { return false }
                guard try server.acknowledged(by: replicas) else { return false }
                steady = server
                return true
            }
        } catch {
            throw TestFailure("\(error); " + describe())
        }
        return steady!
    }

    /// Each server's replication state and each sentinel's answer, for a failure message.
    public func describe() -> String {
        let servers = servers.map { server -> String in
            let info = (try? server.cli("INFO", "replication")) ?? "down"
            let keep = info.split(whereSeparator: \.isNewline).filter {
                $0.hasPrefix("role:") || $0.hasPrefix("master_port:") || $0.hasPrefix("master_link_status:") || $0.hasPrefix("connected_slaves:")
            }
            return ":\(server.tcpPort ?? 0) " + (keep.isEmpty ? info : keep.joined(separator: ","))
        }
        let named = sentinelPorts.map { port in
            ((try? sentinel(port, "SENTINEL", "get-master-addr-by-name", Self.master)) ?? "?").split(separator: "\n").joined(separator: ":")
        }
        // The directory goes with the cluster: the sentinel's own account goes into the message.
        let log = ((try? String(contentsOfFile: dir + "/sentinel-0.log", encoding: .utf8)) ?? "")
            .split(separator: "\n").suffix(12).joined(separator: "\n  ")
        return "servers: " + servers.joined(separator: "; ") + "; sentinels name: " + named.joined(separator: ", ")
            + "; sentinel-0.log ends:\n  " + log
    }

    public func sentinel(_ port: Int, _ args: String...) throws -> String {
        try Shell.run(try Executables.find("redis-cli"), ["-p", String(port)] + args)
    }

    /// A field of a flat "name\nvalue\n..." reply as redis-cli prints it.
    static func field(_ reply: String, _ name: String) -> String? {
        let lines = reply.split(separator: "\n").map(String.init)
        guard let i = lines.firstIndex(of: name), i + 1 < lines.count else { return nil }
        return lines[i + 1]
    }
}
