import NIOPosix

/// A non-Sendable C handle paired with the one thread allowed to touch it.
///
/// Blocking C calls (hiredis, sqlite3) must not run on Swift's cooperative pool, which has one
/// thread per core here: two slow calls would stall every task in the daemon. Each handle gets
/// a one-thread `NIOThreadPool` instead: a serial executor of its own.
final class BlockingConnection<Handle>: @unchecked Sendable {
    // @unchecked Sendable: `handle` is only ever read inside `pool.runIfActive`, and the pool has
    // exactly one thread, so every access is serialised on that thread.
    private let handle: Handle
    private let pool: NIOThreadPool

    init(_ handle: Handle, name: String) {
        self.handle = handle
        self.pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
    }

    func run<T: Sendable>(_ body: @escaping @Sendable (Handle) throws -> T) async throws -> T {
        try await pool.runIfActive { try body(self.handle) }
    }

    func shutdown() async {
        try? await pool.shutdownGracefully()
    }
}
