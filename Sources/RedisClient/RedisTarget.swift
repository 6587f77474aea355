/// What flashd is told to use: one Redis (`unix:/path`, `host:port`), or the primary that a
/// set of Redis Sentinels name (`sentinel://HOST:PORT[,HOST:PORT...]/MASTER`).
public enum RedisTarget: Sendable, Equatable, CustomStringConvertible {
    case direct(RedisEndpoint)
    case sentinel(sentinels: [RedisEndpoint], master: String)

    public static let sentinelScheme = "sentinel://"

    public init?(parsing text: String) {
        guard text.hasPrefix(Self.sentinelScheme) else {
            guard let endpoint = RedisEndpoint(parsing: text) else { return nil }
            self = .direct(endpoint)
            return
        }
        let rest = text.dropFirst(Self.sentinelScheme.count)
        guard let slash = rest.lastIndex(of: "/") else { return nil }
        let master = String(rest[rest.index(after: slash)...])
        // The master name goes to SENTINEL commands verbatim: keep it to a plain word.
        guard !master.isEmpty, master.count <= 128,
              master.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }) else { return nil }
        var sentinels: [RedisEndpoint] = []
        for part in rest[..<slash].split(separator: ",", omittingEmptySubsequences: false) {
            // Sentinels listen on TCP (26379 by default); a bare host means that port.
            let text = part.contains(":") && !part.hasSuffix("]") ? String(part) : "\(part):26379"
            guard !part.isEmpty, case .tcp(let host, let port)? = RedisEndpoint(parsing: text) else { return nil }
            let endpoint = RedisEndpoint.tcp(host: host, port: port)
            if !sentinels.contains(endpoint) { sentinels.append(endpoint) }
        }
        guard !sentinels.isEmpty else { return nil }
        self = .sentinel(sentinels: sentinels, master: master)
    }

    public var description: String {
        switch self {
        case .direct(let endpoint): return endpoint.description
        case .sentinel(let sentinels, let master):
            return Self.sentinelScheme + sentinels.map(\.description).joined(separator: ",") + "/" + master
        }
    }
}
