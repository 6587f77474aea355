/// A decoded RESP2 reply. Error replies never become a value: they are thrown as `RedisError.reply`.
public enum RedisValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case string(String)
    case status(String)
    case array([RedisValue])

    public var int: Int64? {
        switch self {
        case .integer(let v): return v
        case .string(let s), .status(let s): return Int64(s)
        default: return nil
        }
    }

    public var string: String? {
        switch self {
        case .string(let s), .status(let s): return s
        case .integer(let v): return String(v)
        default: return nil
        }
    }

    public var array: [RedisValue]? {
        if case .array(let a) = self { return a }
        return nil
    }
}
