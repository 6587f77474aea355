/// The socket API's orders, holds and audit.
extension API {
    public struct Order: Codable, Sendable, Equatable {
        public var orderID: String
        public var gid: String
        public var item: String
        public var round: Int
        public var user: String
        public var requestID: String
        public var createdMs: Int64
        /// Set on a purchase answer: true when this is the outcome of an earlier identical request.
        public var replayed: Bool?
        /// `final` (the sale has no hold), `held`, `confirming`, `releasing`, `confirmed` or `released`.
        public var state: String?
        /// When a held order's unit returns unless confirmed (RFC 3339, Redis' clock).
        public var expiresAt: String?
        /// Why a released order was released: `cancelled` or `expired`.
        public var releaseCause: String?
        public init(orderID: String, gid: String, item: String, round: Int, user: String, requestID: String,
                    createdMs: Int64, replayed: Bool? = nil, state: String? = nil, expiresAt: String? = nil, releaseCause: String? = nil) {
            self.state = state
            self.expiresAt = expiresAt
            self.releaseCause = releaseCause
            self.orderID = orderID
            self.gid = gid
            self.item = item
            self.round = round
            self.user = user
            self.requestID = requestID
            self.createdMs = createdMs
            self.replayed = replayed
        }
        enum CodingKeys: String, CodingKey {
            case orderID = "order_id", gid, item, round, user, requestID = "request_id", createdMs = "created_ms", replayed
            case state, expiresAt = "expires_at", releaseCause = "release_cause"
        }
    }

    public struct Orders: Codable, Sendable {
        public var orders: [Order]
        /// More (older) rows: ask again with `before=` this; absent on the last page.
        public var next: String?
        public init(orders: [Order], next: String? = nil) {
            self.orders = orders
            self.next = next
        }
    }

    /// `POST /v1/orders/ID/confirm` and `/cancel`: an empty body, or a crash point (fault
    /// injection only) for the torture and crash tests.
    public struct Decide: Codable, Sendable {
        public var crashAfter: String?
        public var crashMode: String?
        public init(crashAfter: String? = nil, crashMode: String? = nil) {
            self.crashAfter = crashAfter
            self.crashMode = crashMode
        }
        enum CodingKeys: String, CodingKey { case crashAfter = "crash_after", crashMode = "crash_mode" }
    }

    public struct AuditItem: Codable, Sendable, Equatable {
        public var item: String
        public var round: Int
        public var stockTotal: Int
        public var stockTaken: Int
        public var orders: Int
        public var pending: Int
        public var consistent: Bool
        /// Set while the item is fenced because Redis is behind a journal (G9): why.
        public var redisBehind: String?
        /// Orders by hold (absent for a sale that never held any): a released order's unit is
        /// back in the stock, so stock taken matches orders − released.
        public var held: Int?
        public var confirmed: Int?
        public var released: Int?
        /// Confirms and releases journaled and not finished: Redis may have decided them already.
        public var deciding: Int?
        /// With `?orders_db=1`: rows of this round in the shop's PostgreSQL that keep a unit.
        public var ordersDB: Int?
        public init(item: String, round: Int, stockTotal: Int, stockTaken: Int, orders: Int, pending: Int, consistent: Bool,
                    redisBehind: String? = nil, held: Int? = nil, confirmed: Int? = nil, released: Int? = nil, deciding: Int? = nil,
                    ordersDB: Int? = nil) {
            self.ordersDB = ordersDB
            self.deciding = deciding
            self.held = held
            self.confirmed = confirmed
            self.released = released
            self.redisBehind = redisBehind
            self.item = item
            self.round = round
            self.stockTotal = stockTotal
            self.stockTaken = stockTaken
            self.orders = orders
            self.pending = pending
            self.consistent = consistent
        }
        enum CodingKeys: String, CodingKey {
            case item, round, orders, pending, consistent, stockTotal = "stock_total", stockTaken = "stock_taken"
            case redisBehind = "redis_behind", held, confirmed, released, deciding, ordersDB = "orders_db"
        }
    }

    public struct Audit: Codable, Sendable {
        /// Every item: no oversell, and every deduction has its order or a pending transaction.
        public var consistent: Bool
        /// Nothing pending: with `consistent`, stock taken == orders for every item.
        public var settled: Bool
        public var items: [AuditItem]
        /// With `?orders_db=1`: PostgreSQL against Redis.
        public var ordersDB: OrdersDBAudit?
        public init(consistent: Bool, settled: Bool, items: [AuditItem], ordersDB: OrdersDBAudit? = nil) {
            self.ordersDB = ordersDB
            self.consistent = consistent
            self.settled = settled
            self.items = items
        }
    }

    /// The shop's PostgreSQL against Redis, per item's current round: no row keeps a unit Redis
    /// does not count as taken (`consistent`), and, once every node has delivered and nothing is
    /// pending, every unit taken has its row (`complete`).
    public struct OrdersDBAudit: Codable, Sendable, Equatable {
        public var target: String
        public var consistent: Bool
        public var complete: Bool
        /// This node's changes not delivered yet (other nodes have their own).
        public var lagChanges: Int64
        public init(target: String, consistent: Bool, complete: Bool, lagChanges: Int64) {
            self.target = target
            self.consistent = consistent
            self.complete = complete
            self.lagChanges = lagChanges
        }
        enum CodingKeys: String, CodingKey { case target, consistent, complete, lagChanges = "lag_changes" }
    }
}

/// The feed of orders and their changes (`GET /v1/orders?after=CURSOR`), in journal order.
extension API {
    public struct Change: Codable, Sendable, Equatable {
        /// Where this change sits in the node's journal; `after=` this continues behind it.
        public var cursor: String
        /// The state the order moved to: `final`, `held`, `confirmed` or `released`.
        public var state: String
        /// When the journal committed the change (RFC 3339, UTC).
        public var changedAt: String
        /// The node that sold the order.
        public var node: String
        /// The order as it is now; its `state` may be later than this change's.
        public var order: Order
        public init(cursor: String, state: String, changedAt: String, node: String, order: Order) {
            self.cursor = cursor
            self.state = state
            self.changedAt = changedAt
            self.node = node
            self.order = order
        }
        enum CodingKeys: String, CodingKey { case cursor, state, changedAt = "changed_at", node, order }
    }

    public struct Changes: Codable, Sendable {
        public var changes: [Change]
        /// Always present: ask again with `after=` this for what comes next (the same cursor
        /// when nothing came).
        public var next: String
        public init(changes: [Change], next: String) {
            self.changes = changes
            self.next = next
        }
    }
}
