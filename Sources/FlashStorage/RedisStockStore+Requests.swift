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

    public func requests(item: String) async throws -> [(user: String, requestID: String)] {
        var found: [(user: String, requestID: String)] = []
        var cursor = "0"
        repeat {
            let r = try await command(["HSCAN", keys.requests(item), cursor, "COUNT", "1000"])
            guard let page = r.array, page.count == 2, let next = page[0].string, let flat = page[1].array else {
                throw badReply("HSCAN requests", r)
            }
            // Fields and values alternate; the field is "USER REQUESTID" (names hold no space).
            for field in stride(from: 0, to: flat.count, by: 2) {
                guard let text = flat[field].string, let space = text.firstIndex(of: " ") else { continue }
                found.append((String(text[..<space]), String(text[text.index(after: space)...])))
            }
            cursor = next
        } while cursor != "0"
        return found
    }

    public func requestCount(item: String) async throws -> Int {
        let r = try await command(["HLEN", keys.requests(item)])
        guard let n = r.int else { throw badReply("HLEN requests", r) }
        return Int(n)
    }
}
