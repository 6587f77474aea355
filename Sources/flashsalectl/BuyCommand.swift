import ArgumentParser
import Control

struct BuyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "buy",
        abstract: "Buy one unit of ITEM for --user.",
        discussion: """
            Exit 0 only for a successful purchase (or the replay of one); 3 sold out; 4 per-user limit \
            reached; 5 otherwise refused; 69 flashd unreachable or unavailable; 1 any other error. Retrying \
            with the same --request-id never buys twice: on the same node it returns the first outcome, \
            and on another node sharing the Redis the first order (a refusal is judged again there).
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Item id.", completion: Completions.items) var item: String
    @Option(help: "User id.") var user: String
    @Option(help: "Idempotency key: a retry with the same id returns the first outcome (default: a fresh id).")
    var requestID: String?
    @Option(help: "Fault injection (flashd --enable-fault-injection): after-journal, after-stock or before-order.",
            completion: Completions.faultPoints)
    var crashAfter: String?
    @Option(help: "abandon (the handler stops; default) or exit (flashd dies like kill -9).", completion: Completions.faultModes)
    var crashMode: String?

    func validate() throws {
        if crashMode != nil && crashAfter == nil { throw ValidationError("--crash-mode needs --crash-after") }
    }

    func run() throws {
        let body = API.Buy(item: item, user: user, requestID: requestID, crashAfter: crashAfter, crashMode: crashMode)
        let order: API.Order = try global.perform { try $0.call("POST", "/v1/purchases", body: body) }
        if global.json { return global.printJSON(order) }
        let replay = order.replayed == true ? " (replayed: this purchase was made before)" : ""
        print("ordered \(order.item) for \(order.user): order \(order.orderID), gid \(order.gid), request \(order.requestID)\(replay)")
    }
}

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Show flashd's health and counters; exit 3 when degraded.",
        discussion: "Degraded: Redis down, the journal failing, an item stopped because Redis is behind the journal, "
            + "the node id not held in Redis, or draining. The last line says which (DEGRADED: ...).")
    @OptionGroup var global: GlobalOptions

    /// Why flashd can't sell as it should now; empty when it can.
    static func degradations(_ s: API.Status) -> [String] {
        var why: [String] = []
        if !s.redis.ok { why.append("redis down") }
        if !s.sqlite.ok { why.append("journal failing") }
        if let behind = s.redisBehind, !behind.isEmpty { why.append("\(behind.count) item(s) stopped: Redis behind the journal") }
        if s.counters["node_lease_held"] == 0 { why.append("node id not held in Redis") }
        if s.draining { why.append("draining") }
        // The same threshold as flashd's warning in the log.
        if let d = s.delivery, d.lagSeconds > 30 { why.append("order delivery \(Int(d.lagSeconds)) s behind") }
        return why
    }

    func run() throws {
        let s: API.Status = try global.perform { try $0.call("GET", "/v1/status") }
        let degraded = Self.degradations(s)
        if global.json {
            global.printJSON(s)
            if !degraded.isEmpty { throw ExitCode(Exit.degraded) }
            return
        }
        print("flashd \(s.version) on node \(s.node), up \(Int(s.uptimeSeconds)) s\(s.draining ? ", draining" : "")")
        print("redis  \(s.redis.ok ? "ok  " : "DOWN") \(s.redis.target)\(s.redis.error.map { " (\($0))" } ?? "")")
        print("sqlite \(s.sqlite.ok ? "ok  " : "FAILING") \(s.sqlite.target)\(s.sqlite.error.map { " (\($0))" } ?? "")")
        print("\(s.orders) orders, \(s.pending) pending, \(s.inflight) in flight\(s.faultInjection ? ", fault injection ENABLED" : "")")
        let c = s.counters
        print("since start: \(c["ordered"] ?? 0) ordered, \(c["sold_out"] ?? 0) sold out, \(c["limit_reached"] ?? 0) limit reached, "
              + "\(c["replayed"] ?? 0) replayed, \(c["errors"] ?? 0) errors; recovered \(c["resolved_ordered"] ?? 0) ordered, "
              + "\(c["resolved_rolled_back"] ?? 0) rolled back, \(c["resolve_retries"] ?? 0) retries")
        if let d = s.delivery {
            let state = d.paused ? "PAUSED" : d.ok ? "ok  " : "FAILING"
            print("delivery \(state) \(d.target): \(d.lagChanges) waiting"
                  + (d.lagChanges > 0 ? ", oldest \(Double(Int(d.lagSeconds * 10)) / 10) s" : "")
                  + ", \(d.delivered) delivered since start\(d.error.map { " (\($0))" } ?? "")")
        }
        for (item, why) in (s.redisBehind ?? [:]).sorted(by: { $0.key < $1.key }) {
            print("STOPPED \(item): Redis is behind the journal (\(why)); flashsalectl sale repair \(item)")
        }
        if !degraded.isEmpty {
            print("DEGRADED: " + degraded.joined(separator: "; "))
            throw ExitCode(Exit.degraded)
        }
    }
}

struct TxnsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "txns", abstract: "List global transactions, newest first.")
    @OptionGroup var global: GlobalOptions
    @Option(help: "Only this state: prepared, succeeded or failed.", completion: Completions.transactionStates) var state: String?
    @Option(help: "At most this many, 1-1000.") var limit = 100
    @Option(help: "Older than this: the cursor the previous page ended with.") var before: String?

    func validate() throws {
        if let state, !["prepared", "succeeded", "failed"].contains(state) {
            throw ValidationError("--state must be prepared, succeeded or failed")
        }
    }

    func run() throws {
        var path = "/v1/txns?limit=\(limit)"
        if let state { path += "&state=\(state)" }
        if let before { path += "&before=\(before)" }
        let txns: API.Txns = try global.perform { try $0.call("GET", path) }
        if global.json { return global.printJSON(txns) }
        if txns.txns.isEmpty { print("no transactions") }
        for t in txns.txns {
            var line = "\(t.gid)  \(t.state)\(t.reason.map { " (\($0))" } ?? "")  \(t.item) round \(t.round)  user \(t.user)"
            if t.state == "prepared" {
                line += "  attempts \(t.attempts), next check at \(TimeText.format(t.nextCheckMs, utc: global.utc))"
                if let e = t.lastError { line += ", last error: \(e)" }
            }
            print(line)
        }
        if let next = txns.next { print("more: --before \(next)") }
    }
}
