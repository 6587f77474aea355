import Control

/// Where a purchase's time went during a bench phase: the means of flashd's
/// `flashd_purchase_duration_seconds` (admission to answer) and `flashd_purchase_step_seconds`
/// (each step's wait) over the phase, from /metrics read before and after it. Next to the
/// client's own mean latency they split a purchase into HTTP and hops, the coordinator's
/// bookkeeping, and the three waits on I/O. flashd's p99 from its histogram, next to the
/// client's, tells the server's tail from the one the client and the shared machine add.
struct StepTimes {
    /// Sum (seconds) and count of each timer: "purchase", then one per step name.
    struct Sample {
        var timers: [String: (sum: Double, count: Double)] = [:]
        /// `flashd_purchase_duration_seconds`' buckets: upper bound (seconds) → purchases so far
        /// at or under it.
        var buckets: [Double: Double] = [:]
    }

    /// Mean milliseconds over a phase (nil: no purchase reached that step).
    struct Means: Codable, Equatable {
        var client: Double?
        var purchase: Double?
        var journalPrepare: Double?
        var stockScript: Double?
        var journalOrder: Double?

        enum CodingKeys: String, CodingKey {
            case client, purchase, journalPrepare = "journal_prepare", stockScript = "stock_script", journalOrder = "journal_order"
        }
    }

    /// The timers as /metrics shows them now; nil when it can't be read (an old flashd, or a
    /// caller the access policy keeps from /metrics).
    static func sample(_ client: ControlClient) -> Sample? {
        guard let response = try? client.send("GET", "/metrics"), response.status == 200 else { return nil }
        return parse(String(decoding: response.body, as: UTF8.self))
    }

    static func parse(_ text: String) -> Sample {
        var sample = Sample()
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            let series = line[..<space]
            let name = series.prefix { $0 != "{" }
            let key: String
            let field: String
            if name == "flashd_purchase_duration_seconds_bucket", let le = Self.label("le", in: series) {
                if let bound = le == "+Inf" ? Double.infinity : Double(le) { sample.buckets[bound] = value }
                continue
            } else if let base = Self.base(name, "flashd_purchase_duration_seconds") {
                key = "purchase"
                field = base
            } else if let base = Self.base(name, "flashd_purchase_step_seconds"), let step = Self.label("step", in: series) {
                key = step
                field = base
            } else {
                continue
            }
            var entry = sample.timers[key] ?? (0, 0)
            if field == "_sum" { entry.sum = value } else { entry.count = value }
            sample.timers[key] = entry
        }
        return sample
    }

    static func means(from a: Sample, to b: Sample, clientMs: Double?) -> Means {
        func mean(_ key: String) -> Double? {
            let sum = (b.timers[key]?.sum ?? 0) - (a.timers[key]?.sum ?? 0)
            let count = (b.timers[key]?.count ?? 0) - (a.timers[key]?.count ?? 0)
            return count > 0 ? BenchCommand.round(sum / count * 1000, 3) : nil
        }
        return Means(client: clientMs, purchase: mean("purchase"), journalPrepare: mean("journal_prepare"),
                     stockScript: mean("stock_script"), journalOrder: mean("journal_order"))
    }

    /// The `q` quantile of flashd's purchase time over a phase, in ms, from its histogram as
    /// Prometheus' histogram_quantile reads one: linear within the bucket the rank falls in
    /// (a bucket's purchases taken as spread evenly over it), the largest finite bound when it
    /// falls past every one. nil: no purchase in the phase, or no buckets.
    static func quantile(_ q: Double, from a: Sample, to b: Sample) -> Double? {
        let bounds = b.buckets.keys.sorted()
        let counts = bounds.map { (b.buckets[$0] ?? 0) - (a.buckets[$0] ?? 0) }
        guard let total = counts.last, total > 0 else { return nil }
        let rank = q * total
        var lower = 0.0
        var below = 0.0
        for (bound, count) in zip(bounds, counts) {
            if count >= rank {
                if bound.isInfinite { return BenchCommand.round(lower * 1000, 3) }
                let within = count > below ? (rank - below) / (count - below) : 1
                return BenchCommand.round((lower + (bound - lower) * within) * 1000, 3)
            }
            lower = bound
            below = count
        }
        return nil
    }

    /// "_sum" or "_count" when `name` is `metric` with that suffix.
    private static func base(_ name: Substring, _ metric: String) -> String? {
        guard name.hasPrefix(metric) else { return nil }
        let rest = String(name.dropFirst(metric.count))
        return rest == "_sum" || rest == "_count" ? rest : nil
    }

    private static func label(_ label: String, in series: Substring) -> String? {
        guard let open = series.firstRange(of: "\(label)=\"") else { return nil }
        let value = series[open.upperBound...].prefix { $0 != "\"" }
        return value.isEmpty ? nil : String(value)
    }
}
