/// Every failure of the Redis wrapper. A struct with a private code enum, as
/// swift-service-lifecycle does: callers switch on `kind`, never on message text.
public struct RedisError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Equatable {
        /// Could not connect, or the connection broke (EOF, reset, timeout): Redis is unreachable.
        case connection
        /// Redis answered with an error reply (`-ERR ...`, `-NOSCRIPT ...`).
        case reply
        /// The reply did not have the shape the caller expected.
        case protocolViolation
        /// Redis refused the credentials (WRONGPASS), or wants some and got none (NOAUTH):
        /// a configuration error, not an outage; retrying with the same settings can't help.
        case authentication
    }

    public let kind: Kind
    public let message: String
    public let file: String
    public let line: Int

    init(_ kind: Kind, _ message: String, file: String = #fileID, line: Int = #line) {
        self.kind = kind
        self.message = message
        self.file = file
        self.line = line
    }

    public static func connection(_ message: String, file: String = #fileID, line: Int = #line) -> RedisError {
        RedisError(.connection, message, file: file, line: line)
    }

    /// An error reply; the two that refuse credentials are `.authentication`.
    public static func reply(_ message: String, file: String = #fileID, line: Int = #line) -> RedisError {
        let refused = message.hasPrefix("NOAUTH") || message.hasPrefix("WRONGPASS")
        return RedisError(refused ? .authentication : .reply, message, file: file, line: line)
    }

    public static func authentication(_ message: String, file: String = #fileID, line: Int = #line) -> RedisError {
        RedisError(.authentication, message, file: file, line: line)
    }

    public static func protocolViolation(_ message: String, file: String = #fileID, line: Int = #line) -> RedisError {
        RedisError(.protocolViolation, message, file: file, line: line)
    }

    /// True for `-NOSCRIPT`: the script cache was flushed (or Redis restarted) and EVALSHA must fall back to EVAL.
    public var isNoScript: Bool { kind == .reply && message.hasPrefix("NOSCRIPT") }

    /// True for `-READONLY`: the server is a replica, so writes must go to another one.
    public var isReadOnly: Bool { kind == .reply && message.hasPrefix("READONLY") }

    public var description: String { "redis \(kind): \(message)" }
}
