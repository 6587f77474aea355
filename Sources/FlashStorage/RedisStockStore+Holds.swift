import FlashCore
import RedisClient

/// Checkout holds in Redis (G7): the holds hash names each held order's sale round and user, so
/// any node can decide it by id; `LuaScripts.decideHold` decides it under its barrier.
extension RedisStockStore {
    public func hold(gid: String) async throws -> HoldEntry? {
        let r = try await command(["HGET", keys.holds, gid])
        if r == .null { return nil }
        guard let text = r.string else { throw badReply("HGET holds", r) }
        let parts = text.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 4, let round = Int(parts[1]), let expires = Int64(parts[3]) else { throw badReply("holds entry", r) }
        let barrier = try await command(["HGET", keys.barriers(parts[0], round: round), gid])
        let state: HoldState?
        switch barrier.string {
        case "d": state = .held
        case "c": state = .confirmed
        case "x": state = .released
        default: state = nil
        }
        return HoldEntry(gid: gid, item: parts[0], round: round, user: parts[2], expiresMs: expires, state: state)
    }

    public func renewHold(gid: String, item: String, round: Int) async throws -> HoldEntry? {
        let r = try await eval(LuaScripts.renewHold, keys: [keys.holds, keys.sale(item), keys.barriers(item, round: round)],
                               args: [gid, String(round)], confirm: true)
        guard let a = r.array, let found = a.first?.int else { throw badReply("renew-hold", r) }
        guard found == 1 else { return nil }
        guard a.count == 3, let expires = a[1].int, let mark = a[2].int else { throw badReply("renew-hold", r) }
        let state: HoldState? = [1: .held, 2: .confirmed, 3: .released][mark]
        return HoldEntry(gid: gid, item: item, round: round, user: "", expiresMs: expires, state: state)
    }

    public func decideHold(_ entry: HoldEntry, action: HoldAction, notifyOwner: Bool) async throws -> HoldReply {
        // Confirmed like a purchase (WAIT): a verdict a failover could lose must not be answered.
        let r = try await eval(LuaScripts.decideHold,
                               keys: [keys.sale(entry.item), keys.barriers(entry.item, round: entry.round),
                                      keys.users(entry.item, round: entry.round), keys.holdNews(entry.node)],
                               args: [entry.gid, entry.user, String(entry.round), String(entry.expiresMs), action.rawValue,
                                      notifyOwner ? "1" : "0"],
                               confirm: true)
        guard let a = r.array, a.count == 2, let code = a[0].int, let value = a[1].int else { throw badReply("decide-hold", r) }
        switch code {
        case 1: return .confirmed
        case 2: return .released
        case 3: return .stillHeld(expiresMs: value)
        case 4: return .missing
        default: throw badReply("decide-hold", r)
        }
    }

    public func takeHoldNews(node: String, max: Int) async throws -> [String] {
        let r = try await command(["LPOP", keys.holdNews(node), String(max)])
        if r == .null { return [] }
        guard let a = r.array else { throw badReply("LPOP news", r) }
        return a.compactMap(\.string)
    }
}
