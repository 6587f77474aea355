import Testing
@testable import FlashCore

@Suite struct IdentifiersTests {
    static let web1 = GlobalTransactionID(node: "web-1", key: (0x0706_0504_0302_0100, 0x0f0e_0d0c_0b0a_0908))

    @Test func gidIsDeterministicAndCarriesTheNode() {
        let a = Self.web1.make(item: "sku", user: "alice", requestID: "r1")
        let b = Self.web1.make(item: "sku", user: "alice", requestID: "r1")
        #expect(a == b)
        #expect(a.hasPrefix("web-1-"))
        #expect(a.count == "web-1-".count + 16)
    }

    @Test func gidSeparatesEveryComponentAndDependsOnTheKey() {
        let n = GlobalTransactionID(node: "n", key: (1, 2))
        let base = n.make(item: "ab", user: "c", requestID: "r")
        #expect(base != n.make(item: "a", user: "bc", requestID: "r"))
        #expect(base != n.make(item: "ab", user: "c", requestID: "r2"))
        #expect(base != GlobalTransactionID(node: "m", key: (1, 2)).make(item: "ab", user: "c", requestID: "r"))
        // Another journal's key: another gid for the same purchase, so no one can aim at one.
        #expect(base != GlobalTransactionID(node: "n", key: (1, 3)).make(item: "ab", user: "c", requestID: "r"))
    }

    /// The reference vector of SipHash-2-4's paper (key 00..0f, message 00..0e).
    @Test func sipHashMatchesTheReference() {
        var h = SipHash24(key: (0x0706_0504_0302_0100, 0x0f0e_0d0c_0b0a_0908))
        h.append((0..<15).map(UInt8.init))
        #expect(h.finish() == 0xa129_ca61_49be_45e5)
        var empty = SipHash24(key: (0x0706_0504_0302_0100, 0x0f0e_0d0c_0b0a_0908))
        empty.append([UInt8]())
        #expect(empty.finish() == 0x726f_db47_dd0e_0e31)
    }

    @Test func gidsOfManyPurchasesDontCollide() {
        var seen = Set<String>()
        for u in 0..<200 {
            for r in 0..<100 {
                seen.insert(Self.web1.make(item: "sku", user: "u\(u)", requestID: "r\(r)"))
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
