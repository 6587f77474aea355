import FlashCore

/// Where orders go: a `postgresql://` URL, parsed and checked once at start-up, so a typo is an
/// error naming the problem, never a deliverer retrying forever.
///
/// Forms: `postgresql://USER@HOST[:PORT]/DB` over TCP and `postgresql://USER@/DB?host=/run/postgresql`
/// over the Unix socket in that directory (`.s.PGSQL.PORT`, as libpq finds it). `sslmode=disable`,
/// `prefer` (the default over TCP) or `require`. A password in the URL is refused: it would show
/// in `ps`, in the unit file and in every log line that names the target; it comes from a file
/// or a systemd credential instead.
public struct PostgresTarget: Sendable, Equatable {
    public enum TLSMode: String, Sendable { case disable, prefer, require }

    public var user: String
    public var database: String
    /// TCP host, or nil with `socketDirectory`.
    public var host: String?
    public var port: Int
    public var socketDirectory: String?
    public var tls: TLSMode
    public var password: String?
    /// The table, `name` or `schema.name`, lower case letters, digits and `_`.
    public var table: String

    public init(url: String, password: String?, table: String) throws {
        func bad(_ why: String) -> DeliveryError { DeliveryError(.badTarget, why) }
        var rest: Substring
        if url.hasPrefix("postgresql://") {
            rest = url.dropFirst("postgresql://".count)
        } else if url.hasPrefix("postgres://") {
            rest = url.dropFirst("postgres://".count)
        } else {
            throw bad("the URL must start with postgresql:// (postgresql://USER@HOST:PORT/DB or postgresql://USER@/DB?host=/run/postgresql)")
        }
        var query: [String: String] = [:]
        if let q = rest.firstIndex(of: "?") {
            for pair in rest[rest.index(after: q)...].split(separator: "&") {
                let kv = pair.split(separator: "=", maxSplits: 1)
                guard kv.count == 2 else { throw bad("the parameter \(pair) has no value") }
                query[String(kv[0])] = String(kv[1])
            }
            rest = rest[..<q]
        }
        guard let at = rest.firstIndex(of: "@") else { throw bad("the URL names no user (postgresql://USER@...)") }
        let userInfo = rest[..<at]
        guard !userInfo.contains(":") else {
            throw bad("a password in the URL would show in ps and in logs; put it in --orders-to-password-file or a LoadCredential= named orders-to-password")
        }
        guard !userInfo.isEmpty else { throw bad("the URL names no user (postgresql://USER@...)") }
        user = String(userInfo)
        let hostAndDB = rest[rest.index(after: at)...]
        guard let slash = hostAndDB.firstIndex(of: "/"), !hostAndDB[hostAndDB.index(after: slash)...].isEmpty else {
            throw bad("the URL names no database (postgresql://USER@HOST/DB)")
        }
        database = String(hostAndDB[hostAndDB.index(after: slash)...])
        let hostPort = hostAndDB[..<slash]
        var portText: Substring?
        var hostText = hostPort
        if hostPort.hasPrefix("["), let close = hostPort.firstIndex(of: "]") {
            // An IPv6 address, [::1] or [::1]:5432.
            hostText = hostPort[hostPort.index(after: hostPort.startIndex)..<close]
            let after = hostPort[hostPort.index(after: close)...]
            if after.hasPrefix(":") { portText = after.dropFirst() } else if !after.isEmpty { throw bad("\(hostPort) is not [IPv6]:PORT") }
        } else if let colon = hostPort.lastIndex(of: ":") {
            hostText = hostPort[..<colon]
            portText = hostPort[hostPort.index(after: colon)...]
        }
        if let portText {
            guard let p = Int(portText), (1...65535).contains(p) else { throw bad("port \(portText) is not 1-65535") }
            port = p
        } else {
            port = 5432
        }
        for key in query.keys where !["host", "sslmode"].contains(key) {
            throw bad("unknown parameter \(key) (host= and sslmode= are understood)")
        }
        if let dir = query["host"] {
            guard hostText.isEmpty else { throw bad("give the host either in the URL or as host=, not both") }
            guard dir.hasPrefix("/") else { throw bad("host= takes the socket's directory, an absolute path") }
            socketDirectory = dir
            host = nil
        } else {
            guard !hostText.isEmpty else { throw bad("the URL names no host (postgresql://USER@HOST/DB, or ?host=/run/postgresql)") }
            host = String(hostText)
            socketDirectory = nil
        }
        let mode = query["sslmode"] ?? (socketDirectory == nil ? "prefer" : "disable")
        guard let tls = TLSMode(rawValue: mode) else { throw bad("sslmode must be disable, prefer or require") }
        self.tls = tls
        self.password = password
        let parts = table.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), parts.allSatisfy(Self.isIdentifier) else {
            throw DeliveryError(.badTarget, "the table name \(table) is not lower case letters, digits and _, optionally schema.table")
        }
        self.table = table
    }

    private static func isIdentifier(_ s: Substring) -> Bool {
        guard let first = s.first, s.count <= 63, first == "_" || ("a"..."z").contains(first) else { return false }
        return s.allSatisfy { $0 == "_" || ("a"..."z").contains($0) || ("0"..."9").contains($0) }
    }

    /// The table quoted for SQL.
    var quotedTable: String { table.split(separator: ".").map { "\"\($0)\"" }.joined(separator: ".") }

    /// The socket file of a Unix-socket target.
    var socketPath: String? { socketDirectory.map { "\($0)/.s.PGSQL.\(port)" } }

    /// For logs and status: never the password.
    public var display: String {
        let shown = (host ?? "").contains(":") ? "[\(host ?? "")]" : host ?? ""
        let base = socketDirectory.map { "postgresql://\(user)@/\(database)?host=\($0)" } ?? "postgresql://\(user)@\(shown):\(port)/\(database)"
        return base + " table \(table)"
    }
}
