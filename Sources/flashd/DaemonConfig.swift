import FoundationEssentials
import RedisClient

/// flashd's settings after merging defaults, the config file and flags (flags win).
struct DaemonConfig: Sendable {
    var socketPath = "/run/flashd/flashd.sock"
    var redis = "127.0.0.1:6379"
    var redisPrefix = "flashd:"
    var redisConnections = 2
    /// WAIT after each purchase script: replicas that must have the write (0 = don't wait).
    var redisWaitReplicas = 0
    /// ...and how long to wait for them, below the 1 s Redis command timeout.
    var redisWaitTimeoutMs = 100
    var stateDir = "/var/lib/flashd"
    var nodeID = "flashd"
    var checkDelaySeconds = 3.0
    var faultInjection = false
    var sqliteSync = "full"
    var logLevel = "info"
    var maxBodyBytes = 64 * 1024
    var allowEvictingRedis = false
    /// Besides root, members of this group may create, restock and reset sales and inject faults.
    var adminGroup = "flashd-admin"
    /// Open connections beyond this get 503 and are closed.
    var maxConnections = 4096
    /// Requests in progress beyond this get 503 at once.
    var maxInflight = 16384
    /// Seconds from a request's first byte to its last (slow clients are cut off).
    var requestTimeoutSeconds = 10.0
    /// Seconds an idle keep-alive connection stays open.
    var idleTimeoutSeconds = 60.0
    /// host:port of the optional Prometheus listener (GET /metrics only); nil = off.
    var metricsListen: String?
    /// The config file these settings were read from, for reloads.
    var configFile: String?

    static let defaultConfigFile = "/etc/flashd/flashd.conf"

    /// The keys a config file may set: the long flag names without their dashes.
    static let fileKeys: Set<String> = [
        "socket", "redis", "redis-prefix", "redis-connections", "redis-wait-replicas", "redis-wait-timeout-ms", "state-dir", "node-id", "check-delay",
        "enable-fault-injection", "sqlite-sync", "log-level", "max-body-bytes", "allow-evicting-redis", "metrics-listen", "admin-group",
        "max-connections", "max-inflight", "request-timeout", "idle-timeout",
    ]

    /// Parses `key = value` lines; `#` starts a comment. Unknown keys and bad values are errors
    /// with the line number, so a typo in the file can't silently fall back to a default.
    mutating func apply(configFile path: String, text: String) throws {
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init)?.trimmed ?? ""
            if line.isEmpty { continue }
            guard let eq = line.firstIndex(of: "=") else {
                throw ConfigError("\(path):\(index + 1): expected key = value")
            }
            let key = String(line[..<eq]).trimmed
            let value = String(line[line.index(after: eq)...]).trimmed
            guard Self.fileKeys.contains(key) else {
                throw ConfigError("\(path):\(index + 1): unknown key \(key)")
            }
            do {
                try set(key, value)
            } catch let e as ConfigError {
                throw ConfigError("\(path):\(index + 1): \(e.message)")
            }
        }
    }

    mutating func set(_ key: String, _ value: String) throws {
        func int(_ range: ClosedRange<Int>) throws -> Int {
            guard let n = Int(value), range.contains(n) else { throw ConfigError("\(key) must be an integer in \(range)") }
            return n
        }
        func bool() throws -> Bool {
            switch value.lowercased() {
            case "1", "yes", "true", "on": return true
            case "0", "no", "false", "off": return false
            default: throw ConfigError("\(key) must be yes or no")
            }
        }
        switch key {
        case "socket": socketPath = value
        case "redis":
            guard RedisTarget(parsing: value) != nil else {
                throw ConfigError("redis must be unix:/path, host:port or sentinel://HOST:PORT[,HOST:PORT...]/MASTER, not \(value)")
            }
            redis = value
        case "redis-wait-replicas": redisWaitReplicas = try int(0...16)
        case "redis-wait-timeout-ms": redisWaitTimeoutMs = try int(1...900)
        case "redis-prefix": redisPrefix = value
        case "redis-connections": redisConnections = try int(1...64)
        case "state-dir": stateDir = value
        case "node-id": nodeID = value
        case "check-delay":
            guard let d = Double(value), d > 0, d <= 3600 else { throw ConfigError("check-delay must be seconds in (0, 3600]") }
            checkDelaySeconds = d
        case "enable-fault-injection": faultInjection = try bool()
        case "sqlite-sync":
            guard ["full", "normal"].contains(value) else { throw ConfigError("sqlite-sync must be full or normal") }
            sqliteSync = value
        case "log-level":
            guard ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(value) else {
                throw ConfigError("log-level must be trace, debug, info, notice, warning, error or critical")
            }
            logLevel = value
        case "max-body-bytes": maxBodyBytes = try int(1024...(16 << 20))
        case "allow-evicting-redis": allowEvictingRedis = try bool()
        case "max-connections": maxConnections = try int(1...1_000_000)
        case "max-inflight": maxInflight = try int(1...10_000_000)
        case "request-timeout":
            guard let d = Double(value), d > 0, d <= 3600 else { throw ConfigError("request-timeout must be seconds in (0, 3600]") }
            requestTimeoutSeconds = d
        case "idle-timeout":
            guard let d = Double(value), d > 0, d <= 86400 else { throw ConfigError("idle-timeout must be seconds in (0, 86400]") }
            idleTimeoutSeconds = d
        case "admin-group":
            guard !value.isEmpty else { throw ConfigError("admin-group must name a group") }
            adminGroup = value
        case "metrics-listen":
            if value.isEmpty || value == "off" {
                metricsListen = nil
            } else {
                guard Self.hostPort(value) != nil else { throw ConfigError("metrics-listen must be host:port or off") }
                metricsListen = value
            }
        default: throw ConfigError("unknown key \(key)")
        }
    }
}

extension DaemonConfig {
    /// "127.0.0.1:9464" → ("127.0.0.1", 9464); "[::1]:9464" → ("::1", 9464).
    static func hostPort(_ text: String) -> (String, Int)? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) else {
            return nil
        }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return host.isEmpty ? nil : (host, port)
    }

    /// Settings that a reload can't change in a running daemon.
    func restartOnlyDifferences(from other: DaemonConfig) -> [String] {
        var keys: [String] = []
        if socketPath != other.socketPath { keys.append("socket") }
        if redis != other.redis { keys.append("redis") }
        if redisPrefix != other.redisPrefix { keys.append("redis-prefix") }
        if redisConnections != other.redisConnections { keys.append("redis-connections") }
        if redisWaitReplicas != other.redisWaitReplicas { keys.append("redis-wait-replicas") }
        if redisWaitTimeoutMs != other.redisWaitTimeoutMs { keys.append("redis-wait-timeout-ms") }
        if stateDir != other.stateDir { keys.append("state-dir") }
        if nodeID != other.nodeID { keys.append("node-id") }
        if faultInjection != other.faultInjection { keys.append("enable-fault-injection") }
        if sqliteSync != other.sqliteSync { keys.append("sqlite-sync") }
        if maxBodyBytes != other.maxBodyBytes { keys.append("max-body-bytes") }
        if metricsListen != other.metricsListen { keys.append("metrics-listen") }
        if adminGroup != other.adminGroup { keys.append("admin-group") }
        if maxConnections != other.maxConnections { keys.append("max-connections") }
        if maxInflight != other.maxInflight { keys.append("max-inflight") }
        if requestTimeoutSeconds != other.requestTimeoutSeconds { keys.append("request-timeout") }
        if idleTimeoutSeconds != other.idleTimeoutSeconds { keys.append("idle-timeout") }
        // Read once, when Redis' settings are checked at start-up.
        if allowEvictingRedis != other.allowEvictingRedis { keys.append("allow-evicting-redis") }
        return keys
    }
}

struct ConfigError: Error, CustomStringConvertible {
    let message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}

extension String {
    var trimmed: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" || f == "\r" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" { s.removeLast() }
        return String(s)
    }
}
