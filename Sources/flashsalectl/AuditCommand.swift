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
            item is consistent and nothing is pending; 6 pending; 7 drift; 69 a node unreachable.
            """)
    @OptionGroup var global: GlobalOptions

    /// The audit over several nodes, as `--json` prints it.
    struct Cluster: Codable {
        var consistent: Bool
        var settled: Bool
        /// Every node saw the same Redis figures (round, total, taken) for every item.
        var viewsAgree: Bool
        var nodes: [String]
        var items: [API.AuditItem]

        enum CodingKeys: String, CodingKey {
            case consistent, settled, nodes, items, viewsAgree = "views_agree"
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
        let nodes = cluster.nodes
        if global.json {
            global.printJSON(cluster)
        } else {
            for i in cluster.items { print(Self.line(i)) }
            print("audit over \(nodes.count) nodes (\(nodes.joined(separator: ", "))): "
                  + (cluster.consistent ? (cluster.settled ? "consistent" : "consistent so far, transactions pending")
                                        : "DRIFT between Redis stock and orders"))
        }
        if !cluster.consistent { throw ExitCode(Exit.drift) }
        if !cluster.settled { throw ExitCode(Exit.pending) }
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
        let audit: API.Audit = try global.perform { try $0.call("GET", "/v1/audit") }
        if global.json {
            global.printJSON(audit)
        } else {
            for i in audit.items { print(Self.line(i)) }
            print(audit.consistent ? (audit.settled ? "audit: consistent" : "audit: consistent so far, transactions pending")
                                   : "audit: DRIFT between Redis stock and orders")
        }
        if !audit.consistent { throw ExitCode(Exit.drift) }
        if !audit.settled { throw ExitCode(Exit.pending) }
    }

    static func line(_ i: API.AuditItem) -> String {
        "\(i.consistent ? "ok   " : "DRIFT") \(i.item) round \(i.round): taken \(i.stockTaken) of \(i.stockTotal), "
            + "\(i.orders) orders, \(i.pending) pending"
            + (i.held.map { "; holds: \($0) held, \(i.confirmed ?? 0) confirmed, \(i.released ?? 0) released" } ?? "")
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
