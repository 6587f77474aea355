/// Who flashd is to Redis: `AUTH [user] password` on every connection, the sentinels' too.
/// The password never appears in a description, a log line or an error.
public struct RedisCredentials: Sendable, Equatable, CustomStringConvertible {
    /// An ACL user (Redis 6+); nil authenticates as the default user (`requirepass`).
    public var user: String?
    public var password: String

    public init(user: String?, password: String) {
        self.user = user.flatMap { $0.isEmpty ? nil : $0 }
        self.password = password
    }

    var authCommand: [String] { ["AUTH"] + (user.map { [$0] } ?? []) + [password] }

    public var description: String { "user \(user ?? "default") with a password" }
}
