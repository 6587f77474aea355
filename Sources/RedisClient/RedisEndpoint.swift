/// Where Redis listens: `unix:/path` or `host:port` (port defaults to 6379).
public enum RedisEndpoint: Sendable, Equatable, CustomStringConvertible {
    case unix(path: String)
    case tcp(host: String, port: Int)

    public init?(parsing text: String) {
        if text.hasPrefix("unix:") {
            let path = String(text.dropFirst(5))
            guard !path.isEmpty else { return nil }
            self = .unix(path: path)
            return
        }
        if text.hasPrefix("/") {
            self = .unix(path: text)
            return
        }
        // host:port, with the port optional; IPv6 as [::1]:6379.
        var host = text
        var port = 6379
        if let idx = text.lastIndex(of: ":"), !text.hasSuffix("]") {
            host = String(text[..<idx])
            guard let p = Int(text[text.index(after: idx)...]), (1...65535).contains(p) else { return nil }
            port = p
        }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { return nil }
        self = .tcp(host: host, port: port)
    }

    public var description: String {
        switch self {
        case .unix(let path): return "unix:\(path)"
        case .tcp(let host, let port): return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        }
    }
}
