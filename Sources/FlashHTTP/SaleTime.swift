import FlashCore
import FoundationEssentials

/// Times of the sale's clock on the wire: RFC 3339 in UTC out, RFC 3339 or `+N` (s, m, h, d
/// from now on Redis' clock) in. Inside, milliseconds of Redis' clock (`SaleClock`).
enum SaleTime {
    /// 1_796_432_400_000 → "2026-12-05T20:00:00Z" (with milliseconds when it has them), as
    /// Foundation's ISO 8601 style writes it, by arithmetic: every held order answers with its
    /// own `expires_at`, and a format style per answer cost 12% of the not-open rate.
    static func format(_ ms: Int64) -> String {
        let (days, msOfDay) = ms.quotientAndRemainder(dividingBy: 86_400_000)
        let (d, t) = msOfDay < 0 ? (days - 1, msOfDay + 86_400_000) : (days, msOfDay)
        // Days since 1970-01-01 to a civil date (H. Hinnant's days_from_civil, inverted).
        let z = d + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        var out = [UInt8]()
        out.reserveCapacity(24)
        func digits(_ v: Int64, _ width: Int) {
            var buf = [UInt8](repeating: 0x30, count: width)
            var x = v
            for i in stride(from: width - 1, through: 0, by: -1) {
                buf[i] = 0x30 + UInt8(x % 10)
                x /= 10
            }
            out += buf
        }
        digits(year, 4)
        out.append(0x2D)
        digits(month, 2)
        out.append(0x2D)
        digits(day, 2)
        out.append(0x54)
        digits(t / 3_600_000, 2)
        out.append(0x3A)
        digits(t / 60_000 % 60, 2)
        out.append(0x3A)
        digits(t / 1000 % 60, 2)
        if t % 1000 != 0 {
            out.append(0x2E)
            digits(t % 1000, 3)
        }
        out.append(0x5A)
        return String(decoding: out, as: UTF8.self)
    }

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
