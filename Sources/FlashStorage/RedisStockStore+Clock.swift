import FlashCore
import RedisClient

/// The sale's clock in Redis: `opens`, `closes` (ms of Redis' clock), `paused` and `hold` (ms)
/// in the sale hash, read by the purchase script's one HMGET and judged against `TIME` there.
extension RedisStockStore {
    public func setPaused(item: String, paused: Bool) async throws -> SaleInfo {
        let r = try await eval(LuaScripts.pause, keys: [keys.sale(item)], args: [paused ? "1" : "0"], confirm: false)
        guard let code = r.int else { throw badReply("pause", r) }
        if code < 0 { throw EngineError.unknownSale(item) }
        guard let sale = try await sale(item: item) else { throw EngineError.unknownSale(item) }
        return sale
    }

    public func timeMs() async throws -> Int64 {
        let r = try await command(["TIME"])
        guard let parts = r.array, parts.count == 2, let seconds = parts[0].int, let micros = parts[1].int else {
            throw badReply("TIME", r)
        }
        return seconds * 1000 + micros / 1000
    }

    /// The create and reset scripts' last three arguments: opens, closes and hold ('' for none).
    static func clockArgs(_ clock: SaleClock) -> [String] {
        [clock.opensMs.map(String.init) ?? "", clock.closesMs.map(String.init) ?? "", clock.holdMs.map(String.init) ?? ""]
    }
}
