import Control
import FlashCore
import NIOHTTP1

/// One request as a route sees it: the request, the `*` segment of its path (the item of
/// `/v1/sales/ITEM...`, the order id of `/v1/orders/ID`), and a purchase's body if the event
/// loop decoded it already.
struct Call: Sendable {
    var request: Request
    var key: String
    var buy: API.Buy?
    var item: String { key }
}

/// One resource and method of the socket API. `path` is its segments, `*` standing for an
/// item or an order id; `query` the parameters it reads. 404, 405 and `Allow`, and the 400 for
/// a parameter the route doesn't read, are derived from this table, so a route added here is
/// routed and refused correctly with no second list to keep.
struct Route: Sendable {
    let method: HTTPMethod
    let path: [String]
    let query: [String]
    let answer: @Sendable (Router, Call) async throws -> Response

    init(_ method: HTTPMethod, _ path: [String], query: [String] = [],
         _ answer: @escaping @Sendable (Router, Call) async throws -> Response) {
        self.method = method
        self.path = path
        self.query = query
        self.answer = answer
    }

    /// The `*` segment when `segments` is this route's path (an empty key for a path without one).
    func match(_ segments: [String]) -> String? {
        guard segments.count == path.count else { return nil }
        var key = ""
        for (want, got) in zip(path, segments) {
            if want == "*" { key = got } else if want != got { return nil }
        }
        return key
    }
}

extension Router {
    /// The API's contract (`Control.OpenAPI`), encoded once.
    static let openAPI = Response(status: .ok, body: Array(OpenAPI.document.utf8))

    static let routes: [Route] = [
        Route(.GET, ["metrics"]) { r, _ in
            Response(status: .ok, body: Array(r.info.metrics().utf8), headers: [("Content-Type", "text/plain; version=0.0.4; charset=utf-8")])
        },
        Route(.GET, []) { _, _ in SalePage.response },
        Route(.GET, ["v1", "ping"]) { _, _ in pong },
        Route(.GET, ["v1", "openapi.json"]) { _, _ in openAPI },
        Route(.GET, ["v1", "status"]) { r, _ in r.json(.ok, await r.status()) },
        Route(.POST, ["v1", "debug", "wedge"]) { r, c in try r.wedge(c) },
        Route(.GET, ["v1", "debug", "stock-script"]) { r, _ in
            let script = try await r.info.stockScript()
            return r.json(.ok, API.StockScript(redis: script.server, sha: script.sha))
        },
        Route(.GET, ["v1", "sales"]) { r, _ in
            let fenced = await r.coordinator.fencedItems
            return r.json(.ok, API.Sales(sales: try await r.coordinator.listSales().map { sale($0, fenced: fenced, nowMs: r.coordinator.redisNowMs()) }))
        },
        Route(.POST, ["v1", "sales"]) { r, c in try await r.createSale(c) },
        Route(.GET, ["v1", "sales", "*"]) { r, c in
            r.json(.ok, sale(try await r.coordinator.showSale(item: c.item), fenced: await r.coordinator.fencedItems,
                             nowMs: r.coordinator.redisNowMs()))
        },
        Route(.POST, ["v1", "sales", "*", "restock"]) { r, c in try await r.restock(c) },
        Route(.POST, ["v1", "sales", "*", "reset"]) { r, c in try await r.reset(c) },
        Route(.POST, ["v1", "sales", "*", "repair"]) { r, c in try await r.repair(c) },
        Route(.POST, ["v1", "sales", "*", "pause"]) { r, c in try await r.pause(c, true) },
        Route(.POST, ["v1", "sales", "*", "resume"]) { r, c in try await r.pause(c, false) },
        Route(.POST, ["v1", "purchases"]) { r, c in
            let body = try c.buy ?? Self.withIdempotencyKey(r.decode(API.Buy.self, c.request), c.request)
            if body.crashAfter != nil { try r.requireAdmin(c.request, "fault injection") }
            return try await r.buy(body)
        },
        Route(.GET, ["v1", "orders"], query: ["user", "item", "request_id", "state", "limit", "before", "after"]) { r, c in
            let q = c.request.query
            if q["after"] != nil { return try await r.feed(c) }
            let page = try await r.coordinator.orders(OrderQuery(item: q["item"], user: q["user"], requestID: q["request_id"],
                                                                 hold: try holdState(q["state"])),
                                                      limit: try r.limit(c.request), before: try r.cursor(c.request))
            return r.json(.ok, API.Orders(orders: page.rows.map { order($0, replayed: nil) }, next: page.next?.text))
        },
        Route(.GET, ["v1", "orders", "*"]) { r, c in r.json(.ok, order(try await r.coordinator.order(id: c.key), replayed: nil)) },
        Route(.POST, ["v1", "orders", "*", "confirm"]) { r, c in try await r.decide(c, .confirm) },
        Route(.POST, ["v1", "orders", "*", "cancel"]) { r, c in try await r.decide(c, .cancel) },
        Route(.GET, ["v1", "txns"], query: ["state", "limit", "before"]) { r, c in try await r.txns(c) },
        Route(.GET, ["v1", "audit"], query: ["orders_db"]) { r, c in try await r.audit(c) },
        Route(.POST, ["v1", "delivery"]) { r, c in try await r.controlDelivery(c) },
    ]

    private func wedge(_ c: Call) throws -> Response {
        try requireAdmin(c.request, "wedge")
        guard info.faultInjection else {
            throw EngineError(.faultInjectionDisabled, "fault injection is disabled; start flashd with --enable-fault-injection")
        }
        info.wedge()
        return json(.accepted, ["wedged": true])
    }

    private func createSale(_ c: Call) async throws -> Response {
        try requireAdmin(c.request, "create sale")
        let body = try decode(API.CreateSale.self, c.request)
        var clock = try SaleTime.clock(opensAt: body.opensAt, closesAt: body.closesAt, nowMs: coordinator.redisNowMs())
        clock.holdMs = body.holdSeconds.map { Int64($0) * 1000 }
        let sale = try await coordinator.createSale(item: body.item, stock: body.stock, limitPerUser: body.limitPerUser ?? 1, clock: clock)
        return json(.created, Self.sale(Coordinator.SaleView(sale: sale, orders: 0, pending: 0), nowMs: coordinator.redisNowMs()))
    }

    private func restock(_ c: Call) async throws -> Response {
        try requireAdmin(c.request, "restock")
        let body = try decode(API.Restock.self, c.request)
        _ = try await coordinator.restock(item: c.item, add: body.add, requestID: body.requestID)
        return json(.ok, Self.sale(try await coordinator.showSale(item: c.item), nowMs: coordinator.redisNowMs()))
    }

    private func reset(_ c: Call) async throws -> Response {
        try requireAdmin(c.request, "reset")
        let body = try decode(API.Reset.self, c.request)
        var clock = try SaleTime.clock(opensAt: body.opensAt, closesAt: body.closesAt, nowMs: coordinator.redisNowMs())
        clock.holdMs = body.holdSeconds.map { Int64($0) * 1000 }
        _ = try await coordinator.reset(item: c.item, stock: body.stock, limitPerUser: body.limitPerUser, clock: clock,
                                        requestID: body.requestID)
        return json(.ok, Self.sale(try await coordinator.showSale(item: c.item), nowMs: coordinator.redisNowMs()))
    }

    /// Pause and resume: admin verbs, like restock.
    private func pause(_ c: Call, _ paused: Bool) async throws -> Response {
        try requireAdmin(c.request, paused ? "pause" : "resume")
        _ = try await coordinator.setPaused(item: c.item, paused)
        return json(.ok, Self.sale(try await coordinator.showSale(item: c.item), nowMs: coordinator.redisNowMs()))
    }

    private func repair(_ c: Call) async throws -> Response {
        try requireAdmin(c.request, "repair")
        let body = c.request.body.isEmpty ? API.Repair() : try decode(API.Repair.self, c.request)
        let r = try await coordinator.repair(item: c.item, apply: body.apply ?? false)
        return json(.ok, API.RepairReport(item: r.item, round: r.round, node: r.node, orders: r.orders, missing: r.missing,
                                          applied: r.applied, stockRemaining: r.stockAfter, oversold: max(0, -r.stockAfter),
                                          fencesLeft: r.fencesLeft))
    }

    private func txns(_ c: Call) async throws -> Response {
        var state: TxnState?
        if let s = c.request.query["state"], !s.isEmpty {
            guard let parsed = TxnState(rawValue: s) else {
                throw EngineError.invalidInput(field: "state", "state must be prepared, succeeded or failed")
            }
            state = parsed
        }
        let page = try await coordinator.transactions(state: state, limit: try limit(c.request), before: try cursor(c.request))
        return json(.ok, API.Txns(txns: page.rows.map(Self.txn), next: page.next?.text))
    }

    private func audit(_ c: Call) async throws -> Response {
        let lines = try await coordinator.audit()
        let db = try await ordersDB(c)
        let fenced = await coordinator.fencedItems
        let items = lines.map { line in
            // Hold figures only for an item whose current round has held orders.
            let holds = line.holds == HoldCounts() ? nil : line.holds
            return API.AuditItem(item: line.item, round: line.round, stockTotal: line.total, stockTaken: line.taken,
                                 orders: line.orders, pending: line.pending, consistent: line.consistent, redisBehind: fenced[line.item],
                                 held: holds?.held, confirmed: holds?.confirmed, released: holds?.released, deciding: holds?.deciding,
                                 ordersDB: db.map { $0.counts[ItemRound(item: line.item, round: line.round)] ?? 0 })
        }
        var check: API.OrdersDBAudit?
        if let db {
            check = API.OrdersDBAudit(target: db.target, consistent: items.allSatisfy { ($0.ordersDB ?? 0) <= $0.stockTaken },
                                      complete: items.allSatisfy { $0.ordersDB == $0.stockTaken }, lagChanges: db.lag)
        }
        return json(.ok, API.Audit(consistent: items.allSatisfy(\.consistent),
                                   settled: lines.allSatisfy { $0.pending == 0 && $0.holds.deciding == 0 },
                                   items: items, ordersDB: check))
    }
}
