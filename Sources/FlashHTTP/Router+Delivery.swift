import Control
import FlashCore

/// Delivery's status and control: `POST /v1/delivery` pauses or resumes it (admin), and with
/// fault injection arms a crash point of the deliverer for the kill -9 tests.
extension Router {
    func deliveryStatus() async -> API.Delivery? {
        guard let d = info.delivery else { return nil }
        let s = await d.snapshot()
        return API.Delivery(target: s.target, paused: s.paused, ok: s.healthy, error: s.lastError, deliveredSeq: s.lag.delivered,
                            newestSeq: s.lag.newest, lagChanges: s.lag.count, lagSeconds: Double(s.lagMs) / 1000,
                            delivered: s.delivered, batches: s.batches, failures: s.failures,
                            lagHistogramMs: s.lagHistogram.map { [$0.upperMs == .max ? -1 : $0.upperMs, Int64($0.count)] })
    }

    /// `GET /v1/audit?orders_db=1`: the delivery target's live rows per item and round, read
    /// by flashd with its own credentials (the password never leaves the daemon).
    func ordersDB(_ c: Call) async throws -> (target: String, counts: [ItemRound: Int], lag: Int64)? {
        guard let flag = c.request.query["orders_db"] else { return nil }
        guard flag == "1" || flag == "true" else { throw EngineError.invalidInput(field: "orders_db", "orders_db must be 1") }
        guard let d = info.delivery else {
            throw EngineError(.deliveryOff, "flashd delivers orders nowhere: start it with --orders-to to audit them there")
        }
        do {
            let counts = try await d.liveOrders()
            return (d.target, counts, await d.snapshot().lag.count)
        } catch let e as DeliveryError {
            throw EngineError(.ordersDBUnavailable, "the orders database can't be read now: \(e.message)")
        }
    }

    func controlDelivery(_ c: Call) async throws -> Response {
        try requireAdmin(c.request, "delivery control")
        let body = try decode(API.DeliveryControl.self, c.request)
        guard let d = info.delivery else {
            throw EngineError(.deliveryOff, "flashd delivers orders nowhere: start it with --orders-to")
        }
        if let point = body.crashAt {
            guard info.faultInjection else {
                throw EngineError(.faultInjectionDisabled, "fault injection is disabled; start flashd with --enable-fault-injection")
            }
            guard let fault = DeliveryFault(rawValue: point) else {
                throw EngineError.invalidInput(field: "crash_at", "crash_at must be before-send or after-commit")
            }
            await d.arm(fault)
        }
        if let paused = body.paused { await d.setPaused(paused) }
        return json(.ok, await deliveryStatus())
    }
}
