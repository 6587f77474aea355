import FoundationEssentials

/// flashd's settings after merging defaults, the config file and flags (flags win).
struct DaemonConfig: Sendable {
    var socketPath = "/run/flashd/flashd.sock"
    var redis = "127.0.0.1:6379"
    var redisPrefix = "flashd:"
    var redisConnections = 4
    var stateDir = "/var/lib/flashd"
    var nodeID = "flashd"
    var checkDelaySeconds = 3.0
    var faultInjection = false
    var sqliteSync = "full"
    var logLevel = "info"
    var maxBodyBytes = 64 * 1024
    var allowEvictingRedis = false

    static let defaultConfigFile = "/etc/flashd/flashd.conf"

    /// The keys a config file may set: the long flag names without their dashes.
    static let fileKeys: Set<String> = [
        "socket", "redis", "redis-prefix", "redis-connections", "state-dir", "node-id", "check-delay",
        "enable-fault-injection", "sqlite-sync", "log-level", "max-body-bytes", "allow-evicting-redis",
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
        case "redis": redis = value
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
        default: throw ConfigError("unknown key \(key)")
        }
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
