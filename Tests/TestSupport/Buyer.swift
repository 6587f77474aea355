import Control
import Foundation

/// A web tier's purchase: retried with the same request id on every error (503, connection
/// refused while flashd restarts, connection closed by a kill) until a definitive answer.
public enum Buyer {
    public struct Answer: Sendable {
        public var user: String
        public var requestID: String
        /// 201 or 409 when answered; the last status seen (0: none) when the deadline passed.
        public var status: Int
        public var orderID: String?
        /// The refusal's code (409).
        public var error: String? = nil
    }

    public static func buyUntilAnswered(socket: String, item: String, user: String, requestID: String,
                                        deadline seconds: Double = 30) -> Answer {
        let body = Array(#"{"item":"\#(item)","user":"\#(user)","request_id":"\#(requestID)"}"#.utf8)
        let deadline = Date().addingTimeInterval(seconds)
        var last = 0
        while Date() < deadline {
            if let r = try? ControlClient(socketPath: socket, timeoutSeconds: 5).send("POST", "/v1/purchases", body: body) {
                last = r.status
                if r.status == 201 || r.status == 409 {
                    let obj = (try? JSONSerialization.jsonObject(with: Data(r.body))) as? [String: Any]
                    return Answer(user: user, requestID: requestID, status: r.status, orderID: obj?["order_id"] as? String,
                                  error: obj?["error"] as? String)
                }
            }
            usleep(50_000)
        }
        return Answer(user: user, requestID: requestID, status: last, orderID: nil)
    }
}

extension Buyer {
    public struct Decision: Sendable {
        public var orderID: String
        public var verb: String
        /// 200 or 409 when answered; the last status seen (0: none) when the deadline passed.
        public var status: Int
        /// The order's hold as the answer gave it (200), or the refusal's code (409).
        public var outcome: String?
    }

    /// The shop's confirm or cancel of a held order, retried like a purchase until answered.
    public static func decideUntilAnswered(socket: String, orderID: String, verb: String, deadline seconds: Double = 30) -> Decision {
        let deadline = Date().addingTimeInterval(seconds)
        var last = 0
        while Date() < deadline {
            if let r = try? ControlClient(socketPath: socket, timeoutSeconds: 5).send("POST", "/v1/orders/\(orderID)/\(verb)") {
                last = r.status
                if r.status == 200 || r.status == 409 {
                    let obj = (try? JSONSerialization.jsonObject(with: Data(r.body))) as? [String: Any]
                    return Decision(orderID: orderID, verb: verb, status: r.status,
                                    outcome: (r.status == 200 ? obj?["state"] : obj?["error"]) as? String)
                }
            }
            usleep(50_000)
        }
        return Decision(orderID: orderID, verb: verb, status: last, outcome: nil)
    }
}

/// A small deterministic generator (SplitMix64): the same seed replays the same run.
public struct SplitMix64: RandomNumberGenerator {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
