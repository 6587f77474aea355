/// What a client may use as an item id, user id, request id or node id.
///
/// Names end up inside Redis keys and journal rows. They only ever travel as argv elements and
/// bound parameters, but a narrow alphabet also keeps keys readable in `redis-cli` and free of
/// the separators (`:`) flashd uses inside its own keys.
public enum Names {
    public static let maxLength = 64

    /// Letters, digits and `_ . @ -`, 1 to 64 characters.
    public static func isValid(_ name: String) -> Bool {
        let utf8 = name.utf8
        guard !utf8.isEmpty, utf8.count <= maxLength else { return false }
        for byte in utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "@"), UInt8(ascii: "-"):
                continue
            default:
                return false
            }
        }
        return true
    }

    /// Throws `EngineError.invalidInput` naming the field when `name` is not valid.
    public static func check(_ name: String, field: String) throws(EngineError) {
        guard isValid(name) else {
            throw .invalidInput(field: field, "\(field) must be 1-\(maxLength) characters of A-Z a-z 0-9 _ . @ -")
        }
    }
}
