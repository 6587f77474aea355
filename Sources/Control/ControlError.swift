/// Everything that can go wrong talking to flashd, from flashsalectl's side.
public struct ControlError: Error, Sendable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        /// Nothing listens on the socket (missing file, connection refused).
        case daemonNotRunning
        /// The socket exists but we may not use it (EACCES).
        case permissionDenied
        /// The connection broke or timed out mid-request.
        case io
        /// The answer was not HTTP/JSON as flashd speaks it.
        case badResponse
        /// flashd answered with an error status and body.
        case api(status: Int, API.ErrorBody)
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    /// The error body, when flashd answered with one.
    public var apiError: (status: Int, body: API.ErrorBody)? {
        if case .api(let status, let body) = code { return (status, body) }
        return nil
    }
}
