import Testing
@testable import FlashCore

/// The node's side of the fence (G9), without Redis: its floors can be low, never high (a high
/// floor would fence a Redis that lost nothing).
@Suite struct FenceBookTests {
    let key = SaleRound(item: "sku", round: 1)

    @Test func theFloorIsZeroUntilCountedThenFollowsOrders() {
        var book = FenceBook()
        #expect(book.floor(key, node: "n") == FenceFloor(node: "n", orders: 0, seen: 0))
        #expect(book.needsCount(key) && !book.isCounted(key))
        book.ordered(key)  // before any count: not added (the count will include it or not)
        book.startCounting(key)
        #expect(!book.needsCount(key) && !book.isCounted(key), "commits sent now may be in the count: not countable")
        book.counted(key, orders: 7)
        #expect(book.floor(key, node: "n").orders == 7)
        #expect(book.isCounted(key))
        book.ordered(key)
        book.ordered(SaleRound(item: "sku", round: 2))  // another round, not counted: nothing
        #expect(book.floor(key, node: "n").orders == 8)
        #expect(book.floor(SaleRound(item: "sku", round: 2), node: "n").orders == 0)
    }

    @Test func aCountThatFailedIsAskedAgain() {
        var book = FenceBook()
        book.startCounting(key)
        book.abandonCount(key)
        #expect(book.needsCount(key))
        #expect(book.floor(key, node: "n").orders == 0)
    }

    @Test func seenOnlyGrowsUntilARepairRebasesIt() {
        var book = FenceBook()
        book.observe(key, all: 10)
        book.observe(key, all: 4)  // an older read arriving late lowers nothing
        #expect(book.floor(key, node: "n").seen == 10)
        book.rebase(key, all: 6)  // after a repair, what Redis holds now is the floor
        #expect(book.floor(key, node: "n").seen == 6)
    }

    @Test func fencesRefuseUntilLifted() {
        var book = FenceBook()
        #expect(book.refusal("sku") == nil)
        book.fencedByScript("sku", node: "a")
        #expect(book.refusal("sku")?.contains("node a") == true)
        book.setFences("sku", ["b": "round 1: redis holds 5", "a": "round 1: redis holds 3"])
        #expect(book.refusal("sku") == "node a: round 1: redis holds 3; node b: round 1: redis holds 5")
        #expect(book.fencedItems == ["sku"])
        book.setFences("sku", [:])
        #expect(book.refusal("sku") == nil && book.fencedItems.isEmpty)
    }
}
