import Metrics
import Synchronization

/// Per-sale gauges, labelled by item: what Redis says of the stock (refreshed with the
/// sold-out refresh, every 200 ms) and what this node's journal says of the current round's
/// orders, pending purchases and holds (every few seconds: it costs journal reads per sale).
/// Sales are never deleted, so a series, once made, stays.
final class SaleMetrics: Sendable {
    private struct Series {
        let remaining: Gauge
        let total: Gauge
        let orders: Gauge
        let pending: Gauge
        let held: Gauge
        let confirmed: Gauge
        let released: Gauge

        init(_ item: String) {
            let d = [("item", item)]
            remaining = Gauge(label: "flashd_sale_stock_remaining", dimensions: d)
            total = Gauge(label: "flashd_sale_stock_total", dimensions: d)
            orders = Gauge(label: "flashd_sale_orders", dimensions: d)
            pending = Gauge(label: "flashd_sale_pending", dimensions: d)
            held = Gauge(label: "flashd_sale_holds", dimensions: d + [("state", "held")])
            confirmed = Gauge(label: "flashd_sale_holds", dimensions: d + [("state", "confirmed")])
            released = Gauge(label: "flashd_sale_holds", dimensions: d + [("state", "released")])
        }
    }

    private let series = Mutex<[String: Series]>([:])

    private func of(_ item: String) -> Series {
        series.withLock { all in
            if let s = all[item] { return s }
            let s = Series(item)
            all[item] = s
            return s
        }
    }

    func stock(_ sale: SaleInfo) {
        let s = of(sale.item)
        s.remaining.record(sale.remaining)
        s.total.record(sale.total)
    }

    func journal(item: String, orders: Int, pending: Int, holds: HoldCounts) {
        let s = of(item)
        s.orders.record(orders)
        s.pending.record(pending)
        s.held.record(holds.held + holds.deciding)
        s.confirmed.record(holds.confirmed)
        s.released.record(holds.released)
    }
}
