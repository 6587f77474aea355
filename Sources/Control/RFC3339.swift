/// Times on the wire and in the CLI: RFC 3339 written by arithmetic, not by a Foundation format
/// style. It is fast enough for every answer (each held order has its own `expires_at`) and
/// exact: Foundation's writer goes through a Double and turns a time ending in .999 s into .998.
public enum RFC3339 {
    /// `ms` since 1970 → "2026-12-05T20:00:00Z", with ".mmm" when it has milliseconds, at
    /// `offsetSeconds` east of UTC ("+09:00"; 0 is "Z").
    public static func format(_ ms: Int64, offsetSeconds: Int = 0) -> String {
        let local = ms + Int64(offsetSeconds) * 1000
        let (days, msOfDay) = local.quotientAndRemainder(dividingBy: 86_400_000)
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
        out.reserveCapacity(30)
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
        if offsetSeconds == 0 {
            out.append(0x5A)
        } else {
            out.append(offsetSeconds < 0 ? 0x2D : 0x2B)
            let minutes = Int64(abs(offsetSeconds) / 60)
            digits(minutes / 60, 2)
            out.append(0x3A)
            digits(minutes % 60, 2)
        }
        return String(decoding: out, as: UTF8.self)
    }
}
