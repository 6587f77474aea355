/// Why the HTTP layer could not serve.
public enum HTTPServerError: Error, CustomStringConvertible, Equatable {
    /// A live process already answers on the socket path: it is not a stale file to replace.
    case socketServed(path: String)
    /// The socket's group or mode could not be set.
    case socketPermissions(path: String, reason: String)

    public var description: String {
        switch self {
        case .socketServed(let path): return HTTPServer.servedMessage(path)
        case .socketPermissions(let path, let reason): return "\(path): \(reason)"
        }
    }
}
