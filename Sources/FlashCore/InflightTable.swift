/// The purchases and resolutions running now, by gid, with the requests waiting for their
/// outcome: one run per gid at a time, whoever started it (a client's purchase, its retry, the
/// timeout check, recovery), and everyone else who asks for the same purchase meanwhile shares
/// that run's outcome instead of racing it. A request joins only a run of its own purchase:
/// the gid is a 64-bit digest, and two purchases must never share an outcome by accident.
struct InflightTable {
    typealias Waiter = CheckedContinuation<PurchaseOutcome, any Error>

    private struct Run {
        var owner: PurchaseKey
        var waiters: [Waiter] = []
    }

    enum Admission: Equatable {
        /// Nothing runs for the gid: the caller runs it now, and must `finish` it.
        case lead
        /// The same purchase is running: the caller waits for its outcome (`wait`).
        case join
        /// Another purchase with the same gid is running: the caller must not touch it.
        case conflict
    }

    private var runs: [String: Run] = [:]

    /// Registers the caller as the run for `gid` if nothing runs for it.
    mutating func admit(_ gid: String, owner: PurchaseKey) -> Admission {
        guard let run = runs[gid] else {
            runs[gid] = Run(owner: owner)
            return .lead
        }
        return run.owner == owner ? .join : .conflict
    }

    /// After `.join`: the outcome will be handed to `waiter` when the run finishes.
    mutating func wait(_ gid: String, _ waiter: Waiter) {
        runs[gid]?.waiters.append(waiter)
    }

    /// Ends the run for `gid` and hands its outcome to everyone waiting.
    mutating func finish(_ gid: String, with result: Result<PurchaseOutcome, any Error>) {
        for waiter in runs.removeValue(forKey: gid)?.waiters ?? [] { waiter.resume(with: result) }
    }

    func isRunning(_ gid: String) -> Bool { runs[gid] != nil }
    func waiterCount(_ gid: String) -> Int { runs[gid]?.waiters.count ?? 0 }
    var count: Int { runs.count }
    var isEmpty: Bool { runs.isEmpty }
}
