import Control
import FlashCore
import FoundationEssentials

/// Times of the sale's clock on the wire: RFC 3339 in UTC out, RFC 3339 or `+N` (s, m, h, d
/// from now on Redis' clock) in. Inside, milliseconds of Redis' clock (`SaleClock`).
enum SaleTime {
    /// 1_796_432_400_000 → "2026-12-05T01:00:00Z" (with milliseconds when it has them), by
    /// arithmetic (`RFC3339`): every held order answers with its own `expires_at`, and a
    /// Foundation format style per answer cost 12% of the not-open rate.
    static func format(_ ms: Int64) -> String { RFC3339.format(ms) }

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
