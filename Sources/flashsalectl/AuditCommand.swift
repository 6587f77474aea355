import ArgumentParser
import Control

/// `flashsalectl audit`: stock taken in Redis against orders, per item, on one node or summed
/// over several nodes that share one Redis (`--socket A --socket B ...`).
struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Compare stock taken in Redis with orders, per item (over several nodes: --socket once per node).",
        discussion: """
            With one socket, that node's own audit. With several (one per flashd node sharing one Redis), \
            the orders and pending transactions of every node are summed per item and compared with the \
            stock taken in Redis, which is what G1 and G2 promise across nodes. Exit 0 only when every \
            item is consistent and nothing is pending; 6 pending; 7 drift; 69 a node unreachable. \
            With --orders-db, the shop's PostgreSQL (flashd's --orders-to, read by flashd with its own \
            credentials) is checked against Redis too: a row keeping a unit that Redis does not count as \
            taken is drift (7); fewer rows than units taken while delivery or purchases are under way is \
            pending (6).
            """)
    @OptionGroup var global: GlobalOptions
    @Flag(name: .customLong("orders-db"), help: "Also check the orders in flashd's PostgreSQL (--orders-to) against Redis, per item.")
    var ordersDB = false

    /// The audit over several nodes, as `--json` prints it.
    struct Cluster: Codable {
        var consistent: Bool
        var settled: Bool
        /// Every node saw the same Redis figures (round, total, taken) for every item.
        var viewsAgree: Bool
        var nodes: [String]
        var items: [API.AuditItem]
        /// With --orders-db: the one table every node delivers into, read through the first node.
        var ordersDB: API.OrdersDBAudit?

        enum CodingKeys: String, CodingKey {
            case consistent, settled, nodes, items, viewsAgree = "views_agree", ordersDB = "orders_db"
        }
    }

    func run() throws {
        // The same path twice is one node, not two.
        var sockets: [String] = []
        for path in global.socketPaths where !sockets.contains(path) { sockets.append(path) }
        guard sockets.count > 1 else { return try single() }
        // Nodes answer one after another; a purchase in between makes their Redis figures differ.
        // Ask again (up to three times) before calling that drift.
        var cluster = try ask(sockets)
        for _ in 0..<2 where !cluster.viewsAgree {
            usleepSeconds(0.2)
            cluster = try ask(sockets)
        }
        if ordersDB {
            // One node's answer covers the table: every node delivers into it.
            let first = try askOrdersDB(ControlClient(socketPath: sockets[0]))
            let rows = Dictionary(first.items.map { ($0.item, $0) }, uniquingKeysWith: { a, _ in a })
            for k in cluster.items.indices { cluster.items[k].ordersDB = rows[cluster.items[k].item]?.ordersDB }
            cluster.ordersDB = first.ordersDB
        }
        let nodes = cluster.nodes
        if global.json {
            global.printJSON(cluster)
        } else {
            for i in cluster.items { print(Self.line(i)) }
            print("audit over \(nodes.count) nodes (\(nodes.joined(separator: ", "))): "
                  + (cluster.consistent ? (cluster.settled ? "consistent" : "consistent so far, transactions pending")
                                        : "DRIFT between Redis stock and orders"))
            if let db = cluster.ordersDB { print(Self.summary(db)) }
        }
        if !cluster.consistent || cluster.ordersDB?.consistent == false { throw ExitCode(Exit.drift) }
        if !cluster.settled || cluster.ordersDB?.complete == false { throw ExitCode(Exit.pending) }
    }

    private func ask(_ sockets: [String]) throws -> Cluster {
        var nodes: [String] = []
        var audits: [API.Audit] = []
        for path in sockets {
            let client = ControlClient(socketPath: path)
            do {
                let status: API.Status = try client.call("GET", "/v1/status")
                audits.append(try client.call("GET", "/v1/audit"))
                guard !nodes.contains(status.node) else {
                    // Summing one node's orders twice would hide drift or invent it.
                    printError("flashsalectl: node \(status.node) answers on two of the sockets given; give each node once")
                    throw ExitCode(Exit.failure)
                }
                nodes.append(status.node)
            } catch let e as ControlError {
                throw global.fail(e)
            }
        }
        return Self.combine(nodes: nodes, audits: audits)
    }

    private func single() throws {
        let audit: API.Audit = ordersDB ? try askOrdersDB(global.client()) : try global.perform { try $0.call("GET", "/v1/audit") }
        if global.json {
            global.printJSON(audit)
        } else {
            for i in audit.items { print(Self.line(i)) }
            print(audit.consistent ? (audit.settled ? "audit: consistent" : "audit: consistent so far, transactions pending")
                                   : "audit: DRIFT between Redis stock and orders")
            if let db = audit.ordersDB { print(Self.summary(db)) }
        }
        if !audit.consistent || audit.ordersDB?.consistent == false { throw ExitCode(Exit.drift) }
        if !audit.settled || audit.ordersDB?.complete == false { throw ExitCode(Exit.pending) }
    }

    /// The audit with the orders database. A release returns its unit in Redis at once and
    /// reaches PostgreSQL a moment later (the seller's journal, then a batch), so for a second
    /// or two a released order may still keep its unit there: drift is asked again, up to
    /// three times 1.5 s apart, before it is called drift. Real drift stays.
    private func askOrdersDB(_ client: ControlClient) throws -> API.Audit {
        do {
            var audit: API.Audit = try client.call("GET", "/v1/audit?orders_db=1")
            for _ in 0..<3 where audit.ordersDB?.consistent == false {
                usleepSeconds(1.5)
                audit = try client.call("GET", "/v1/audit?orders_db=1")
            }
            return audit
        } catch let e as ControlError {
            throw global.fail(e)
        }
    }

    static func summary(_ db: API.OrdersDBAudit) -> String {
        "orders database \(db.target): " + (!db.consistent ? "DRIFT: rows keep units Redis does not count as taken"
            : db.complete ? "every unit taken has its row" : "rows still arriving (\(db.lagChanges) changes waiting on the node asked)")
    }

    static func line(_ i: API.AuditItem) -> String {
        "\(i.consistent ? "ok   " : "DRIFT") \(i.item) round \(i.round): taken \(i.stockTaken) of \(i.stockTotal), "
            + "\(i.orders) orders, \(i.pending) pending"
            + (i.held.map { "; holds: \($0) held, \(i.confirmed ?? 0) confirmed, \(i.released ?? 0) released" } ?? "")
            + (i.ordersDB.map { "; \($0) in the orders database" } ?? "")
            + (i.redisBehind.map { "; STOPPED, Redis behind the journal: \($0)" } ?? "")
    }

    /// Sums orders and pending over the nodes per item. Redis' figures (total, taken, round) are
    /// the same for every node when nothing moves; if two nodes saw different ones (a purchase or
    /// a reset between their answers), the item is reported inconsistent, to be audited again.
    static func combine(nodes: [String], audits: [API.Audit]) -> Cluster {
        var byItem: [String: API.AuditItem] = [:]
        var disagree: Set<String> = []
        for audit in audits {
            for i in audit.items {
                guard var sum = byItem[i.item] else {
                    byItem[i.item] = i
                    continue
                }
                if sum.round != i.round || sum.stockTaken != i.stockTaken || sum.stockTotal != i.stockTotal {
                    disagree.insert(i.item)
                }
                sum.orders += i.orders
                sum.pending += i.pending
                if i.held != nil || sum.held != nil {
                    sum.held = (sum.held ?? 0) + (i.held ?? 0)
                    sum.confirmed = (sum.confirmed ?? 0) + (i.confirmed ?? 0)
                    sum.released = (sum.released ?? 0) + (i.released ?? 0)
                    sum.deciding = (sum.deciding ?? 0) + (i.deciding ?? 0)
                }
                sum.redisBehind = sum.redisBehind ?? i.redisBehind
                byItem[i.item] = sum
            }
        }
        let items = byItem.values.sorted { $0.item < $1.item }.map { i -> API.AuditItem in
            var i = i
            // A released order's unit is back in the stock: it is an order, not a unit taken.
            let live = i.orders - (i.released ?? 0)
            i.consistent = !disagree.contains(i.item) && live <= i.stockTotal && live - (i.deciding ?? 0) <= i.stockTaken
                && i.stockTaken <= live + i.pending
            return i
        }
        return Cluster(consistent: items.allSatisfy(\.consistent), settled: items.allSatisfy { $0.pending == 0 && ($0.deciding ?? 0) == 0 },
                       viewsAgree: disagree.isEmpty, nodes: nodes, items: items)
    }
}
