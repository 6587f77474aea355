/// The prepared transactions this node must check, by gid, on the monotonic clock: when each
/// is due and how many attempts failed. A value type: every rule of the timeout check's timing
/// (the check delay, capped exponential backoff, retrying at once after an outage, probing
/// replicas with the earliest entry) is a plain mutation, tested without a clock or a store.
struct PendingSchedule {
    struct Entry: Equatable {
        var due: ContinuousClock.Instant
        var attempts: Int
    }

    private(set) var entries: [String: Entry] = [:]
    /// When `retryBackedOffNow` last brought entries forward (it is throttled).
    private var lastRetryNow: ContinuousClock.Instant?

    var count: Int { entries.count }
    func contains(_ gid: String) -> Bool { entries[gid] != nil }

    /// A row just journaled as prepared: checked after the check delay unless it settles first.
    mutating func journaled(_ gid: String, due: ContinuousClock.Instant) {
        entries[gid] = Entry(due: due, attempts: 0)
    }

    /// A row found in the journal that the schedule did not know (the sweep, recovery).
    mutating func adopt(_ gid: String, due: ContinuousClock.Instant, attempts: Int) {
        if entries[gid] == nil { entries[gid] = Entry(due: due, attempts: attempts) }
    }

    /// The row is final (or gone): nothing to check.
    mutating func settled(_ gid: String) {
        entries[gid] = nil
    }

    /// An attempt failed: the next one waits `backoff(attempts)`. Returns the attempts so far
    /// and that wait.
    mutating func failed(_ gid: String, now: ContinuousClock.Instant,
                         backoff: (Int) -> Duration) -> (attempts: Int, delay: Duration) {
        var entry = entries[gid] ?? Entry(due: now, attempts: 0)
        entry.attempts += 1
        let delay = backoff(entry.attempts)
        entry.due = now + delay
        entries[gid] = entry
        return (entry.attempts, delay)
    }

    /// The gids due at `now`, leaving out those `running` says are being worked on already.
    func due(at now: ContinuousClock.Instant, except running: (String) -> Bool) -> [String] {
        entries.compactMap { $0.value.due <= now && !running($0.key) ? $0.key : nil }
    }

    /// When the timeout check should look again: the earliest due entry, but within `cap`.
    func nextWake(after now: ContinuousClock.Instant, cap: Duration) -> ContinuousClock.Instant {
        min(entries.values.map(\.due).min() ?? now + cap, now + cap)
    }

    /// After an outage ends, entries waiting out a backoff are due now rather than at the end
    /// of it (up to the retry cap). At most every `throttle`: a flapping Redis must not turn
    /// the backoff into a retry of everything at every flap. Returns how many moved.
    @discardableResult
    mutating func retryBackedOffNow(_ now: ContinuousClock.Instant, throttle: Duration = .seconds(5)) -> Int {
        if let last = lastRetryNow, now - last < throttle { return 0 }
        lastRetryNow = now
        var moved = 0
        for (gid, entry) in entries where entry.attempts > 0 && entry.due > now {
            entries[gid]?.due = now
            moved += 1
        }
        return moved
    }

    /// Brings the earliest entry not running forward to `now` (a probe that is also useful
    /// work); false when there is none, or it is due already.
    @discardableResult
    mutating func bringEarliestForward(_ now: ContinuousClock.Instant, except running: (String) -> Bool) -> Bool {
        guard let first = entries.filter({ !running($0.key) }).min(by: { $0.value.due < $1.value.due }),
              first.value.due > now else { return false }
        entries[first.key]?.due = now
        return true
    }
}
