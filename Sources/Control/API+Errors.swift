extension API {
    /// Every `error` code an answer can carry, as clients switch on them. flashd's engine has its
    /// own codes (it imports nothing of the socket API); a test checks that each of them is here.
    public enum ErrorCode: String, CaseIterable, Sendable {
        // Refusals of a purchase (409, 404): final for that request id.
        case soldOut = "sold_out"
        case limitReached = "limit_reached"
        case rolledBack = "rolled_back"
        case saleReset = "sale_reset"
        case unknownSale = "unknown_sale"
        case unknownOrder = "unknown_order"
        case notOpen = "not_open"
        case closed
        case paused
        // Refusals of a confirm or cancel (409): the order's hold was decided otherwise.
        case released
        case confirmed
        /// The order's sale has no hold: it was final from the start.
        case final
        // The engine's errors.
        case invalidInput = "invalid_input"
        case saleExists = "sale_exists"
        case salePending = "sale_pending"
        case redisUnavailable = "redis_unavailable"
        case replicasBehind = "replicas_behind"
        case redisBehind = "redis_behind"
        case journalUnavailable = "journal_unavailable"
        case faultInjected = "fault_injected"
        case faultInjectionDisabled = "fault_injection_disabled"
        case forbidden
        case conflict
        case shuttingDown = "shutting_down"
        case saleBusy = "sale_busy"
        case nodeConflict = "node_conflict"
        case deliveryOff = "delivery_off"
        case ordersDBUnavailable = "orders_db_unavailable"
        case `internal`
        // The HTTP layer's.
        case invalidJSON = "invalid_json"
        case notFound = "not_found"
        case methodNotAllowed = "method_not_allowed"
        case payloadTooLarge = "payload_too_large"
        case overloaded
        // flashsalectl's own, under --json: the command line was not one it takes (exit 64).
        case usage
    }

    /// Every error answer: `{"error": "<code>", "message": "..."}`, plus the gid of the purchase
    /// concerned and the offending field where there is one.
    public struct ErrorBody: Codable, Sendable, Error, Equatable {
        public var error: String
        public var message: String
        public var gid: String?
        public var field: String?
        /// On every answer to a purchase: the request id it ran under (the client's, or one
        /// flashd made up). A retry with it can't buy twice; a retry without it can.
        public var requestID: String?
        /// On `not_open`: when the sale opens (RFC 3339, Redis' clock), for a countdown.
        public var opensAt: String?
        public init(error: String, message: String, gid: String? = nil, field: String? = nil, requestID: String? = nil,
                    opensAt: String? = nil) {
            self.error = error
            self.message = message
            self.gid = gid
            self.field = field
            self.requestID = requestID
            self.opensAt = opensAt
        }
        enum CodingKeys: String, CodingKey { case error, message, gid, field, requestID = "request_id", opensAt = "opens_at" }

        public init(_ code: ErrorCode, message: String, gid: String? = nil, field: String? = nil, requestID: String? = nil) {
            self.init(error: code.rawValue, message: message, gid: gid, field: field, requestID: requestID)
        }

        /// The code as the enum (nil: a code this client doesn't know, from a newer flashd).
        public var code: ErrorCode? { ErrorCode(rawValue: error) }
    }
}
