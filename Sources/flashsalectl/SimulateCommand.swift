import ArgumentParser
import Control
import FoundationEssentials
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The seed's flash-sale batch, replayed against a running flashd.
struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Replay the seed's flash-sale scenario (needs flashd --enable-fault-injection).",
        discussion: """
            (Re)sets ITEM to --stock units, makes one purchase that crashes right after the stock step \
            (abandon), then --buyers concurrent purchases by other users. Prints the orders (stock - 1) and \
            the Redis stock (0), then watches until the crashed purchase's order appears, prints how long \
            that took, and runs the audit. Exit 0 when it converged and the audit is consistent. \
            With --hold D the sale holds each order D for payment: the buyers pay and the shop confirms their \
            orders at once, but the crashed purchase's buyer, who was never told of the order, never pays: D \
            after its order was made its unit goes back, the next buyer gets it, and the audit counts held, \
            confirmed and released orders.
            """)

    @OptionGroup var global: GlobalOptions
    @Option(help: "Item to sell.") var item = "sim-item"
    @Option(help: "Stock of the sale.") var stock = 4
    @Option(help: "Concurrent buyers after the crashed purchase.") var buyers = 10
    @Option(help: "Seconds to wait for convergence.") var timeout = 30.0
    @Option(help: ArgumentHelp("Hold each order this long for payment (N with s, m, h or d); one buyer never pays.",
                               valueName: "duration"))
    var hold: String?

    func validate() throws {
        guard stock >= 1 else { throw ValidationError("--stock must be at least 1") }
        guard (1...1000).contains(buyers) else { throw ValidationError("--buyers must be 1...1000") }
        if let hold, ClockOptions.seconds(hold) == nil { throw ValidationError("--hold must be N with s, m, h or d, e.g. 2s") }
    }

    func run() throws {
        let out = Output(json: global.json)
        let client = global.client()
        let started = Self.now()
        let runID = String(UInt32.random(in: 0...UInt32.max), radix: 36)

        // 1. Reset the sale (or create it).
        try global.perform { c in
            do {
                let _: API.Sale = try c.call("POST", "/v1/sales/\(item)/reset",
                                             body: API.Reset(stock: stock, limitPerUser: 1, holdSeconds: holdSeconds))
            } catch let e as ControlError where e.apiError?.body.error == "unknown_sale" {
                let _: API.Sale = try c.call("POST", "/v1/sales", body: API.CreateSale(item: item, stock: stock, limitPerUser: 1,
                                                                                       holdSeconds: holdSeconds))
            }
        }
        out.line("sale \(item) set to stock \(stock)" + (holdSeconds.map { ", each order held \($0) s for payment" } ?? ""))

        // 2. One purchase that crashes right after the stock step.
        let crash = API.Buy(item: item, user: "crash-\(runID)", requestID: "crash-\(runID)", crashAfter: "after-stock", crashMode: "abandon")
        var crashedGID = ""
        do {
            let _: API.Order = try client.call("POST", "/v1/purchases", body: crash)
            throw ValidationError("the crash purchase did not crash")
        } catch let e as ControlError {
            guard let api = e.apiError, api.body.error == "fault_injected" else {
                if e.apiError?.body.error == "fault_injection_disabled" {
                    printError("flashsalectl: simulate needs flashd started with --enable-fault-injection")
                    throw ExitCode(Exit.failure)
                }
                throw global.fail(e)
            }
            crashedGID = api.body.gid ?? ""
        }
        out.line("purchase \(crashedGID) crashed after the stock step (abandoned)")

        // 3. Concurrent purchases by other users.
        let results = Mutex<[String: Int]>([:])
        let paysAtOnce = holdSeconds != nil
        let socket = global.socketPath
        let saleItem = item
        concurrently(buyers) { i in
            let c = ControlClient(socketPath: socket)
            let outcome: String
            do {
                let order: API.Order = try c.call("POST", "/v1/purchases", body: API.Buy(item: saleItem, user: "buyer-\(runID)-\(i)"))
                if paysAtOnce {
                    // The shop confirms each paid order as its payment arrives.
                    let _: API.Order = try c.call("POST", "/v1/orders/\(order.orderID)/confirm", body: API.Decide())
                }
                outcome = "ordered"
            } catch let e as ControlError {
                outcome = e.apiError?.body.error ?? "error"
            } catch {
                outcome = "error"
            }
            results.withLock { $0[outcome, default: 0] += 1 }
        }
        let tally = results.withLock { $0 }
        out.line("\(buyers) concurrent buyers: " + tally.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", "))

        // 4. Orders and Redis stock now.
        let before: API.Sale = try global.perform { try $0.call("GET", "/v1/sales/\(item)") }
        out.line("orders: \(before.orders), redis stock: \(before.stockRemaining), pending: \(before.pending)")

        // 5. Watch for the crashed purchase's order.
        let crashedAt = Self.now()
        var after = before
        while after.orders < stock && Self.now() - crashedAt < timeout {
            usleep(100_000)
            after = try global.perform { try $0.call("GET", "/v1/sales/\(item)") }
        }
        let waited = Self.now() - crashedAt
        let converged = after.orders == stock && after.pending == 0
        if converged && paysAtOnce {
            out.line("orders: \(after.orders) after \(String(format2(waited))) s: the crashed purchase was finished by the timeout "
                     + "check, held for payment")
        } else if converged {
            out.line("orders: \(after.orders) after \(String(format2(waited))) s: the crashed purchase was finished by the timeout check")
        } else {
            out.line("orders: \(after.orders) after \(String(format2(waited))) s: NOT converged")
        }

        // 6. With a hold: all pay but one, whose unit goes back to the next buyer.
        var holdPlayed = true
        if let holdSeconds, converged {
            holdPlayed = try playHold(holdSeconds, unpaid: "ord-" + crashedGID, runID: runID, out: out)
        }

        // 7. Audit.
        let audit: API.Audit = try global.perform { try $0.call("GET", "/v1/audit") }
        let line = audit.items.first { $0.item == item }
        out.line("audit \(item): taken \(line?.stockTaken ?? -1), orders \(line?.orders ?? -1), pending \(line?.pending ?? -1), "
                 + (line?.held.map { "held \($0), confirmed \(line?.confirmed ?? 0), released \(line?.released ?? 0), " } ?? "")
                 + "\((line?.consistent ?? false) ? "consistent" : "DRIFT")")
        if global.json {
            global.printJSON(Summary(item: item, stock: stock, buyers: buyers, buyerOutcomes: tally, crashedGID: crashedGID,
                                     ordersBefore: before.orders, redisStockBefore: before.stockRemaining,
                                     ordersAfter: after.orders, convergeSeconds: waited, converged: converged,
                                     auditConsistent: line?.consistent ?? false, totalSeconds: Self.now() - started))
        }
        if !converged || !holdPlayed || line?.consistent != true { throw ExitCode(Exit.failure) }
    }

    var holdSeconds: Int? { hold.flatMap(ClockOptions.seconds) }

    struct Summary: Encodable {
        var item: String
        var stock: Int
        var buyers: Int
        var buyerOutcomes: [String: Int]
        var crashedGID: String
        var ordersBefore: Int
        var redisStockBefore: Int
        var ordersAfter: Int
        var convergeSeconds: Double
        var converged: Bool
        var auditConsistent: Bool
        var totalSeconds: Double
        enum CodingKeys: String, CodingKey {
            case item, stock, buyers, converged
            case buyerOutcomes = "buyer_outcomes", crashedGID = "crashed_gid", ordersBefore = "orders_before"
            case redisStockBefore = "redis_stock_before", ordersAfter = "orders_after", convergeSeconds = "converge_seconds"
            case auditConsistent = "audit_consistent", totalSeconds = "total_seconds"
        }
    }

    /// Progress lines go to stdout in text mode and to stderr with --json, so stdout stays one JSON object.
    struct Output {
        let json: Bool
        func line(_ s: String) {
            if json { printError(s) } else { print(s) }
        }
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

func format2(_ x: Double) -> String {
    let hundredths = Int((x * 100).rounded())
    let frac = hundredths % 100
    return "\(hundredths / 100).\(frac < 10 ? "0" : "")\(frac)"
}
