import Control
import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

/// Times as the CLI prints them: RFC 3339 in the local time zone with its offset (TZ, else
/// /etc/localtime), or in UTC with `--utc`; never epoch milliseconds.
enum TimeText {
    static func format(_ ms: Int64, utc: Bool) -> String {
        RFC3339.format(ms, offsetSeconds: utc ? 0 : localOffset(ms))
    }

    /// The local zone's offset at `ms`, from the C library (TZ, else /etc/localtime): it knows
    /// every named zone, where FoundationEssentials alone knows only fixed offsets.
    static func localOffset(_ ms: Int64) -> Int {
        var t = time_t(ms / 1000)
        var parts = tm()
        guard localtime_r(&t, &parts) != nil else { return 0 }
        return Int(parts.tm_gmtoff)
    }

    /// A time flashd sent (RFC 3339), the same way; as sent if it doesn't read as one.
    static func format(_ text: String, utc: Bool) -> String {
        for style in [Date.ISO8601FormatStyle(includingFractionalSeconds: true), .init(includingFractionalSeconds: false)] {
            if let date = try? style.parse(text) {
                return format(Int64((date.timeIntervalSince1970 * 1000).rounded()), utc: utc)
            }
        }
        return text
    }
}
