/// Delivery of orders to the shop's PostgreSQL: its state in `status`, and its control.
extension API {
    public struct Delivery: Codable, Sendable, Equatable {
        /// Where orders go (never with a password).
        public var target: String
        public var paused: Bool
        /// The last attempt went through.
        public var ok: Bool
        public var error: String?
        /// The journal's sequence delivered up to, and its newest.
        public var deliveredSeq: Int64
        public var newestSeq: Int64
        /// Changes waiting, and the age of the oldest of them.
        public var lagChanges: Int64
        public var lagSeconds: Double
        /// Since start: changes delivered, batches, failed attempts.
        public var delivered: Int
        public var batches: Int
        public var failures: Int
        /// Since start, the lag of each change delivered (its commit in the journal to
        /// PostgreSQL's commit): `[upper bound in ms, count]`, the last bucket unbounded (-1).
        public var lagHistogramMs: [[Int64]]
        public init(target: String, paused: Bool, ok: Bool, error: String?, deliveredSeq: Int64, newestSeq: Int64,
                    lagChanges: Int64, lagSeconds: Double, delivered: Int, batches: Int, failures: Int, lagHistogramMs: [[Int64]]) {
            self.target = target
            self.paused = paused
            self.ok = ok
            self.error = error
            self.deliveredSeq = deliveredSeq
            self.newestSeq = newestSeq
            self.lagChanges = lagChanges
            self.lagSeconds = lagSeconds
            self.delivered = delivered
            self.batches = batches
            self.failures = failures
            self.lagHistogramMs = lagHistogramMs
        }
        enum CodingKeys: String, CodingKey {
            case target, paused, ok, error, delivered, batches, failures
            case deliveredSeq = "delivered_seq", newestSeq = "newest_seq", lagChanges = "lag_changes", lagSeconds = "lag_seconds"
            case lagHistogramMs = "lag_histogram_ms"
        }

        /// The smallest bucket bound that `fraction` of the counts lie at or under (nil: no
        /// counts; -1: beyond the last bound).
        public static func percentile(_ histogram: [[Int64]], _ fraction: Double) -> Int64? {
            let total = histogram.reduce(0) { $0 + $1[1] }
            guard total > 0 else { return nil }
            let want = Int64((Double(total) * fraction).rounded(.up))
            var seen: Int64 = 0
            for bucket in histogram {
                seen += bucket[1]
                if seen >= want { return bucket[0] }
            }
            return histogram.last?[0]
        }
    }

    /// `POST /v1/delivery`: pause or resume delivery (admin); with fault injection, a crash
    /// point for the deliverer's next batch.
    public struct DeliveryControl: Codable, Sendable {
        public var paused: Bool?
        /// `before-send` or `after-commit`.
        public var crashAt: String?
        public init(paused: Bool? = nil, crashAt: String? = nil) {
            self.paused = paused
            self.crashAt = crashAt
        }
        enum CodingKeys: String, CodingKey { case paused, crashAt = "crash_at" }
    }
}
