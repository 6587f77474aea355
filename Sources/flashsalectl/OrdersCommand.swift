import ArgumentParser
import Control
import FoundationEssentials

/// `flashsalectl orders`: the newest orders, a buyer's orders, or one order by its id.
struct OrdersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "orders", abstract: "List orders, newest first, or show one.",
        subcommands: [ListOrders.self, ShowOrder.self, ConfirmOrder.self, CancelOrder.self], defaultSubcommand: ListOrders.self)
}

struct ListOrders: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List orders, newest first (a buyer's with --user).",
        discussion: "Each node lists the orders in its own journal: over several nodes, ask each. With --after or --follow, the feed: every order and every change of its state, in the order the journal committed them, each line starting with its cursor.")
    @OptionGroup var global: GlobalOptions
    @Option(help: "Only this buyer's orders.") var user: String?
    @Option(help: "Only this item's orders.", completion: Completions.items) var item: String?
    @Option(name: .customLong("request-id"), help: "Only the order of this request id (needs --user).") var requestID: String?
    @Option(help: "Only orders whose hold is in this state: held, confirming, releasing, confirmed or released.",
            completion: Completions.holdStates) var state: String?
    @Option(help: "At most this many, 1-1000.") var limit = 100
    @Option(help: "Older than this: the cursor the previous page ended with.") var before: String?
    @Option(help: "The feed instead: orders and their state changes after this cursor (0: from the start), oldest first.")
    var after: String?
    @Flag(help: "Follow the feed: print changes as they happen, from --after or from now on, until interrupted.")
    var follow = false

    func validate() throws {
        if requestID != nil && user == nil { throw ValidationError("--request-id needs --user: request ids are the buyer's own") }
        if after != nil || follow {
            for (flag, value) in [("--user", user), ("--item", item), ("--request-id", requestID), ("--state", state), ("--before", before)]
            where value != nil {
                throw ValidationError("\(flag) lists orders; the feed (--after, --follow) takes every change in journal order")
            }
        }
    }

    func run() throws {
        if after != nil || follow { return try FollowOrders(global: global, after: after, follow: follow, limit: limit).run() }
        var path = "/v1/orders?limit=\(limit)"
        for (name, value) in [("user", user), ("item", item), ("request_id", requestID), ("state", state), ("before", before)] {
            if let value { path += "&\(name)=\(OrdersCommand.encoded(value))" }
        }
        let orders: API.Orders = try global.perform { try $0.call("GET", path) }
        if global.json { return global.printJSON(orders) }
        if orders.orders.isEmpty { print(user.map { "no orders for user \($0)" } ?? "no orders") }
        for o in orders.orders { print(OrdersCommand.line(o, utc: global.utc)) }
        if let next = orders.next { print("more: --before \(next)") }
    }
}

struct ShowOrder: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Show one order by its id (ord-NODE-...), from the node that made it.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The order id, as a purchase answered it.") var orderID: String

    func run() throws {
        let order: API.Order = try global.perform { try $0.call("GET", "/v1/orders/\(OrdersCommand.encoded(orderID))") }
        if global.json { return global.printJSON(order) }
        print(OrdersCommand.line(order, utc: global.utc))
        print("gid \(order.gid)")
    }
}

/// `orders confirm ID` / `orders cancel ID`: the shop's verdict on a held order, on any node.
struct ConfirmOrder: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "confirm", abstract: "Confirm a held order (paid): it keeps its unit.",
        discussion: "Again on a confirmed order: success. On a released one (expired or cancelled): exit 5.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var decision: DecisionOptions
    func run() throws { try decision.run(global, "confirm") }
}

struct CancelOrder: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel", abstract: "Cancel a held order: its unit and the buyer's slot go back to the sale, once.",
        discussion: "Again on a released order: success. On a confirmed or final one: exit 5.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var decision: DecisionOptions
    func run() throws { try decision.run(global, "cancel") }
}

struct DecisionOptions: ParsableArguments {
    @Argument(help: "The order id (ord-NODE-...): any node may decide it.") var orderID: String
    @Option(help: ArgumentHelp("Fault injection: crash after-intent or after-decision.", visibility: .hidden),
            completion: Completions.holdFaultPoints) var crashAfter: String?
    @Option(help: ArgumentHelp("abandon or exit.", visibility: .hidden), completion: Completions.faultModes) var crashMode: String?

    func run(_ global: GlobalOptions, _ verb: String) throws {
        let order: API.Order = try global.perform {
            try $0.call("POST", "/v1/orders/\(OrdersCommand.encoded(orderID))/\(verb)",
                        body: API.Decide(crashAfter: crashAfter, crashMode: crashMode))
        }
        if global.json { return global.printJSON(order) }
        print(OrdersCommand.line(order, utc: global.utc))
    }
}

extension OrdersCommand {
    /// One order as a line: its id, what was bought by whom, and when (UTC).
    static func line(_ o: API.Order, utc: Bool) -> String {
        var hold = ""
        if let state = o.state, state != "final" {
            hold = "  \(state)" + (state == "released" ? o.releaseCause.map { " (\($0))" } ?? "" : "")
                + (state == "held" ? o.expiresAt.map { " until \(TimeText.format($0, utc: utc))" } ?? "" : "")
        }
        return "\(o.orderID)  \(o.item) round \(o.round)  user \(o.user)  request \(o.requestID)  at \(TimeText.format(o.createdMs, utc: utc))" + hold
    }

    /// A query or path value, percent-encoded: anything but unreserved characters, so a stray
    /// space or `&` reaches flashd as the value it is (and is refused there as a bad name).
    static func encoded(_ value: String) -> String {
        var out = ""
        for byte in value.utf8 {
            let c = Character(Unicode.Scalar(byte))
            if byte < 0x80 && (c.isLetter || c.isNumber || "-_.~@".contains(c)) {
                out.append(c)
            } else {
                out += "%" + String(byte >> 4, radix: 16, uppercase: true) + String(byte & 0xf, radix: 16, uppercase: true)
            }
        }
        return out
    }
}
