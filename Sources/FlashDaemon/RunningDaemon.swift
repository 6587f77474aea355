import FlashCore
import FlashStorage
import Logging
import NIOCore
import NIOPosix
import Systemd

#if canImport(Glibc)
import Glibc
#endif

/// What a start opened, and the one teardown that closes it: the sockets, the event loops,
/// the node lease, Redis, the journal and the state directory's lock, in that order. A start
/// that fails half-way closes what it had opened by the same function.
struct RunningDaemon: Sendable {
    let coordinator: Coordinator
    let stock: RedisStockStore
    let journal: SQLiteJournal
    let eventLoops: MultiThreadedEventLoopGroup
    var channels: [any Channel] = []
    /// Delivery to the shop's PostgreSQL, when `--orders-to` asks for it.
    var deliverer: OrderDeliverer?
    let notifier: SystemdNotifier
    let node: String
    let leaseToken: String
    let leaseHeld: Bool
    /// The flock on the state directory, released last.
    let lockFD: Int32

    func close() async {
        for c in channels { try? await c.close() }
        try? await eventLoops.shutdownGracefully()
        try? await stock.releaseNode(node, token: leaseToken)
        await stock.shutdown()
        await journal.close()
        Glibc.close(lockFD)
    }
}
