/// The socket API's request and response bodies (HTTP/1.1 + JSON), shared by flashd and
/// flashsalectl. JSON keys are snake_case, spelled out in each type's CodingKeys.
public enum API {
    public static let version = "0.1.0"

    public struct CreateSale: Codable, Sendable {
        public var item: String
        public var stock: Int
        public var limitPerUser: Int?
        /// When it opens and closes: RFC 3339, or `+N` s/m/h/d from now on Redis' clock.
        public var opensAt: String?
        public var closesAt: String?
        /// How long an order is held for payment before its unit returns (none: orders are final).
        public var holdSeconds: Int?
        public init(item: String, stock: Int, limitPerUser: Int? = nil, opensAt: String? = nil, closesAt: String? = nil,
                    holdSeconds: Int? = nil) {
            self.holdSeconds = holdSeconds
            self.item = item
            self.stock = stock
            self.limitPerUser = limitPerUser
            self.opensAt = opensAt
            self.closesAt = closesAt
        }
        enum CodingKeys: String, CodingKey {
            case item, stock, limitPerUser = "limit_per_user", opensAt = "opens_at", closesAt = "closes_at"
            case holdSeconds = "hold_seconds"
        }
    }

    public struct Restock: Codable, Sendable {
        public var add: Int
        /// A restock retried with the same id (its answer was lost) adds nothing again.
        public var requestID: String?
        public init(add: Int, requestID: String? = nil) {
            self.add = add
            self.requestID = requestID
        }
        enum CodingKeys: String, CodingKey { case add, requestID = "request_id" }
    }

    public struct Reset: Codable, Sendable {
        public var stock: Int
        public var limitPerUser: Int?
        /// A reset retried with the same id returns the round it made instead of another.
        public var requestID: String?
        /// The new round's clock, as on create; without them the round opens at once.
        public var opensAt: String?
        public var closesAt: String?
        public var holdSeconds: Int?
        public init(stock: Int, limitPerUser: Int? = nil, requestID: String? = nil, opensAt: String? = nil, closesAt: String? = nil,
                    holdSeconds: Int? = nil) {
            self.holdSeconds = holdSeconds
            self.stock = stock
            self.limitPerUser = limitPerUser
            self.requestID = requestID
            self.opensAt = opensAt
            self.closesAt = closesAt
        }
        enum CodingKeys: String, CodingKey {
            case stock, limitPerUser = "limit_per_user", requestID = "request_id", opensAt = "opens_at", closesAt = "closes_at"
            case holdSeconds = "hold_seconds"
        }
    }

    /// `POST /v1/sales/ITEM/repair`: re-apply this node's orders whose deductions Redis lost.
    public struct Repair: Codable, Sendable {
        /// false (the default): a dry run that only reports.
        public var apply: Bool?
        public init(apply: Bool? = nil) { self.apply = apply }
    }

    public struct RepairReport: Codable, Sendable, Equatable {
        public var item: String
        public var round: Int
        public var node: String
        /// This node's orders of the round.
        public var orders: Int
        /// Of those, the ones whose deduction Redis had lost (restored when applied).
        public var missing: Int
        public var applied: Bool
        public var stockRemaining: Int
        /// Units sold twice while Redis was behind (stock below zero after the repair).
        public var oversold: Int
        /// Nodes whose fence is still up: each lifts its own by its repair.
        public var fencesLeft: [String]
        public init(item: String, round: Int, node: String, orders: Int, missing: Int, applied: Bool, stockRemaining: Int,
                    oversold: Int, fencesLeft: [String]) {
            self.item = item
            self.round = round
            self.node = node
            self.orders = orders
            self.missing = missing
            self.applied = applied
            self.stockRemaining = stockRemaining
            self.oversold = oversold
            self.fencesLeft = fencesLeft
        }
        enum CodingKeys: String, CodingKey {
            case item, round, node, orders, missing, applied, oversold
            case stockRemaining = "stock_remaining", fencesLeft = "fences_left"
        }
    }

    public struct Sale: Codable, Sendable, Equatable {
        public var item: String
        public var round: Int
        public var limitPerUser: Int
        public var stockTotal: Int
        public var stockRemaining: Int
        public var stockTaken: Int
        public var orders: Int
        public var pending: Int
        /// Set while the sale is fenced because Redis is behind a journal (G9): why.
        public var redisBehind: String?
        /// open, scheduled (not open yet), paused or closed, on Redis' clock.
        public var state: String?
        public var opensAt: String?
        public var closesAt: String?
        /// The hold, and this node's orders of the round by hold (absent without a hold).
        public var holdSeconds: Int?
        public var held: Int?
        public var confirmed: Int?
        public var released: Int?
        public init(item: String, round: Int, limitPerUser: Int, stockTotal: Int, stockRemaining: Int, stockTaken: Int,
                    orders: Int, pending: Int, redisBehind: String? = nil, state: String? = nil, opensAt: String? = nil,
                    closesAt: String? = nil, holdSeconds: Int? = nil, held: Int? = nil, confirmed: Int? = nil, released: Int? = nil) {
            self.holdSeconds = holdSeconds
            self.held = held
            self.confirmed = confirmed
            self.released = released
            self.redisBehind = redisBehind
            self.state = state
            self.opensAt = opensAt
            self.closesAt = closesAt
            self.item = item
            self.round = round
            self.limitPerUser = limitPerUser
            self.stockTotal = stockTotal
            self.stockRemaining = stockRemaining
            self.stockTaken = stockTaken
            self.orders = orders
            self.pending = pending
        }
        enum CodingKeys: String, CodingKey {
            case item, round, orders, pending, redisBehind = "redis_behind", state, opensAt = "opens_at", closesAt = "closes_at"
            case limitPerUser = "limit_per_user", stockTotal = "stock_total"
            case stockRemaining = "stock_remaining", stockTaken = "stock_taken"
            case holdSeconds = "hold_seconds", held, confirmed, released
        }
    }

    public struct Sales: Codable, Sendable {
        public var sales: [Sale]
        public init(sales: [Sale]) { self.sales = sales }
    }

    public struct Buy: Codable, Sendable {
        public var item: String
        public var user: String
        public var requestID: String?
        /// Fault injection: `after-journal`, `after-stock` or `before-order`.
        public var crashAfter: String?
        /// `abandon` (default) or `exit`.
        public var crashMode: String?
        public init(item: String, user: String, requestID: String? = nil, crashAfter: String? = nil, crashMode: String? = nil) {
            self.item = item
            self.user = user
            self.requestID = requestID
            self.crashAfter = crashAfter
            self.crashMode = crashMode
        }
        enum CodingKeys: String, CodingKey {
            case item, user, requestID = "request_id", crashAfter = "crash_after", crashMode = "crash_mode"
        }
    }

    public struct Txn: Codable, Sendable, Equatable {
        public var gid: String
        public var item: String
        public var round: Int
        public var user: String
        public var requestID: String
        public var state: String
        public var reason: String?
        public var orderID: String?
        public var createdMs: Int64
        public var updatedMs: Int64
        public var nextCheckMs: Int64
        public var attempts: Int
        public var lastError: String?
        public init(gid: String, item: String, round: Int, user: String, requestID: String, state: String, reason: String?,
                    orderID: String?, createdMs: Int64, updatedMs: Int64, nextCheckMs: Int64, attempts: Int, lastError: String?) {
            self.gid = gid
            self.item = item
            self.round = round
            self.user = user
            self.requestID = requestID
            self.state = state
            self.reason = reason
            self.orderID = orderID
            self.createdMs = createdMs
            self.updatedMs = updatedMs
            self.nextCheckMs = nextCheckMs
            self.attempts = attempts
            self.lastError = lastError
        }
        enum CodingKeys: String, CodingKey {
            case gid, item, round, user, state, reason, attempts
            case requestID = "request_id", orderID = "order_id", createdMs = "created_ms", updatedMs = "updated_ms"
            case nextCheckMs = "next_check_ms", lastError = "last_error"
        }
    }

    public struct Txns: Codable, Sendable {
        public var txns: [Txn]
        /// More (older) rows: ask again with `before=` this; absent on the last page.
        public var next: String?
        public init(txns: [Txn], next: String? = nil) {
            self.txns = txns
            self.next = next
        }
    }

    public struct Health: Codable, Sendable {
        public var ok: Bool
        public var target: String
        public var error: String?
        public init(ok: Bool, target: String, error: String?) {
            self.ok = ok
            self.target = target
            self.error = error
        }
    }

    public struct Status: Codable, Sendable {
        public var version: String
        public var node: String
        public var uptimeSeconds: Double
        public var redis: Health
        public var sqlite: Health
        public var sales: Int
        public var orders: Int
        public var pending: Int
        public var inflight: Int
        public var faultInjection: Bool
        public var draining: Bool
        public var counters: [String: Int]
        /// The daemon's peak resident set (VmHWM), for the benchmark's memory figure.
        public var peakRSSBytes: Int?
        /// Items fenced because Redis is behind a journal (G9), with why; empty when none.
        public var redisBehind: [String: String]?
        /// Delivery to the shop's PostgreSQL (absent when flashd delivers nowhere).
        public var delivery: Delivery?
        public init(version: String, node: String, uptimeSeconds: Double, redis: Health, sqlite: Health, sales: Int, orders: Int,
                    pending: Int, inflight: Int, faultInjection: Bool, draining: Bool, counters: [String: Int],
                    peakRSSBytes: Int? = nil, redisBehind: [String: String]? = nil, delivery: Delivery? = nil) {
            self.delivery = delivery
            self.peakRSSBytes = peakRSSBytes
            self.redisBehind = redisBehind
            self.version = version
            self.node = node
            self.uptimeSeconds = uptimeSeconds
            self.redis = redis
            self.sqlite = sqlite
            self.sales = sales
            self.orders = orders
            self.pending = pending
            self.inflight = inflight
            self.faultInjection = faultInjection
            self.draining = draining
            self.counters = counters
        }
        enum CodingKeys: String, CodingKey {
            case version, node, redis, sqlite, sales, orders, pending, inflight, draining, counters
            case uptimeSeconds = "uptime_seconds", faultInjection = "fault_injection", peakRSSBytes = "peak_rss_bytes"
            case redisBehind = "redis_behind", delivery
        }
    }

    /// `GET /v1/debug/stock-script`: where the purchase script runs, so `bench` can measure the
    /// script alone against the same Redis (redis-benchmark EVALSHA).
    public struct StockScript: Codable, Sendable {
        /// `unix:/path` or `host:port`.
        public var redis: String
        public var sha: String
        public init(redis: String, sha: String) {
            self.redis = redis
            self.sha = sha
        }
    }
}
