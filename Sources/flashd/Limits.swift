import Synchronization

/// Server-wide limits, shared by every connection: how many connections may be open and how
/// many requests may be in progress at once. Past either, a client gets 503 at once rather than
/// a queue that grows memory without bound.
final class Limits: Sendable {
    let maxConnections: Int
    let maxInflight: Int
    private let connections = Atomic<Int>(0)
    private let inflight = Atomic<Int>(0)

    init(maxConnections: Int, maxInflight: Int) {
        self.maxConnections = maxConnections
        self.maxInflight = maxInflight
    }

    /// Counts a new connection; false (and not counted) when the limit is reached.
    func openConnection() -> Bool {
        let n = connections.add(1, ordering: .relaxed).newValue
        if n > maxConnections {
            connections.subtract(1, ordering: .relaxed)
            return false
        }
        return true
    }

    func closeConnection() { connections.subtract(1, ordering: .relaxed) }

    /// Counts a request starting; false (and not counted) when too many are in progress.
    func startRequest() -> Bool {
        let n = inflight.add(1, ordering: .relaxed).newValue
        if n > maxInflight {
            inflight.subtract(1, ordering: .relaxed)
            return false
        }
        return true
    }

    func finishRequest() { inflight.subtract(1, ordering: .relaxed) }
}
