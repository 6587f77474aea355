import NIOCore

/// One coarse clock per event loop for every connection's deadlines (`ConnectionGuard`): a
/// repeating check every `interval` closes the connections whose deadline has passed.
///
/// A guard used to cancel and schedule a task of its own at every request and every answer,
/// and NIO's scheduled-task heap work was about 8% of flashd's CPU on the purchase path. Now a
/// request only stores a deadline; a connection is closed at most `interval` after it, which
/// is a small part of any timeout (`interval` is a quarter of the shortest, at most 1 s).
final class ConnectionSweep: @unchecked Sendable {
    // @unchecked Sendable: `guards` and `task` are touched only on `loop`.
    private let loop: any EventLoop
    private let interval: TimeAmount
    private var guards: [ObjectIdentifier: ConnectionGuard] = [:]
    private var task: RepeatedTask?

    init(loop: any EventLoop, shortestTimeout: TimeAmount) {
        self.loop = loop
        interval = max(.milliseconds(50), min(.seconds(1), .nanoseconds(shortestTimeout.nanoseconds / 4)))
    }

    /// One sweep per loop of `group`, keyed by the loop, made before any connection arrives.
    static func perLoop(_ group: any EventLoopGroup, shortestTimeout: TimeAmount) -> [ObjectIdentifier: ConnectionSweep] {
        var sweeps: [ObjectIdentifier: ConnectionSweep] = [:]
        for loop in group.makeIterator() {
            sweeps[ObjectIdentifier(loop)] = ConnectionSweep(loop: loop, shortestTimeout: shortestTimeout)
        }
        return sweeps
    }

    func add(_ guarded: ConnectionGuard) {
        loop.preconditionInEventLoop()
        guards[ObjectIdentifier(guarded)] = guarded
        if task == nil {
            task = loop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { [self] _ in sweep() }
        }
    }

    func remove(_ guarded: ConnectionGuard) {
        guards[ObjectIdentifier(guarded)] = nil
    }

    private func sweep() {
        let now = NIODeadline.now()
        // Closing a connection removes its guard: collect first, then close.
        let due = guards.values.filter { $0.deadline <= now }
        for guarded in due { guarded.expire() }
    }
}
