import ArgumentParser
import Control
import FoundationEssentials
import Logging
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#endif

@main
struct FlashdCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flashd",
        abstract: "Sells limited stock in a flash sale without losing or inventing a unit.",
        discussion: """
            Serves HTTP/1.1 + JSON on a Unix socket, deducts stock in Redis with one Lua script per
            purchase, journals every global transaction in SQLite before touching Redis, and settles
            unfinished transactions by itself after a crash. Settings come from the config file
            (key = value, the long flag names without dashes) and are overridden by flags.
            """,
        version: API.version)

    @Option(help: "Config file (default /etc/flashd/flashd.conf if it exists).")
    var config: String?

    @Option(help: "Unix socket to serve on (default /run/flashd/flashd.sock).")
    var socket: String?

    @Option(help: "Redis: unix:/path, host:port (default 127.0.0.1:6379), or the primary named by Redis Sentinels: sentinel://HOST:PORT[,HOST:PORT...]/MASTER.")
    var redis: String?

    @Option(help: "Prefix of every Redis key flashd writes (default flashd:).")
    var redisPrefix: String?

    @Option(help: "Redis connections, each pipelining on its own thread (default 2).")
    var redisConnections: Int?

    @Option(help: "Replicas that must have each purchase's Redis write (WAIT) before it counts; 0 = don't wait (default).")
    var redisWaitReplicas: Int?

    @Option(help: "Milliseconds to wait for them, 1-900 (default 100); a purchase not confirmed in time stays pending.")
    var redisWaitTimeoutMs: Int?

    @Option(help: "Directory of the SQLite journal (default $STATE_DIRECTORY, else /var/lib/flashd).")
    var stateDir: String?

    @Option(help: "Node id carried in gids and order ids (default the host name).")
    var nodeID: String?

    @Option(help: "Seconds a transaction may stay prepared before the timeout check settles it (default 3).")
    var checkDelay: Double?

    @Flag(help: "Allow buy requests to ask for a crash at a fault-injection point (tests only).")
    var enableFaultInjection = false

    @Option(help: "SQLite durability: full (fsync per commit, survives power loss; default) or normal.")
    var sqliteSync: String?

    @Option(help: "Log level: trace, debug, info (default), notice, warning, error, critical.")
    var logLevel: String?

    @Option(help: "Largest request body accepted, in bytes (default 65536).")
    var maxBodyBytes: Int?

    @Flag(help: "Start even when Redis' maxmemory-policy may evict barrier keys.")
    var allowEvictingRedis = false

    @Option(help: "Also serve GET /metrics over TCP on host:port (default off; use a loopback address).")
    var metricsListen: String?

    @Option(help: "Group whose members, besides root, may create, restock and reset sales (default flashd-admin).")
    var adminGroup: String?

    @Option(help: "Open connections beyond this get 503 and are closed (default 4096).")
    var maxConnections: Int?

    @Option(help: "Requests in progress beyond this get 503 at once (default 16384).")
    var maxInflight: Int?

    @Option(help: "Seconds from a request's first byte to its last before the connection is closed (default 10).")
    var requestTimeout: Double?

    @Option(help: "Seconds an idle keep-alive connection stays open (default 60).")
    var idleTimeout: Double?

    mutating func run() async throws {
        let settings: DaemonConfig
        do {
            settings = try resolve()
        } catch let e as ConfigError {
            throw ValidationError(e.message)
        }
        let levels = LogLevelBox(Logger.Level(rawValue: settings.logLevel) ?? .info)
        LogSetup.bootstrap(levels)
        let logger = Logger(label: "flashd")
        let command = self
        let daemon = Daemon(config: settings, logger: logger, logLevels: levels, reload: { try command.resolve() })
        let group = ServiceGroup(
            configuration: .init(services: [.init(service: daemon)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }

    /// Defaults, then the config file, then flags.
    func resolve() throws -> DaemonConfig {
        var c = DaemonConfig()
        if let dir = ProcessInfo.processInfo.environment["STATE_DIRECTORY"], !dir.isEmpty {
            // systemd may pass several, colon-separated; the first is ours.
            c.stateDir = String(dir.split(separator: ":").first ?? Substring(dir))
        }
        c.nodeID = Self.hostName()
        let path = config ?? DaemonConfig.defaultConfigFile
        if config != nil || access(path, F_OK) == 0 {
            try c.apply(configFile: path, text: try Self.readFile(path))
            c.configFile = path
        }
        if let socket { c.socketPath = socket }
        if let redis { try c.set("redis", redis) }
        if let redisPrefix { c.redisPrefix = redisPrefix }
        if let redisConnections { try c.set("redis-connections", String(redisConnections)) }
        if let redisWaitReplicas { try c.set("redis-wait-replicas", String(redisWaitReplicas)) }
        if let redisWaitTimeoutMs { try c.set("redis-wait-timeout-ms", String(redisWaitTimeoutMs)) }
        if let stateDir { c.stateDir = stateDir }
        if let nodeID { c.nodeID = nodeID }
        if let checkDelay { try c.set("check-delay", String(checkDelay)) }
        if enableFaultInjection { c.faultInjection = true }
        if let sqliteSync { try c.set("sqlite-sync", sqliteSync) }
        if let logLevel { try c.set("log-level", logLevel) }
        if let maxBodyBytes { try c.set("max-body-bytes", String(maxBodyBytes)) }
        if allowEvictingRedis { c.allowEvictingRedis = true }
        if let metricsListen { try c.set("metrics-listen", metricsListen) }
        if let adminGroup { try c.set("admin-group", adminGroup) }
        if let maxConnections { try c.set("max-connections", String(maxConnections)) }
        if let maxInflight { try c.set("max-inflight", String(maxInflight)) }
        if let requestTimeout { try c.set("request-timeout", String(requestTimeout)) }
        if let idleTimeout { try c.set("idle-timeout", String(idleTimeout)) }
        return c
    }

    /// Reads a whole file with plain read(2), which also works for /dev/null and pipes.
    static func readFile(_ path: String) throws -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ConfigError("cannot read config file \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw ConfigError("cannot read config file \(path): \(String(cString: strerror(errno)))") }
            if n == 0 { break }
            bytes += chunk[..<n]
            guard bytes.count <= 1 << 20 else { throw ConfigError("config file \(path) is larger than 1 MiB") }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func hostName() -> String {
        var buf = [CChar](repeating: 0, count: 256)
        guard gethostname(&buf, buf.count) == 0 else { return "flashd" }
        // The whole name, not its first label: web1.a and web1.b must not share a node id, or
        // their gids would collide in a shared Redis.
        let name = String(cString: buf)
        return name.isEmpty ? "flashd" : name
    }
}
