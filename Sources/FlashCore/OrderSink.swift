/// Where the deliverer sends orders (the shop's PostgreSQL in production). Each call is one
/// transaction on the target; an error leaves the target as it was or with the whole batch.
public protocol OrderSink: Sendable {
    /// The target for logs and status, without its password.
    var target: String { get }
    /// Connects, creates the table if missing, and checks the rights delivery needs; throws
    /// `DeliveryError` naming the problem.
    func prepare() async throws
    /// Upserts the latest change of each order in `changes` in one statement and one
    /// transaction, moving a row only forward (`DeliveredState.rank`): re-delivery changes nothing.
    func upsert(_ changes: [OrderChange]) async throws
    /// Rows that keep a unit (every state but released), per item and round: what the audit
    /// compares with the stock taken in Redis.
    func liveOrders() async throws -> [ItemRound: Int]
    func close() async
}

/// One round of one item.
public struct ItemRound: Hashable, Sendable {
    public var item: String
    public var round: Int
    public init(item: String, round: Int) {
        self.item = item
        self.round = round
    }
}

/// Why delivery failed. `refused` needs an operator (a wrong password, a missing right, a
/// table of another shape); the others pass by themselves.
public struct DeliveryError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// The URL or table name can't be used: a start-up error.
        case badTarget = "bad_target"
        /// No connection: PostgreSQL down, restarting, or not there.
        case unreachable
        /// PostgreSQL said no: authentication, a right, the table's shape.
        case refused
        /// It did not answer in time.
        case timeout
        /// Anything else PostgreSQL or the connection reported.
        case failed
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}

/// Crash points of the deliverer, for the kill -9 tests (fault injection only).
public enum DeliveryFault: String, Sendable, CaseIterable {
    /// A batch is read from the outbox; nothing is sent yet.
    case beforeSend = "before-send"
    /// PostgreSQL committed the batch; the journal's mark has not moved.
    case afterCommit = "after-commit"
}
