import FlashCore
import RedisClient

/// The fence against a Redis behind the journal (G9): the periodic check, the repair, and
/// lifting a node's fence. The purchase script's own check is in `deduct`.
extension RedisStockStore {
    public func checkFence(item: String, round: Int, floor: FenceFloor) async throws -> FenceReading {
        // Confirmed like a purchase (WAIT): only counts that replicas have may become floors.
        let r = try await eval(LuaScripts.checkFence, keys: roundKeys(item, round),
                               args: [String(round), floor.node, String(floor.orders), String(floor.seen)], confirm: true)
        guard let a = r.array, a.count >= 2, let code = a[0].int, let value = a[1].int else { throw badReply("check-fence", r) }
        switch code {
        case 5: return .noSale
        case 6: return .otherRound(Int(value))
        case 0:
            guard a.count >= 3, let all = a[2].int, a.count % 2 == 1 else { throw badReply("check-fence", r) }
            var fences: [String: String] = [:]
            for i in stride(from: 3, to: a.count - 1, by: 2) {
                if let node = a[i].string { fences[node] = a[i + 1].string ?? "" }
            }
            return .current(mine: value < 0 ? nil : Int(value), all: all < 0 ? nil : Int(all), fences: fences)
        default: throw badReply("check-fence", r)
        }
    }

    public func repair(item: String, round: Int, node: String, orders: [OrderRef], apply: Bool) async throws -> RepairResult {
        // In slices: one script holds Redis for its whole run, and a sale may have many orders.
        var missing = 0
        var stockAfter = 0
        var start = 0
        repeat {
            let slice = orders[start..<min(start + 500, orders.count)]
            let r = try await eval(LuaScripts.repair, keys: roundKeys(item, round) + [keys.requests(item)],
                                   args: [String(round), node, apply ? "1" : "0"] + slice.flatMap {
                                       [$0.gid, $0.user, Self.barrier($0.hold), $0.requestID, String($0.createdMs)]
                                   },
                                   confirm: apply)
            guard let a = r.array, a.count >= 2, let code = a[0].int, let value = a[1].int else { throw badReply("repair", r) }
            switch code {
            case 5: throw EngineError.unknownSale(item)
            case 6: throw EngineError(.saleBusy, "sale \(item) moved to round \(value) during the repair; run it again")
            default:
                guard a.count == 3, let after = a[2].int else { throw badReply("repair", r) }
                missing += Int(value)
                stockAfter = Int(after)
            }
            start += 500
        } while start < orders.count
        return RepairResult(missing: missing, stockAfter: stockAfter)
    }

    /// The barrier an order's hold state wants in Redis: a decided hold its mark, the rest `d`.
    static func barrier(_ hold: HoldState?) -> String {
        switch hold {
        case .confirmed: return "c"
        case .released: return "x"
        default: return "d"
        }
    }

    public func liftFence(item: String, node: String) async throws -> Int {
        let r = try await eval(LuaScripts.liftFence, keys: [keys.fences(item)], args: [node], confirm: false)
        guard let left = r.int else { throw badReply("lift-fence", r) }
        return Int(left)
    }
}
