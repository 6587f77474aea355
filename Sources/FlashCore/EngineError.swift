/// The engine's one error type: a code the HTTP layer maps to a status, and a human message.
public struct EngineError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable, Equatable, CaseIterable {
        case invalidInput = "invalid_input"
        case unknownSale = "unknown_sale"
        /// No such order in this node's journal.
        case unknownOrder = "unknown_order"
        case saleExists = "sale_exists"
        case salePending = "sale_pending"
        /// Redis could not be reached or timed out; the client should retry later.
        case redisUnavailable = "redis_unavailable"
        /// Redis took a write that decides a purchase, but fewer replicas than configured
        /// confirmed it in time (WAIT): it could still be lost in a failover, so the purchase
        /// stays pending until a back-check is confirmed.
        case replicasBehind = "replicas_behind"
        /// Redis holds fewer deductions than a journal proves were made (restarted from an older
        /// snapshot, a stale replica promoted, flushed): the item is fenced until an operator
        /// repairs it (`flashsalectl sale repair`), so no unit is sold twice (G9).
        case redisBehind = "redis_behind"
        /// The journal could not be read or written (busy, full, I/O error).
        case journalUnavailable = "journal_unavailable"
        /// A purchase stopped at an injected fault (abandon mode).
        case faultInjected = "fault_injected"
        case faultInjectionDisabled = "fault_injection_disabled"
        /// The peer may not use this verb (admin verbs need root or the admin group).
        case forbidden
        /// The journal holds a row for this gid that belongs to another purchase.
        case conflict
        case shuttingDown = "shutting_down"
        /// The sale is being reset; a retry in a moment succeeds.
        case saleBusy = "sale_busy"
        /// This node's id is not (or no longer) leased to this process in Redis: another
        /// process may be using it, and two nodes with one id would share gids and barriers.
        case nodeConflict = "node_conflict"
        /// Delivery to a database was asked about, and flashd delivers nowhere (no --orders-to).
        case deliveryOff = "delivery_off"
        /// The orders database could not be read (the audit against it): retry later.
        case ordersDBUnavailable = "orders_db_unavailable"
        case internalError = "internal"
    }

    public let code: Code
    public let message: String
    /// The request field at fault, for `invalidInput`.
    public let field: String?
    /// The global transaction concerned, when there is one.
    public let gid: String?

    public init(_ code: Code, _ message: String, field: String? = nil, gid: String? = nil) {
        self.code = code
        self.message = message
        self.field = field
        self.gid = gid
    }

    public static func invalidInput(field: String, _ message: String) -> EngineError {
        EngineError(.invalidInput, message, field: field)
    }

    public static func unknownSale(_ item: String) -> EngineError {
        EngineError(.unknownSale, "no sale for item \(item)")
    }

    public static func redisUnavailable(_ message: String, gid: String? = nil) -> EngineError {
        EngineError(.redisUnavailable, message, gid: gid)
    }

    public static func journalUnavailable(_ message: String, gid: String? = nil) -> EngineError {
        EngineError(.journalUnavailable, message, gid: gid)
    }

    public func with(gid: String) -> EngineError { EngineError(code, message, field: field, gid: gid) }

    public var description: String { "\(code.rawValue): \(message)" }
}
