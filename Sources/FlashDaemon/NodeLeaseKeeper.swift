import FlashCore
import FlashStorage
import Logging

/// Keeps this process's lease on its node id in Redis: renews it every third of its lifetime
/// (every second while not held). Losing it to another process stops purchases here until this
/// process holds it again.
struct NodeLeaseKeeper: Sendable {
    static let ttlMs = 10_000
    /// How long a claim is trusted: its TTL less a second for the round trip and clock drift.
    static let validity = Duration.milliseconds(ttlMs - 1000)

    let stock: RedisStockStore
    let coordinator: Coordinator
    let node: String
    let token: String
    /// Whether the claim at start-up got the lease.
    let held: Bool
    let logger: Logger

    func run() async {
        var held = self.held
        while !Task.isCancelled {
            // Renew every third of the TTL; but when Redis refused a script for want of the
            // lease (a flushed or restored Redis lost the key, or another process took it),
            // claim again within a quarter second rather than at the next renewal.
            let period = held ? Duration.milliseconds(Self.ttlMs / 3) : .seconds(1)
            var waited = Duration.zero
            while waited < period {
                do {
                    try await Task.sleep(for: .milliseconds(250))
                } catch {
                    return
                }
                waited += .milliseconds(250)
                if held, !(await coordinator.nodeLeaseBelieved) { break }
            }
            let sent = ContinuousClock.now
            guard let claim = try? await stock.claimNode(node, token: token, ttlMs: Self.ttlMs) else {
                continue  // Redis unreachable: the lease outlives short outages, and purchases fail meanwhile anyway
            }
            switch claim {
            case .held:
                if !held { logger.notice("node id claimed in Redis; purchases resume", metadata: ["node": "\(node)"]) }
                held = true
                await coordinator.setNodeLease(held: true, holder: nil, validFor: Self.validity, since: sent)
            case .heldByOther(let holder, _):
                if held {
                    logger.critical("node id taken over in Redis by another flashd; refusing purchases",
                                    metadata: ["node": "\(node)", "holder": "\(holder)"])
                }
                held = false
                await coordinator.setNodeLease(held: false, holder: holder)
            }
        }
    }
}
