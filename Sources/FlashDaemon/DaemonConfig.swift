import FlashStorage
import Logging

/// flashd's settings after merging defaults, the config file and flags (flags win): one live
/// value for each, typed. Each property's initial value is its default; the table in
/// `Setting+All.swift` says how each is named, parsed, documented and reloaded.
public struct DaemonConfig: Sendable, Equatable {
    public var socketPath = "/run/flashd/flashd.sock"
    /// The socket flashd binds itself (not systemd's): its mode, and its group ("": flashd's).
    public var socketMode: UInt16 = 0o660
    public var socketGroup = ""
    public var redis = "127.0.0.1:6379"
    public var redisPrefix = "flashd:"
    /// The ACL user to AUTH as ("": the default user), and the file holding the password
    /// ("": none, unless systemd passes the `redis-password` credential).
    public var redisUser = ""
    public var redisPasswordFile = ""
    /// One: a journal batch's scripts then go out in one write and come back in one (Redis
    /// answers a whole read at once), and one thread fewer wakes per batch (BENCHMARKS.md).
    public var redisConnections = 1
    /// WAIT after each purchase script: replicas that must have the write (0 = don't wait).
    public var redisWaitReplicas = 0
    /// ...and how long to wait for them, below the 1 s Redis command timeout.
    public var redisWaitTimeoutMs = 100
    public var stateDir = "/var/lib/flashd"
    public var nodeID = "flashd"
    public var checkDelay = Duration.seconds(3)
    public var faultInjection = false
    public var sqliteSync = SQLiteJournal.Durability.full
    public var logLevel = Logger.Level.info
    public var maxBodyBytes = 64 * 1024
    public var allowEvictingRedis = false
    /// Besides root, members of this group may create, restock and reset sales and inject faults.
    public var adminGroup = "flashd-admin"
    /// Open connections beyond this get 503 and are closed.
    public var maxConnections = 4096
    /// Requests in progress beyond this get 503 at once.
    public var maxInflight = 16384
    /// From a request's first byte to its last (slow clients are cut off).
    public var requestTimeout = Duration.seconds(10)
    /// How long an idle keep-alive connection stays open.
    public var idleTimeout = Duration.seconds(60)
    /// host:port of the optional TCP listener (GET /metrics and the live sale page, `Router.onView`); nil = off.
    public var metricsListen: String?
    /// The shop's PostgreSQL, where orders are delivered ("": nowhere, the journal only), the
    /// file with its password ("": the `orders-to-password` credential, else none), the table.
    public var ordersTo = ""
    public var ordersToPasswordFile = ""
    public var ordersTable = "flashd_orders"
    /// The config file these settings were read from, for reloads.
    public var configFile: String?

    public static let defaultConfigFile = "/etc/flashd/flashd.conf"

    public init() {}

    /// The keys a config file may set: the long flag names without their dashes.
    public static var fileKeys: Set<String> { Set(Setting.all.map(\.key)) }

    /// Parses `key = value` lines; `#` starts a comment. Unknown keys and bad values are errors
    /// with the line number, so a typo in the file can't silently fall back to a default.
    public mutating func apply(configFile path: String, text: String) throws(ConfigError) {
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init)?.trimmed ?? ""
            if line.isEmpty { continue }
            let at = "\(path):\(index + 1)"
            guard let eq = line.firstIndex(of: "=") else { throw ConfigError(.syntax, "\(at): expected key = value", inConfigFile: true) }
            let key = String(line[..<eq]).trimmed
            let value = String(line[line.index(after: eq)...]).trimmed
            do {
                try set(key, value)
            } catch {
                throw ConfigError(error.code, "\(at): \(error.message)", inConfigFile: true)
            }
        }
    }

    /// Sets one setting from its text, as the config file and the flags both do.
    public mutating func set(_ key: String, _ value: String) throws(ConfigError) {
        guard let setting = Setting.named[key] else { throw ConfigError(.unknownKey, "unknown key \(key)") }
        try setting.apply(&self, value)
    }

    /// Settings that differ from `other` and that a reload can't change in a running daemon.
    public func restartOnlyDifferences(from other: DaemonConfig) -> [String] {
        Setting.all.filter { $0.reload == .restart && !$0.same(self, other) }.map(\.key)
    }

    /// Settings a reload applies, with their new values, where they differ from `other`.
    public func liveDifferences(from other: DaemonConfig) -> [String: String] {
        var changed: [String: String] = [:]
        for s in Setting.all where s.reload == .live && !s.same(self, other) { changed[s.key] = s.show(self) }
        return changed
    }

    public var journalPath: String { stateDir.hasSuffix("/") ? stateDir + "flashd.db" : stateDir + "/flashd.db" }
}

/// "127.0.0.1:9464" → ("127.0.0.1", 9464); "[::1]:9464" → ("::1", 9464).
func hostPort(_ text: String) -> (host: String, port: Int)? {
    guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) else {
        return nil
    }
    var host = String(text[..<colon])
    if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
    return host.isEmpty ? nil : (host, port)
}

extension String {
    var trimmed: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" || f == "\r" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" { s.removeLast() }
        return String(s)
    }
}
