import NIOCore
import NIOPosix
import Synchronization

/// Answers calls that their worker has not answered in time: a hung disk must get its callers a
/// clear error (503 journal_unavailable), not a connection closed at the request timeout.
///
/// One repeating check every `tick` for all calls, rather than a timer per call: arming and
/// cancelling a scheduled task per journal call costs more than the call on the hot path.
/// The call itself still runs when the worker gets to it; only its caller stops waiting.
final class DeadlineWatch: Sendable {
    private struct Entry {
        var due: NIODeadline
        var expire: @Sendable () -> Void
    }

    private let limit: TimeAmount
    private let entries = Mutex<(next: UInt64, pending: [UInt64: Entry])>((0, [:]))
    private let check = Mutex<RepeatedTask?>(nil)

    init(limit: TimeAmount, tick: TimeAmount = .milliseconds(100)) {
        self.limit = limit
        let task = NIOSingletons.posixEventLoopGroup.next().scheduleRepeatedTask(initialDelay: tick, delay: tick) { [weak self] _ in
            self?.expireOverdue()
        }
        check.withLock { $0 = task }
    }

    /// Watches one call; `expire` runs (once, on the watch's thread) if it is still watched
    /// after `limit`. Returns the ticket to stop watching it with.
    func watch(_ expire: @escaping @Sendable () -> Void) -> UInt64 {
        let due = NIODeadline.now() + limit
        return entries.withLock { e in
            e.next += 1
            e.pending[e.next] = Entry(due: due, expire: expire)
            return e.next
        }
    }

    func done(_ ticket: UInt64) {
        _ = entries.withLock { $0.pending.removeValue(forKey: ticket) }
    }

    func stop() {
        check.withLock { $0?.cancel() }
    }

    private func expireOverdue() {
        let now = NIODeadline.now()
        let overdue = entries.withLock { e -> [Entry] in
            guard !e.pending.isEmpty else { return [] }
            let late = e.pending.filter { $0.value.due <= now }
            for key in late.keys { e.pending[key] = nil }
            return Array(late.values)
        }
        for entry in overdue { entry.expire() }
    }
}

/// A continuation resumed at most once: by the call's answer or by its deadline, whichever
/// comes first; the other is dropped.
final class ResumeOnce<T: Sendable>: Sendable {
    private let continuation: Mutex<CheckedContinuation<T, any Error>?>

    init(_ continuation: CheckedContinuation<T, any Error>) {
        self.continuation = Mutex(continuation)
    }

    func resume(with result: Result<T, any Error>) {
        let c = continuation.withLock { c -> CheckedContinuation<T, any Error>? in
            defer { c = nil }
            return c
        }
        c?.resume(with: result)
    }
}
