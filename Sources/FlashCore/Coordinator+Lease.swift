/// The node id's lease as the coordinator sees it: purchases and every step that touches Redis
/// wait while it is not this process's (the scripts check it in Redis as well).
extension Coordinator {
    /// `validFor`: how long the lease is surely this process's, counted from before the claim
    /// was sent.
    public func setNodeLease(held: Bool, holder: String?, validFor: Duration? = nil, since: ContinuousClock.Instant? = nil) {
        // The id is this process's again: what waited for it is settled now, not at the end
        // of its backoff.
        if held && !nodeLeaseHeld { retryPendingNow() }
        nodeLeaseHeld = held
        nodeLeaseHolder = holder
        if let validFor { nodeLeaseUntil = (since ?? time()) + validFor }
        gate.setSuspended(!held)
    }

    func leaseLost(_ gid: String?) -> EngineError {
        EngineError(.nodeConflict, "node id \(config.node) is not leased to this flashd in Redis (held by "
                    + "\(nodeLeaseHolder ?? "nobody, or not renewed in time")); purchases and settling wait until it is", gid: gid)
    }

    /// Whether this process believes it holds its node id's lease (a Redis refusal clears it;
    /// the daemon's renewal loop then claims again at once).
    public var nodeLeaseBelieved: Bool { nodeLeaseHeld }

    var nodeLeaseValid: Bool {
        nodeLeaseHeld && (nodeLeaseUntil.map { time() < $0 } ?? true)
    }
}
