import Control

/// The purchase hot path's JSON, by hand: the request body in, the order or the refusal out.
///
/// Foundation's JSONDecoder and JSONEncoder cost more per purchase than the rest of the HTTP
/// work together (measured: the sold-out fast path answered 19,650/s through them). Purchase
/// bodies are flat objects of short strings, so a strict little scanner covers them; anything it
/// does not recognise exactly (an escape, a non-ASCII byte, a number, a duplicate or unknown
/// key, a missing field) returns nil, and the caller falls back to JSONDecoder, which accepts
/// what JSON allows and words the error for what it doesn't. The scanner never accepts
/// something JSONDecoder would refuse, nor reads it differently.
enum PurchaseJSON {
    static func decodeBuy(_ bytes: [UInt8]) -> API.Buy? {
        var item: String?, user: String?, requestID: String?, crashAfter: String?, crashMode: String?
        var i = 0
        let n = bytes.count
        func skipSpace() {
            while i < n, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 }
        }
        /// A string of printable ASCII without escapes; nil for anything else.
        func string() -> String? {
            guard i < n, bytes[i] == 0x22 else { return nil }
            i += 1
            let start = i
            while i < n, bytes[i] != 0x22 {
                let b = bytes[i]
                if b < 0x20 || b >= 0x7F || b == 0x5C { return nil }
                i += 1
            }
            guard i < n else { return nil }
            let s = String(decoding: bytes[start..<i], as: UTF8.self)
            i += 1
            return s
        }
        skipSpace()
        guard i < n, bytes[i] == 0x7B else { return nil }
        i += 1
        skipSpace()
        if i < n, bytes[i] == 0x7D { return nil }  // {}: let JSONDecoder name the missing field
        while true {
            skipSpace()
            guard let key = string() else { return nil }
            skipSpace()
            guard i < n, bytes[i] == 0x3A else { return nil }
            i += 1
            skipSpace()
            guard let value = string() else { return nil }
            func set(_ field: inout String?) -> Bool {
                if field != nil { return false }  // a duplicate key: JSONDecoder decides
                field = value
                return true
            }
            let known: Bool
            switch key {
            case "item": known = set(&item)
            case "user": known = set(&user)
            case "request_id": known = set(&requestID)
            case "crash_after": known = set(&crashAfter)
            case "crash_mode": known = set(&crashMode)
            default: known = false
            }
            guard known else { return nil }
            skipSpace()
            guard i < n else { return nil }
            if bytes[i] == 0x2C {
                i += 1
                continue
            }
            guard bytes[i] == 0x7D else { return nil }
            i += 1
            break
        }
        skipSpace()
        guard i == n, let item, let user else { return nil }
        return API.Buy(item: item, user: user, requestID: requestID, crashAfter: crashAfter, crashMode: crashMode)
    }

    /// What JSONEncoder would give, keys in a fixed order.
    static func encode(_ o: API.Order) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        field("order_id", o.orderID, into: &out)
        field("gid", o.gid, into: &out)
        field("item", o.item, into: &out)
        field("round", number: Int64(o.round), into: &out)
        field("user", o.user, into: &out)
        field("request_id", o.requestID, into: &out)
        field("created_ms", number: o.createdMs, into: &out)
        if let r = o.replayed { out.append(contentsOf: (r ? #","replayed":true"# : #","replayed":false"#).utf8) }
        if let s = o.state { field("state", s, into: &out) }
        if let t = o.expiresAt { field("expires_at", t, into: &out) }
        if let c = o.releaseCause { field("release_cause", c, into: &out) }
        out.append(0x7D)
        return out
    }

    static func encode(_ e: API.ErrorBody) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(160)
        field("error", e.error, into: &out)
        field("message", e.message, into: &out)
        if let gid = e.gid { field("gid", gid, into: &out) }
        if let f = e.field { field("field", f, into: &out) }
        if let r = e.requestID { field("request_id", r, into: &out) }
        if let t = e.opensAt { field("opens_at", t, into: &out) }
        out.append(0x7D)
        return out
    }

    /// `{"key":"value"` for the first field, `,"key":"value"` after it (keys are plain ASCII).
    private static func field(_ key: StaticString, _ value: String, into out: inout [UInt8]) {
        appendKey(key, into: &out)
        quote(value, into: &out)
    }

    private static func field(_ key: StaticString, number: Int64, into out: inout [UInt8]) {
        appendKey(key, into: &out)
        out.append(contentsOf: String(number).utf8)
    }

    private static func appendKey(_ key: StaticString, into out: inout [UInt8]) {
        out.append(out.isEmpty ? 0x7B : 0x2C)
        out.append(0x22)
        out.append(contentsOf: UnsafeBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount))
        out.append(0x22)
        out.append(0x3A)
    }

    /// A JSON string: quotes, backslashes and control characters escaped, the rest as UTF-8.
    static func quote(_ s: String, into out: inout [UInt8]) {
        out.append(0x22)
        for b in s.utf8 {
            switch b {
            case 0x22: out.append(0x5C); out.append(0x22)
            case 0x5C: out.append(0x5C); out.append(0x5C)
            case 0x0A: out.append(0x5C); out.append(0x6E)
            case 0x0D: out.append(0x5C); out.append(0x72)
            case 0x09: out.append(0x5C); out.append(0x74)
            case 0..<0x20:
                let hex: StaticString = "0123456789abcdef"
                out.append(contentsOf: [0x5C, 0x75, 0x30, 0x30])
                out.append(hex.utf8Start[Int(b >> 4)])
                out.append(hex.utf8Start[Int(b & 15)])
            default: out.append(b)
            }
        }
        out.append(0x22)
    }
}
