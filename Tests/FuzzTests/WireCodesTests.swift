import Control
import FlashCore
import Testing

/// One vocabulary: every code the engine can put on the wire is one clients can switch on, and
/// every outcome the engine can reach is counted under a name of its own.
@Suite struct WireCodesTests {
    @Test func everyEngineCodeAndRefusalIsAWireCode() {
        for code in EngineError.Code.allCases {
            #expect(API.ErrorCode(rawValue: code.rawValue) != nil, "engine code \(code.rawValue) missing from API.ErrorCode")
        }
        for reason in FailureReason.allCases {
            #expect(API.ErrorCode(rawValue: reason.rawValue) != nil, "refusal \(reason.rawValue) missing from API.ErrorCode")
        }
    }

    @Test func everyRefusalIsTalliedByItsOwnName() {
        for reason in FailureReason.allCases {
            let tally = PurchaseTally(.refused(reason, gid: "g", replayed: false))
            #expect(tally.rawValue == reason.rawValue)
            #expect(PurchaseTally(.refused(reason, gid: "g", replayed: true)) == .replayed)
        }
        let order = Order(orderID: "o", gid: "g", item: "i", round: 1, user: "u", requestID: "r", createdMs: 0)
        #expect(PurchaseTally(.ordered(order, replayed: false)) == .ordered)
        #expect(Set(PurchaseTally.allCases.map(\.rawValue)).count == PurchaseTally.allCases.count)
    }
}
