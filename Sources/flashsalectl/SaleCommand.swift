import ArgumentParser
import Control

struct SaleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sale", abstract: "Create, restock, reset, pause, resume and show sales.",
        subcommands: [Create.self, Restock.self, Reset.self, Pause.self, Resume.self, Show.self, List.self, Repair.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a sale of ITEM with --stock units.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Item id (1-64 of A-Z a-z 0-9 _ . @ -).") var item: String
        @Option(help: "Units for sale.") var stock: Int
        @Option(help: "Units one user may buy (default 1).") var limitPerUser: Int?
        @OptionGroup var clock: ClockOptions

        func run() throws {
            let sale: API.Sale = try global.perform {
                try $0.call("POST", "/v1/sales", body: API.CreateSale(item: item, stock: stock, limitPerUser: limitPerUser,
                                                                       opensAt: clock.opensAt, closesAt: clock.closesAt,
                                                                       holdSeconds: clock.holdSeconds))
            }
            show(sale, global, verb: "created")
        }
    }

    struct Restock: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add --add units to ITEM's sale.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Item id.", completion: Completions.items) var item: String
        @Option(help: "Units to add.") var add: Int
        @Option(help: "Idempotency key: retried with the same id, the restock happens once (default: a fresh id).")
        var requestID: String?

        func run() throws {
            let id = requestID ?? freshRequestID()
            let sale: API.Sale = try adminCall(global, requestID: id) {
                try $0.call("POST", "/v1/sales/\(item)/restock", body: API.Restock(add: add, requestID: id))
            }
            show(sale, global, verb: "restocked")
        }
    }

    struct Reset: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Start a new round of ITEM's sale with --stock units (refused while purchases are pending).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Item id.", completion: Completions.items) var item: String
        @Option(help: "Units for the new round.") var stock: Int
        @Option(help: "New per-user limit (default: unchanged).") var limitPerUser: Int?
        @OptionGroup var clock: ClockOptions
        @Option(help: "Idempotency key: retried with the same id, the reset happens once (default: a fresh id).")
        var requestID: String?

        func run() throws {
            let id = requestID ?? freshRequestID()
            let sale: API.Sale = try adminCall(global, requestID: id) {
                try $0.call("POST", "/v1/sales/\(item)/reset", body: API.Reset(stock: stock, limitPerUser: limitPerUser, requestID: id,
                                                                             opensAt: clock.opensAt, closesAt: clock.closesAt,
                                                                             holdSeconds: clock.holdSeconds))
            }
            show(sale, global, verb: "reset")
        }
    }

    struct Pause: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop selling ITEM until resume: purchases get 409 paused (every node within 200 ms).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Item id.", completion: Completions.items) var item: String

        func run() throws {
            let sale: API.Sale = try global.perform { try $0.call("POST", "/v1/sales/\(item)/pause") }
            show(sale, global, verb: "paused")
        }
    }

    struct Resume: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Sell a paused ITEM again (its opening and closing times still apply).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Item id.", completion: Completions.items) var item: String

        func run() throws {
            let sale: API.Sale = try global.perform { try $0.call("POST", "/v1/sales/\(item)/resume") }
            show(sale, global, verb: "resumed")
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show ITEM's stock in Redis, orders and pending purchases.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Item id.", completion: Completions.items) var item: String

        func run() throws {
            let sale: API.Sale = try global.perform { try $0.call("GET", "/v1/sales/\(item)") }
            show(sale, global, verb: nil)
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List every sale.")
        @OptionGroup var global: GlobalOptions

        func run() throws {
            let sales: API.Sales = try global.perform { try $0.call("GET", "/v1/sales") }
            if global.json { return global.printJSON(sales) }
            if sales.sales.isEmpty { print("no sales") }
            for s in sales.sales { show(s, global, verb: nil) }
        }
    }
}

extension SaleCommand {
    /// `sale repair ITEM [--apply]`: after Redis lost writes the journals hold (G9).
    struct Repair: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Re-apply the orders whose deductions Redis lost, from each node's journal, and lift the fence.",
            discussion: """
                When Redis comes back with older data (a restart from an older snapshot, a stale replica \
                promoted, a flush), flashd stops selling the items it finds behind its journal (503 \
                redis_behind). This puts every order's deduction, barrier and per-user count back in Redis \
                and lifts the node's fence. A dry run unless --apply; idempotent. With several nodes, give \
                --socket once per node: each repairs its own orders, and the fence lifts when every node \
                that raised it has repaired.
                """)
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Item id.", completion: Completions.items) var item: String
        @Flag(help: "Write to Redis (without it, only report what is missing).") var apply = false

        func run() throws {
            var sockets: [String] = []
            for path in global.socketPaths where !sockets.contains(path) { sockets.append(path) }
            var reports: [API.RepairReport] = []
            for path in sockets {
                do {
                    reports.append(try ControlClient(socketPath: path).call("POST", "/v1/sales/\(item)/repair",
                                                                            body: API.Repair(apply: apply)))
                } catch let e as ControlError {
                    throw global.fail(e)
                }
            }
            if global.json { return global.printJSON(reports) }
            for r in reports {
                let verb = r.applied ? "restored" : "would restore"
                print("node \(r.node): \(item) round \(r.round): \(r.orders) orders, \(r.missing) missing in Redis, \(verb) \(r.missing); "
                      + "stock \(r.stockRemaining) left" + (r.oversold > 0 ? ", \(r.oversold) units sold twice while Redis was behind" : ""))
            }
            let left = reports.last?.fencesLeft ?? []
            if !apply {
                print("dry run: nothing written; run again with --apply")
            } else if left.isEmpty {
                print("fence lifted: \(item) sells again")
            } else {
                print("still fenced by node(s) \(left.joined(separator: ", ")): repair on each of them too (--socket per node)")
            }
        }
    }
}

/// An admin verb that changes stock: when its outcome is unknown (503, the connection lost),
/// the operator is told the id to retry it with, so it can't happen twice.
private func adminCall<T>(_ global: GlobalOptions, requestID: String, _ body: (ControlClient) throws -> T) throws -> T {
    do {
        return try body(global.client())
    } catch let e as ControlError {
        let unknown = e.apiError.map { $0.status == 503 } ?? (e.code == .io)
        let exit = global.fail(e)
        if unknown, !global.json { printError("flashsalectl: retry with --request-id \(requestID): the same id never acts twice") }
        throw exit
    }
}

private func freshRequestID() -> String {
    var g = SystemRandomNumberGenerator()
    return "op-" + String(g.next() as UInt64, radix: 36)
}

private func show(_ s: API.Sale, _ global: GlobalOptions, verb: String?) {
    if global.json { return global.printJSON(s) }
    let prefix = verb.map { "sale \(s.item) \($0): " } ?? "sale \(s.item): "
    print("\(prefix)round \(s.round), stock \(s.stockRemaining) of \(s.stockTotal) left, \(s.orders) orders, "
          + "\(s.pending) pending, limit \(s.limitPerUser) per user")
    if let state = s.state, state != "open" || s.opensAt != nil || s.closesAt != nil {
        let utc = global.utc
        print("  \(state)" + (s.opensAt.map { ", opens \(TimeText.format($0, utc: utc))" } ?? "")
              + (s.closesAt.map { ", closes \(TimeText.format($0, utc: utc))" } ?? ""))
    }
    if let hold = s.holdSeconds {
        print("  orders held \(hold) s for payment: \(s.held ?? 0) held, \(s.confirmed ?? 0) confirmed, \(s.released ?? 0) released")
    }
    if let why = s.redisBehind { print("  STOPPED: Redis is behind the journal (\(why)); see flashsalectl sale repair --help") }
}

/// When a sale (or a reset's new round) sells, judged on Redis' clock by every node.
struct ClockOptions: ParsableArguments {
    @Option(help: "Opening time: RFC 3339 (2026-12-05T20:00:00Z) or +N with s, m, h or d from now (default: at once).")
    var opensAt: String?
    @Option(help: "Closing time, the same way (default: never).") var closesAt: String?
    @Option(help: ArgumentHelp("Hold each order this long for payment (N with s, m, h or d, e.g. 10m); unconfirmed, its unit "
                               + "returns to the sale (default: no hold, orders are final).", valueName: "duration"))
    var hold: String?

    var holdSeconds: Int? { hold.flatMap(Self.seconds) }

    func validate() throws {
        if let hold, Self.seconds(hold) == nil {
            throw ValidationError("--hold must be N with s, m, h or d (1s to 7d), e.g. 10m; got \(hold)")
        }
    }

    /// `10m` → 600; nil for anything else or outside 1 s to a week.
    static func seconds(_ text: String) -> Int? {
        guard let unit = text.last, let n = Int(text.dropLast()), n > 0 else { return nil }
        let scale: Int
        switch unit {
        case "s": scale = 1
        case "m": scale = 60
        case "h": scale = 3600
        case "d": scale = 86400
        default: return nil
        }
        let (total, overflow) = n.multipliedReportingOverflow(by: scale)
        return !overflow && total <= 7 * 86400 ? total : nil
    }
}
