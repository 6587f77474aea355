/// Why the HTTP layer could not serve.
public enum HTTPServerError: Error, CustomStringConvertible, Equatable {
    /// A live process already answers on the socket path: it is not a stale file to replace.
    case socketServed(path: String)

    public var description: String {
        switch self {
        case .socketServed(let path): return HTTPServer.servedMessage(path)
        }
    }
}
