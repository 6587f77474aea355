import Control
import FlashCore
import FoundationEssentials
import Logging
import NIOHTTP1

/// Maps the socket API onto the coordinator. Every answer is JSON; every error is a status code
/// plus `{"error": "<code>", "message": "..."}`.
public struct Router: Sendable {
    let coordinator: Coordinator
    let info: DaemonInfo
    let logger: Logger

    public init(coordinator: Coordinator, info: DaemonInfo, logger: Logger) {
        self.coordinator = coordinator
        self.info = info
        self.logger = logger
    }

    /// What the router is told about the daemon around it.
    public struct DaemonInfo: Sendable {
        var redisTarget: String
        var journalPath: String
        var faultInjection: Bool
        /// Prometheus text exposition of every metric.
        var metrics: @Sendable () -> String
        /// Fault injection: hang the journal, so the watchdog must restart flashd.
        var wedge: @Sendable () -> Void
        /// Serve only `Router.onView`: the metrics and the live sale page (the optional TCP listener).
        public var metricsOnly = false
        /// Counters kept below the engine (group commits), merged into status' counters.
        var storageCounters: @Sendable () -> [String: Int] = { [:] }
        /// The SHA of the purchase script, loaded into Redis, and the server it is loaded on
        /// (the primary, behind Sentinel), for `bench`'s Lua ceiling.
        var stockScript: @Sendable () async throws -> (sha: String, server: String) = {
            throw EngineError(.internalError, "no stock script in this configuration")
        }

        /// Delivery to the shop's database, when configured.
        var delivery: OrderDeliverer?

        public init(redisTarget: String, journalPath: String, faultInjection: Bool, metrics: @escaping @Sendable () -> String,
                    wedge: @escaping @Sendable () -> Void, metricsOnly: Bool = false,
                    storageCounters: @escaping @Sendable () -> [String: Int] = { [:] },
                    stockScript: (@Sendable () async throws -> (sha: String, server: String))? = nil,
                    delivery: OrderDeliverer? = nil) {
            self.delivery = delivery
            self.redisTarget = redisTarget
            self.journalPath = journalPath
            self.faultInjection = faultInjection
            self.metrics = metrics
            self.wedge = wedge
            self.metricsOnly = metricsOnly
            self.storageCounters = storageCounters
            if let stockScript { self.stockScript = stockScript }
        }
    }

    /// What the event loop does with a request before any task: answer it there, or hand it to
    /// `handle` (with a purchase's body decoded already, so it isn't decoded twice).
    enum Immediate {
        case answer(Response)
        case buy(API.Buy)
        case pass
    }

    /// Answers that need no suspension, given on the event loop: the no-op ping (the benchmark's
    /// ceiling: socket and HTTP alone), and purchases the sold-out gate refuses.
    func immediate(_ request: Request) -> Immediate {
        guard !info.metricsOnly else { return .pass }
        switch (request.method, request.path) {
        case (.GET, "/v1/ping") where request.query.isEmpty:
            return .answer(Self.pong)
        case (.POST, "/v1/purchases") where request.query.isEmpty && !request.malformedURI:
            // A body that doesn't decode gets its precise error from the normal path (and so
            // does a query string, which a purchase doesn't take).
            guard let decoded = PurchaseJSON.decodeBuy(request.body) ?? (try? decode(API.Buy.self, request)),
                  let body = try? Self.withIdempotencyKey(decoded, request) else { return .pass }
            guard body.crashAfter == nil, body.crashMode == nil,
                  let refusal = coordinator.refusedAtOnce(item: body.item, user: body.user, requestID: body.requestID) else { return .buy(body) }
            return .answer(refused(refusal.reason, item: body.item, gid: refusal.gid, requestID: body.requestID))
        default:
            return .pass
        }
    }

    static let pong = Response(status: .ok, body: Array(#"{"ok":true}"#.utf8))

    /// Answers `request` from the route table (`Router+Routes.swift`): its path picks the
    /// resource (404 if none), its method the route (405 with `Allow` if the resource has
    /// others). `buy`: the purchase body `immediate` decoded already.
    func handle(_ request: Request, buy: API.Buy? = nil) async -> Response {
        if request.malformedURI {
            return Self.errorResponse(.badRequest, .invalidInput, "the request URI has a malformed percent-escape or is not UTF-8")
        }
        let segments = request.path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        if info.metricsOnly && !Self.onView(request.method, segments) {
            return Self.errorResponse(.notFound, .notFound, "this listener serves GET /metrics and the live sale page only")
        }
        let resource = Self.routes.compactMap { route in route.match(segments).map { (route, $0) } }
        guard !resource.isEmpty else { return Self.errorResponse(.notFound, .notFound, "no such resource: \(request.path)") }
        guard let (route, key) = resource.first(where: { $0.0.method == request.method }) else {
            let allowed = resource.map(\.0.method.rawValue).joined(separator: ", ")
            var r = Self.errorResponse(.methodNotAllowed, .methodNotAllowed,
                                       "\(request.method) is not allowed on \(request.path); use \(allowed)")
            r.headers.append(("Allow", allowed))
            return r
        }
        // A parameter the route doesn't read is a mistake to report, not to ignore: a misspelt
        // filter would otherwise answer with everything.
        if let unknown = request.query.keys.sorted().first(where: { !route.query.contains($0) }) {
            let takes = route.query.isEmpty ? "takes no query parameters" : "takes " + route.query.joined(separator: ", ")
            return Self.response(for: EngineError.invalidInput(field: unknown, "unknown query parameter \(unknown): \(request.method) "
                                                                  + "/\(route.path.joined(separator: "/")) \(takes)"))
        }
        do {
            return try await route.answer(self, Call(request: request, key: key, buy: buy))
        } catch let e as EngineError {
            return Self.response(for: e)
        } catch let e as API.ErrorBody {
            return json(.badRequest, e)
        } catch {
            return Self.errorResponse(.internalServerError, .internal, "\(error)")
        }
    }

    /// The purchase's request id from the `Idempotency-Key` header, when the body names none;
    /// both naming different ones is a mistake, not a choice.
    static func withIdempotencyKey(_ body: API.Buy, _ request: Request) throws -> API.Buy {
        guard let key = request.idempotencyKey else { return body }
        guard let id = body.requestID else {
            var b = body
            b.requestID = key
            return b
        }
        guard id == key else {
            throw EngineError.invalidInput(field: "request_id", "request_id and the Idempotency-Key header differ; send one, or the same")
        }
        return body
    }

    func buy(_ body: API.Buy) async throws -> Response {
        let fault = try Self.fault(body.crashAfter, body.crashMode, hold: false)
        // Without a request id the purchase can't be retried safely; give it a fresh one and
        // return it, so the client can retry with it.
        // Every answer carries it, errors too: a 503 after the stock step means the unit may be
        // taken, and only a retry under the same id is sure to get that purchase's outcome.
        let requestID = body.requestID ?? Self.randomRequestID()
        let outcome: PurchaseOutcome
        do {
            outcome = try await coordinator.buy(item: body.item, user: body.user, requestID: requestID, fault: fault)
        } catch let e as EngineError {
            var r = Self.response(for: e, requestID: requestID)
            if body.requestID == nil, r.status == .serviceUnavailable {
                r.body = PurchaseJSON.encode(API.ErrorBody(error: e.code.rawValue, message: e.message + "; retry with request_id "
                                                           + requestID + ", or the retry may buy a second unit",
                                                           gid: e.gid, field: e.field, requestID: requestID))
            }
            return r
        }
        switch outcome {
        case .ordered(let order, let replayed):
            return Response(status: .created, body: PurchaseJSON.encode(Self.order(order, replayed: replayed)))
        case .refused(let reason, let gid, _):
            return refused(reason, item: body.item, gid: gid, requestID: requestID)
        }
    }

    /// A request's crash point (fault injection): one of a purchase's (`hold` false) or of a
    /// confirm or cancel's, and abandon (the default) or exit.
    static func fault(_ after: String?, _ mode: String?, hold: Bool) throws -> FaultRequest? {
        guard let after else {
            if mode != nil { throw EngineError.invalidInput(field: "crash_mode", "crash_mode needs crash_after") }
            return nil
        }
        guard let point = FaultPoint(rawValue: after), point.isHoldPoint == hold else {
            let points = FaultPoint.allCases.filter { $0.isHoldPoint == hold }.map(\.rawValue)
            throw EngineError.invalidInput(field: "crash_after", "crash_after must be " + points.joined(separator: ", "))
        }
        guard let m = FaultMode(rawValue: mode ?? "abandon") else {
            throw EngineError.invalidInput(field: "crash_mode", "crash_mode must be abandon or exit")
        }
        return FaultRequest(point: point, mode: m)
    }

    /// Admin verbs: root or the admin group only. A refusal is logged with the peer's identity.
    func requireAdmin(_ request: Request, _ verb: String) throws {
        guard !request.peer.isAdmin else { return }
        logger.warning("admin verb refused", metadata: [
            "verb": "\(verb)", "peer_uid": "\(request.peer.uid)", "peer_gid": "\(request.peer.gid)", "peer_pid": "\(request.peer.pid)",
        ])
        throw EngineError(.forbidden, "\(verb) needs root or membership of the admin group")
    }

    func status() async -> API.Status {
        let s = await coordinator.status()
        let c = s.counters
        return API.Status(
            version: API.version, node: s.node, uptimeSeconds: s.uptimeSeconds,
            redis: API.Health(ok: s.redisOK, target: info.redisTarget, error: s.redisError),
            sqlite: API.Health(ok: s.journalOK, target: info.journalPath, error: s.journalError),
            sales: s.sales, orders: s.orders, pending: s.pending, inflight: s.inflight,
            faultInjection: info.faultInjection, draining: s.draining,
            // From the one tally; other_refusals and errors keep the names scripts already read,
            // and the fast path's sold-out answers stay apart (sold_out_fast).
            counters: ["ordered": c[.ordered], "sold_out": c[.soldOut], "limit_reached": c[.limitReached],
                       "other_refusals": c.otherRefusals, "replayed": c[.replayed], "errors": c[.error],
                       "resolved_ordered": c.resolvedOrdered, "resolved_rolled_back": c.resolvedRolledBack,
                       "resolve_retries": c.resolveRetries, "answered_from_other_node": c.adoptedElsewhere,
                       "holds_confirmed": c.holdsConfirmed,
                       "holds_cancelled": c.holdsCancelled, "holds_expired": c.holdsExpired,
                       "sold_out_fast": s.fastSoldOut, "clock_refused_fast": s.fastClockRefused,
                       "clock_refusals": c.clockRefusals, "sold_out_items": s.soldOutItems,
                       "sold_out_gate_open": s.fastPathOpen ? 1 : 0, "node_lease_held": s.nodeLeaseHeld ? 1 : 0]
                .merging(info.storageCounters()) { a, _ in a },
            peakRSSBytes: Self.peakRSSBytes(), redisBehind: s.redisBehind, delivery: await deliveryStatus())
    }

    // MARK: decoding and encoding

    func decode<T: Decodable>(_ type: T.Type, _ request: Request) throws -> T {
        guard !request.body.isEmpty else {
            throw API.ErrorBody(.invalidJSON, message: "request body must be a JSON object")
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(request.body))
        } catch let DecodingError.keyNotFound(key, _) {
            throw API.ErrorBody(.invalidInput, message: "missing field \(key.stringValue)", field: key.stringValue)
        } catch let DecodingError.typeMismatch(_, ctx) where ctx.codingPath.isEmpty {
            throw API.ErrorBody(.invalidJSON, message: "request body must be a JSON object")
        } catch let DecodingError.typeMismatch(_, ctx), let DecodingError.valueNotFound(_, ctx) {
            let field = ctx.codingPath.map(\.stringValue).joined(separator: ".")
            throw API.ErrorBody(.invalidInput, message: "field \(field) has the wrong type", field: field)
        } catch {
            throw API.ErrorBody(.invalidJSON, message: "request body is not valid JSON")
        }
    }

    /// Listings are pages of at most `maxPage` rows: a response stays small whatever the
    /// journal holds, and `before` (the `next` of the previous page) walks further back.
    static let maxPage = 1000

    func limit(_ request: Request) throws -> Int {
        guard let text = request.query["limit"] else { return 100 }
        guard let n = Int(text), (1...Self.maxPage).contains(n) else {
            throw EngineError.invalidInput(field: "limit", "limit must be 1...\(Self.maxPage); page further with before=NEXT")
        }
        return n
    }

    func cursor(_ request: Request) throws -> ListCursor? {
        guard let text = request.query["before"] else { return nil }
        guard let c = ListCursor(parsing: text) else {
            throw EngineError.invalidInput(field: "before", "before must be the next value of a previous page")
        }
        return c
    }

    func json<T: Encodable>(_ status: HTTPResponseStatus, _ value: T) -> Response {
        let bytes = (try? JSONEncoder().encode(value)).map(Array.init) ?? Array("{}".utf8)
        return Response(status: status, body: bytes)
    }

    static func response(for e: EngineError, requestID: String? = nil) -> Response {
        let status: HTTPResponseStatus
        switch e.code {
        case .invalidInput: status = .badRequest
        case .unknownSale, .unknownOrder: status = .notFound
        case .saleExists, .salePending, .conflict, .deliveryOff: status = .conflict
        case .redisUnavailable, .replicasBehind, .redisBehind, .journalUnavailable, .shuttingDown, .saleBusy, .nodeConflict,
             .ordersDBUnavailable:
            status = .serviceUnavailable
        case .faultInjected, .internalError: status = .internalServerError
        case .faultInjectionDisabled, .forbidden: status = .forbidden
        }
        let body = API.ErrorBody(error: e.code.rawValue, message: e.message, gid: e.gid, field: e.field, requestID: requestID)
        var r = Response(status: status, body: PurchaseJSON.encode(body))
        if status == .serviceUnavailable { r.headers.append(("Retry-After", "1")) }
        return r
    }

    static func errorResponse(_ status: HTTPResponseStatus, _ code: API.ErrorCode, _ message: String) -> Response {
        Response(status: status, body: PurchaseJSON.encode(API.ErrorBody(code, message: message)))
    }

    /// A purchase's refusal: 404 for no sale, else 409; a clock's refusal says when.
    func refused(_ reason: FailureReason, item: String, gid: String, requestID: String?) -> Response {
        let status: HTTPResponseStatus = reason == .unknownSale ? .notFound : .conflict
        // Only a clock's refusal reads the clock: a sold-out answer on the fast path does no more.
        let clock = reason == .notOpen || reason == .closed ? coordinator.gate.clock(item: item) : nil
        return Response(status: status, body: PurchaseJSON.encode(API.ErrorBody(
            error: reason.rawValue, message: Self.message(reason, item: item, clock: clock, nowMs: clock == nil ? 0 : coordinator.redisNowMs()),
            gid: gid, requestID: requestID, opensAt: reason == .notOpen ? clock?.opensMs.map(SaleTime.format) : nil)))
    }

    static func message(_ reason: FailureReason, item: String, clock: SaleClock? = nil, nowMs: Int64 = 0) -> String {
        switch reason {
        case .notOpen:
            guard let opens = clock?.opensMs else { return "the sale of \(item) is not open yet" }
            return "the sale of \(item) opens at \(SaleTime.format(opens)) (in \(max(1, (opens - nowMs + 999) / 1000)) s)"
        case .closed:
            guard let closes = clock?.closesMs else { return "the sale of \(item) is closed" }
            return "the sale of \(item) closed at \(SaleTime.format(closes))"
        case .paused: return "the sale of \(item) is paused"
        case .soldOut: return "\(item) is sold out"
        case .limitReached: return "the per-user limit for \(item) is reached"
        case .rolledBack: return "the purchase was rolled back before any stock was taken"
        case .saleReset: return "the sale of \(item) was reset during the purchase; buy again"
        case .unknownSale: return "no sale for item \(item)"
        }
    }

    /// VmHWM from /proc/self/status: the most memory the daemon has held resident.
    static func peakRSSBytes() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kb = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else { return nil }
        return kb * 1024
    }

    static func randomRequestID() -> String {
        var g = SystemRandomNumberGenerator()
        let a = g.next() as UInt64, b = g.next() as UInt64
        return "r-" + String(a, radix: 36) + String(b, radix: 36)
    }

    static func sale(_ v: Coordinator.SaleView, fenced: [String: String] = [:], nowMs: Int64) -> API.Sale {
        let clock = v.sale.clock
        let held = clock.holdMs != nil || v.holds != HoldCounts()
        return API.Sale(item: v.sale.item, round: v.sale.round, limitPerUser: v.sale.limitPerUser, stockTotal: v.sale.total,
                        stockRemaining: v.sale.remaining, stockTaken: v.sale.taken, orders: v.orders, pending: v.pending,
                        redisBehind: fenced[v.sale.item], state: clock.state(atMs: nowMs).rawValue,
                        opensAt: clock.opensMs.map(SaleTime.format), closesAt: clock.closesMs.map(SaleTime.format),
                        holdSeconds: clock.holdMs.map { Int($0 / 1000) }, held: held ? v.holds.held + v.holds.deciding : nil,
                        confirmed: held ? v.holds.confirmed : nil, released: held ? v.holds.released : nil)
    }

    static func order(_ o: Order, replayed: Bool?) -> API.Order {
        API.Order(orderID: o.orderID, gid: o.gid, item: o.item, round: o.round, user: o.user, requestID: o.requestID,
                  createdMs: o.createdMs, replayed: replayed, state: o.hold?.rawValue ?? "final",
                  expiresAt: o.expiresMs.map(SaleTime.format), releaseCause: o.releaseCause?.rawValue)
    }

    static func txn(_ t: TxnRecord) -> API.Txn {
        API.Txn(gid: t.gid, item: t.item, round: t.round, user: t.user, requestID: t.requestID, state: t.state.rawValue,
                reason: t.reason?.rawValue, orderID: t.orderID, createdMs: t.createdMs, updatedMs: t.updatedMs,
                nextCheckMs: t.nextCheckMs, attempts: t.attempts, lastError: t.lastError)
    }
}
