import FlashCore
import FoundationEssentials
import Synchronization

/// Times of the sale's clock on the wire: RFC 3339 in UTC out, RFC 3339 or `+N` (s, m, h, d
/// from now on Redis' clock) in. Inside, milliseconds of Redis' clock (`SaleClock`).
enum SaleTime {
    /// 1_796_432_400_000 → "2026-12-05T20:00:00Z" (with milliseconds when it has them).
    /// Every refusal before a sale opens names its opening time: the few times in use are
    /// formatted once (a format style per answer cost 12% of the not-open rate).
    static func format(_ ms: Int64) -> String {
        if let text = formatted.withLock({ $0[ms] }) { return text }
        let date = Date(timeIntervalSince1970: Double(ms) / 1000)
        let text = date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: ms % 1000 != 0))
        formatted.withLock { cache in
            if cache.count >= 256 { cache.removeAll() }
            cache[ms] = text
        }
        return text
    }

    private static let formatted = Mutex<[Int64: String]>([:])

    /// `field`'s text as milliseconds of Redis' clock; `nowMs` is Redis' now for `+N`.
    static func parse(_ text: String, field: String, nowMs: Int64) throws -> Int64 {
        if text.hasPrefix("+") {
            let units: [Character: Int64] = ["s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000]
            guard let unit = text.last.flatMap({ units[$0] }), let n = Int64(text.dropFirst().dropLast()), n >= 0, n <= 366 * 86_400 else {
                throw EngineError.invalidInput(field: field, "\(field) must be RFC 3339 (2026-12-05T20:00:00Z) or +N with s, m, h or d")
            }
            return nowMs + n * unit
        }
        for style in [Date.ISO8601FormatStyle(includingFractionalSeconds: false), .init(includingFractionalSeconds: true)] {
            if let date = try? style.parse(text) { return Int64((date.timeIntervalSince1970 * 1000).rounded()) }
        }
        throw EngineError.invalidInput(field: field, "\(field) must be RFC 3339 (2026-12-05T20:00:00Z) or +N with s, m, h or d")
    }

    /// The clock a create or reset asks for.
    static func clock(opensAt: String?, closesAt: String?, nowMs: Int64) throws -> SaleClock {
        SaleClock(opensMs: try opensAt.map { try parse($0, field: "opens_at", nowMs: nowMs) },
                  closesMs: try closesAt.map { try parse($0, field: "closes_at", nowMs: nowMs) })
    }
}
