import Synchronization

/// Server-wide limits, shared by every connection: how many connections may be open and how
/// many requests may be in progress at once. Past either, a client gets 503 at once rather than
/// a queue that grows memory without bound.
public final class Limits: Sendable {
    let connections: BoundedCounter
    let inflight: BoundedCounter

    public init(maxConnections: Int, maxInflight: Int) {
        connections = BoundedCounter(limit: maxConnections)
        inflight = BoundedCounter(limit: maxInflight)
    }

    func openConnection() -> Bool { connections.acquire() }
    func closeConnection() { connections.release() }
    func startRequest() -> Bool { inflight.acquire() }
    func finishRequest() { inflight.release() }
}

/// A count with a ceiling, safe from any thread.
final class BoundedCounter: Sendable {
    let limit: Int
    private let count = Atomic<Int>(0)

    init(limit: Int) { self.limit = limit }

    /// Counts one more; false (and not counted) when the ceiling is reached.
    func acquire() -> Bool {
        if count.add(1, ordering: .relaxed).newValue > limit {
            count.subtract(1, ordering: .relaxed)
            return false
        }
        return true
    }

    func release() { count.subtract(1, ordering: .relaxed) }
}
