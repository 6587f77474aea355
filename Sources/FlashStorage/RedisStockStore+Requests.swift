import FlashCore
import RedisClient

/// The requests record (`RedisKeys.requests`): which gid deducted for each request, on any node.
extension RedisStockStore {
    /// The {12, gid, round, ms} reply of `LuaScripts.firstDeduction`, or nil for any other.
    static func orderElsewhere(_ r: RedisValue, script: String) throws -> OrderElsewhere? {
        guard let a = r.array, a.first?.int == 12 else { return nil }
        guard a.count == 4, let gid = a[1].string, let round = a[2].int, let ms = a[3].int else {
            throw EngineError(.internalError, "redis answered \(script) with \(r)")
        }
        return OrderElsewhere(gid: gid, round: Int(round), deductedMs: ms)
    }

    public func requests(item: String, cursor: String) async throws -> (page: [(user: String, requestID: String)], next: String?) {
        let r = try await command(["HSCAN", keys.requests(item), cursor, "COUNT", "1000"])
        guard let reply = r.array, reply.count == 2, let next = reply[0].string, let flat = reply[1].array else {
            throw badReply("HSCAN requests", r)
        }
        var page: [(user: String, requestID: String)] = []
        // Fields and values alternate; the field is "USER REQUESTID" (names hold no space).
        for field in stride(from: 0, to: flat.count, by: 2) {
            guard let text = flat[field].string, let space = text.firstIndex(of: " ") else { continue }
            page.append((String(text[..<space]), String(text[text.index(after: space)...])))
        }
        return (page, next == "0" ? nil : next)
    }

    public func requestCount(item: String) async throws -> Int {
        let r = try await command(["HLEN", keys.requests(item)])
        guard let n = r.int else { throw badReply("HLEN requests", r) }
        return Int(n)
    }
}
