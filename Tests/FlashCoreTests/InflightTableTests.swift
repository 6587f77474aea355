import Synchronization
import Testing
@testable import FlashCore

/// One run per gid; the same purchase joins it and shares its outcome; another purchase whose
/// gid collides never does.
@Suite struct InflightTableTests {
    let alice = PurchaseKey(item: "sku", user: "alice", requestID: "r1")
    let mallory = PurchaseKey(item: "sku", user: "mallory", requestID: "crafted")

    @Test func oneRunPerGIDJoinedOnlyByTheSamePurchase() {
        var table = InflightTable()
        #expect(table.admit("g", owner: alice) == .lead)
        #expect(table.admit("g", owner: alice) == .join)
        #expect(table.admit("g", owner: mallory) == .conflict)
        #expect(table.isRunning("g") && table.count == 1)
        table.finish("g", with: .success(.refused(.soldOut, gid: "g", replayed: false)))
        #expect(!table.isRunning("g") && table.isEmpty)
        #expect(table.admit("g", owner: mallory) == .lead, "once finished, the gid is free")
    }

    /// The table as the coordinator's actor holds it, for tasks of a test.
    final class Shared: Sendable {
        let table = Mutex(InflightTable())
    }

    @Test func everyWaiterGetsTheRunsOutcome() async {
        let shared = Shared()
        #expect(shared.table.withLock { $0.admit("g", owner: alice) } == .lead)
        let outcome = PurchaseOutcome.refused(.limitReached, gid: "g", replayed: false)
        let results = await withTaskGroup(of: PurchaseOutcome?.self) { group in
            for _ in 0..<3 {
                group.addTask {
                    try? await withCheckedThrowingContinuation { c in shared.table.withLock { $0.wait("g", c) } }
                }
            }
            // The waiters are registered from their own tasks: finish once all three are in.
            while shared.table.withLock({ $0.waiterCount("g") }) < 3 { await Task.yield() }
            shared.table.withLock { $0.finish("g", with: .success(outcome)) }
            var all: [PurchaseOutcome?] = []
            for await r in group { all.append(r) }
            return all
        }
        #expect(results == [outcome, outcome, outcome])
    }
}
