import Testing
@testable import FlashCore

@Suite struct IdentifiersTests {
    @Test func gidIsDeterministicAndCarriesTheNode() {
        let a = GlobalTransactionID.make(node: "web-1", item: "sku", round: 1, user: "alice", requestID: "r1")
        let b = GlobalTransactionID.make(node: "web-1", item: "sku", round: 1, user: "alice", requestID: "r1")
        #expect(a == b)
        #expect(a.hasPrefix("web-1-"))
        #expect(a.count == "web-1-".count + 16)
    }

    @Test func gidSeparatesEveryComponent() {
        let base = GlobalTransactionID.make(node: "n", item: "ab", round: 1, user: "c", requestID: "r")
        #expect(base != GlobalTransactionID.make(node: "n", item: "a", round: 1, user: "bc", requestID: "r"))
        #expect(base != GlobalTransactionID.make(node: "n", item: "ab", round: 2, user: "c", requestID: "r"))
        #expect(base != GlobalTransactionID.make(node: "n", item: "ab", round: 1, user: "c", requestID: "r2"))
        #expect(base != GlobalTransactionID.make(node: "m", item: "ab", round: 1, user: "c", requestID: "r"))
    }

    @Test func gidsOfManyPurchasesDontCollide() {
        var seen = Set<String>()
        for u in 0..<200 {
            for r in 0..<100 {
                seen.insert(GlobalTransactionID.make(node: "n", item: "sku", round: 1, user: "u\(u)", requestID: "r\(r)"))
            }
        }
        #expect(seen.count == 20_000)
    }

    @Test(arguments: ["sku-1", "a", "User_9.x@example-1", String(repeating: "x", count: 64)])
    func validNames(_ name: String) {
        #expect(Names.isValid(name))
    }

    @Test(arguments: ["", "a b", "a:b", "a/b", "ключ", "x\u{0}", "a\"b", "*", String(repeating: "x", count: 65)])
    func invalidNames(_ name: String) {
        #expect(!Names.isValid(name))
        #expect(throws: EngineError.self) { try Names.check(name, field: "item") }
    }

    @Test func backoffDoublesAndIsCapped() {
        let c = CoordinatorConfig(node: "n", retryBase: .milliseconds(500), retryCap: .seconds(30))
        #expect(c.backoff(afterAttempts: 1) == .milliseconds(500))
        #expect(c.backoff(afterAttempts: 2) == .seconds(1))
        #expect(c.backoff(afterAttempts: 3) == .seconds(2))
        #expect(c.backoff(afterAttempts: 7) == .seconds(30))
        #expect(c.backoff(afterAttempts: 10_000) == .seconds(30))
    }

    @Test func auditConsistency() {
        #expect(AuditLine(item: "a", round: 1, total: 10, taken: 4, orders: 4, pending: 0).consistent)
        #expect(AuditLine(item: "a", round: 1, total: 10, taken: 5, orders: 4, pending: 1).consistent)
        #expect(!AuditLine(item: "a", round: 1, total: 10, taken: 5, orders: 4, pending: 0).consistent)  // deduction without order
        #expect(!AuditLine(item: "a", round: 1, total: 10, taken: 3, orders: 4, pending: 0).consistent)  // order without deduction
        #expect(!AuditLine(item: "a", round: 1, total: 3, taken: 4, orders: 4, pending: 0).consistent)   // oversell
    }
}
