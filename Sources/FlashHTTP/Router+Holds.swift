import Control
import FlashCore
import NIOHTTP1

/// Confirm and cancel of held orders (G7). The web tier (the socket's group) may use them, as
/// it forwards the shop's payment results; only fault injection needs an admin.
extension Router {
    func decide(_ c: Call, _ action: HoldAction) async throws -> Response {
        let body = c.request.body.isEmpty ? API.Decide() : try decode(API.Decide.self, c.request)
        if body.crashAfter != nil { try requireAdmin(c.request, "fault injection") }
        let fault = try Self.fault(body.crashAfter, body.crashMode, hold: true)
        let (order, replayed) = try await coordinator.decide(orderID: c.key, action, fault: fault)
        let answer = Self.order(order, replayed: replayed)
        switch (action, order.hold) {
        case (.confirm, .released?):
            let why = order.releaseCause == .cancelled ? "was cancelled" : "expired"
            return refusal(.released, "order \(order.orderID) \(why): its unit went back to the sale", order)
        case (.cancel, .confirmed?):
            return refusal(.confirmed, "order \(order.orderID) is confirmed (paid); a refund is not a stock return", order)
        case (.cancel, nil):
            return refusal(.final, "order \(order.orderID) is final: its sale has no hold", order)
        default:
            return json(.ok, answer)
        }
    }

    private func refusal(_ code: API.ErrorCode, _ message: String, _ order: Order) -> Response {
        Response(status: .conflict, body: PurchaseJSON.encode(API.ErrorBody(code, message: message, gid: order.gid)))
    }

    /// `?state=` of an order listing: a hold state (orders of sales without a hold have none).
    static func holdState(_ text: String?) throws -> HoldState? {
        guard let text, !text.isEmpty else { return nil }
        guard let s = HoldState(rawValue: text) else {
            throw EngineError.invalidInput(field: "state", "state must be held, confirming, releasing, confirmed or released")
        }
        return s
    }
}
