import ArgumentParser
import Control
import FoundationEssentials
import Histogram

/// `flashsalectl bench`: drives a running flashd and prints its rates next to two ceilings
/// measured in the same run, then audits, so a fast run that broke a guarantee is a failed run.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure purchases/s, sold-out answers/s and latency against two ceilings (needs admin).",
        discussion: """
            Three phases against the same daemon, each with --connections keep-alive connections for \
            --duration seconds: (1) the no-op endpoint GET /v1/ping, the cost of the socket and HTTP \
            alone; (2) the purchase Lua script alone, by redis-benchmark EVALSHA against flashd's Redis \
            with as many purchases in flight, 8 to a call as flashd merges them, in purchases/s \
            (skipped with a note when redis-benchmark is missing); (3) the \
            scenario. Then it waits for every transaction to settle and runs the audit. \
            Scenarios: success (stock larger than the run: every purchase succeeds), soldout (stock 0: \
            every answer is sold_out), sale (stock --stock, every request a new user: the stock sells \
            out, the rest are sold_out), notopen (a sale opening tomorrow: every answer is not_open, \
            counted with the sold-out answers), holds (the success scenario without and with a checkout hold, \
            in four alternating phases off-on-on-off, for the ratio of the two rates measured in one run; no \
            ceilings), delivery (the success scenario with delivery to PostgreSQL paused and running, in the same \
            four phases, with the delivery lag of the running phases; needs flashd --orders-to). Each run sells a new item, bench-SCENARIO-RUNID. \
            The report gives the CPU seconds that flashd, its redis-server (when it runs on this host) and this client used in the \
            no-op phase and in the scenario, and the client's CPU per request in each, so a reader sees who used the machine; \
            then each one's CPU microseconds per request in both phases, flashd's by kind of thread (event loops, engine, journal, \
            Redis I/O), and the success/no-op ratio that this CPU cost alone allows (cpu_bound_to_noop). \
            It gives the scenario's mean latency as the client saw it, in flashd (admission to answer), and in each step a \
            purchase waits on (the prepared row's commit, the Redis script, the order's commit), from flashd's /metrics, \
            and flashd's own p99 from its histogram beside the client's. With --rate, each request's latency counts from \
            when it was due. \
            Exit 0 when the audit is consistent and settled and (sale) no more than --stock sold; 1 otherwise.
            """)

    enum Scenario: String, ExpressibleByArgument, CaseIterable, Sendable {
        case success, soldout, sale, notopen, holds, delivery
    }

    @OptionGroup var global: GlobalOptions
    @Option(help: "success, soldout, sale, notopen, holds or delivery.") var scenario: Scenario = .success
    @Option(help: "Concurrent keep-alive connections.") var connections = 64
    @Option(help: "Seconds per phase.") var duration = 5.0
    @Option(help: "Stop the scenario after this many requests (default: the duration decides).") var requests: Int?
    @Option(help: "Scenario requests per second over all connections (default: as fast as answers come).") var rate: Double?
    @Option(help: "Stock of the sale scenario.") var stock = 10_000
    @Flag(help: "Skip the two ceilings; run the scenario and the audit only.") var noCeilings = false
    @Option(help: ArgumentHelp("Abandon every purchase at this fault point (after-journal, after-stock, before-order), "
                               + "leaving it prepared: fills the journal for a recovery measurement. Needs --enable-fault-injection.",
                               valueName: "point"), completion: Completions.faultPoints)
    var abandon: String?
    @Flag(help: "No progress lines on stderr.") var quiet = false

    func validate() throws {
        guard (1...4096).contains(connections) else { throw ValidationError("--connections must be 1...4096") }
        guard duration > 0 && duration <= 3600 else { throw ValidationError("--duration must be in (0, 3600] seconds") }
        if let requests, requests < 1 { throw ValidationError("--requests must be at least 1") }
        if let rate, rate <= 0 { throw ValidationError("--rate must be positive") }
        guard stock >= 1 else { throw ValidationError("--stock must be at least 1") }
        if let abandon, !["after-journal", "after-stock", "before-order"].contains(abandon) {
            throw ValidationError("--abandon must be after-journal, after-stock or before-order")
        }
    }

    struct Report: Codable {
        var scenario: String
        var connections: Int
        var durationS: Double
        var rateLimit: Double?
        var requests: Int
        var success: Int
        var soldout: Int
        var errors: Int
        var errorStatuses: [String: Int]
        var successPerS: Double
        var soldoutPerS: Double
        var requestsPerS: Double
        var p50Ms: Double
        var p90Ms: Double
        var p99Ms: Double
        var p999Ms: Double
        var maxMs: Double
        var noopPerS: Double?
        var noopP99Ms: Double?
        var luaPerS: Double?
        var luaNote: String?
        var successToNoop: Double?
        var soldoutToNoop: Double?
        var successToLua: Double?
        var saleStock: Int?
        var oversold: Bool
        var auditConsistent: Bool
        var auditSettled: Bool
        var daemonPeakRSSMiB: Double?
        /// CPU seconds of flashd, redis-server and this client in the scenario and in the no-op phase.
        var cpuS: ProcessCPU.Usage?
        var noopCPUS: ProcessCPU.Usage?
        /// The client's CPU per request: what the load itself costs the shared machine.
        var clientCPUUsPerRequest: Double?
        var noopClientCPUUsPerRequest: Double?
        var clientCPURatio: Double?
        /// CPU µs per request by process (and flashd's by kind of thread), in both phases, and
        /// the success/no-op ratio that CPU cost alone explains (`ProcessCPU.PerRequest`).
        var cpuPerRequest: ProcessCPU.PerRequest?
        var noopCPUPerRequest: ProcessCPU.PerRequest?
        var cpuBoundToNoop: Double?
        /// Mean milliseconds per purchase: as the client saw it, in flashd, and in each step.
        var meanMs: StepTimes.Means?
        /// The p99 of flashd's own time per purchase (admission to answer), from its histogram.
        var flashdP99Ms: Double?

        enum CodingKeys: String, CodingKey {
            case scenario, connections, requests, success, soldout, errors, oversold
            case durationS = "duration_s", rateLimit = "rate_limit", errorStatuses = "error_statuses"
            case successPerS = "success_per_s", soldoutPerS = "soldout_per_s", requestsPerS = "requests_per_s"
            case p50Ms = "p50_ms", p90Ms = "p90_ms", p99Ms = "p99_ms", p999Ms = "p999_ms", maxMs = "max_ms"
            case noopPerS = "noop_per_s", noopP99Ms = "noop_p99_ms", luaPerS = "lua_per_s", luaNote = "lua_note"
            case successToNoop = "success_to_noop", soldoutToNoop = "soldout_to_noop", successToLua = "success_to_lua"
            case saleStock = "sale_stock", auditConsistent = "audit_consistent", auditSettled = "audit_settled"
            case daemonPeakRSSMiB = "daemon_peak_rss_mib", cpuS = "cpu_s", noopCPUS = "noop_cpu_s"
            case clientCPUUsPerRequest = "client_cpu_us_per_request", noopClientCPUUsPerRequest = "noop_client_cpu_us_per_request"
            case clientCPURatio = "client_cpu_ratio", meanMs = "mean_ms", flashdP99Ms = "flashd_p99_ms"
            case cpuPerRequest = "cpu_us_per_request", noopCPUPerRequest = "noop_cpu_us_per_request", cpuBoundToNoop = "cpu_bound_to_noop"
        }
    }

    func run() throws {
        if scenario == .holds { return try compareHolds() }
        if scenario == .delivery { return try compareDelivery() }
        let socket = global.socketPath
        let runID = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        let item = "bench-\(scenario.rawValue)-\(runID)"
        let saleStock: Int
        switch scenario {
        case .success: saleStock = 1_000_000_000
        case .soldout: saleStock = 0
        case .sale: saleStock = stock
        case .notopen: saleStock = 1_000_000
        case .holds, .delivery: saleStock = 0  // compared in their own runs above
        }
        note("bench: \(scenario.rawValue), \(connections) connections, \(Self.format(duration)) s per phase, \(socket)")

        // Fail early, with the daemon's own words, when it is unreachable or we may not create sales.
        try global.perform { c in
            let _: API.Sale = try c.call("POST", "/v1/sales", body: API.CreateSale(item: item, stock: saleStock, limitPerUser: 1,
                                                                                   opensAt: scenario == .notopen ? "+1d" : nil))
        }

        var noop: LoadGenerator.Result?
        var noopCPU: ProcessCPU.Usage?
        var lua: (rate: Double?, note: String?) = (nil, nil)
        let script: API.StockScript? = try? global.client().call("GET", "/v1/debug/stock-script")
        let cpu = ProcessCPU(socketPath: socket, redis: script?.redis)
        if !noCeilings {
            note("ceiling 1/2: no-op endpoint, GET /v1/ping")
            let ping = LoadGenerator.request(method: "GET", path: "/v1/ping", body: nil)
            let before = cpu.sample()
            noop = load(label: "ping", plan: LoadGenerator.Plan(socketPath: socket, connections: connections, seconds: duration,
                                                                maxRequests: nil, rate: nil, request: { _, _ in ping }))
            noopCPU = ProcessCPU.usage(from: before, to: cpu.sample())
            note("  => \(Self.count(noop!.rate)) req/s, p99 \(Self.ms(noop!.latency, 99)) ms")
            note("ceiling 2/2: the purchase script alone, redis-benchmark EVALSHA, \(connections) purchases in flight, \(LuaCeiling.perCall) a call")
            lua = try LuaCeiling(global: global, clients: connections, seconds: duration, runID: runID).measure()
            note("  => " + (lua.rate.map { "\(Self.count($0)) purchases/s" } ?? "skipped: \(lua.note ?? "")"))
        }

        note("scenario \(scenario.rawValue): item \(item), stock \(saleStock)")
        let prefix = "u\(runID)"
        let fault = abandon.map { #","crash_after":"\#($0)","crash_mode":"abandon""# } ?? ""
        let before = cpu.sample()
        let stepsBefore = StepTimes.sample(global.client())
        let result = load(label: "buy", plan: LoadGenerator.Plan(
            socketPath: socket, connections: connections, seconds: duration, maxRequests: requests, rate: rate,
            request: { conn, seq in
                // Every request a new user and request id: the per-user limit (1) never refuses.
                let body = #"{"item":"\#(item)","user":"\#(prefix)-\#(conn)-\#(seq)","request_id":"r\#(conn)-\#(seq)"\#(fault)}"#
                return LoadGenerator.request(method: "POST", path: "/v1/purchases", body: Array(body.utf8))
            }))
        let scenarioCPU = ProcessCPU.usage(from: before, to: cpu.sample())
        let clientMs = result.latency.totalCount > 0 ? Self.round(result.latency.mean / 1000, 3) : nil
        let stepsAfter = stepsBefore == nil ? nil : StepTimes.sample(global.client())
        let steps = stepsBefore.flatMap { a in stepsAfter.map { StepTimes.means(from: a, to: $0, clientMs: clientMs) } }

        note(abandon == nil ? "audit: waiting for every transaction to settle" : "audit (abandoned purchases stay pending)")
        let audit = try settledAudit(wait: abandon == nil)
        let status: API.Status? = try? global.client().call("GET", "/v1/status")
        let t = result.tally
        let secs = max(result.seconds, 0.001)
        var report = Report(
            scenario: scenario.rawValue, connections: connections, durationS: Self.round(result.seconds, 3), rateLimit: rate,
            requests: t.requests, success: t.success, soldout: t.soldOut, errors: t.errors + result.connectErrors,
            errorStatuses: Dictionary(uniqueKeysWithValues: t.statuses.map { (String($0.key), $0.value) }),
            successPerS: Self.round(Double(t.success) / secs, 1), soldoutPerS: Self.round(Double(t.soldOut) / secs, 1),
            requestsPerS: Self.round(Double(t.requests) / secs, 1),
            p50Ms: Self.ms(result.latency, 50), p90Ms: Self.ms(result.latency, 90), p99Ms: Self.ms(result.latency, 99),
            p999Ms: Self.ms(result.latency, 99.9), maxMs: Self.round(Double(result.latency.max) / 1000, 3),
            noopPerS: noop.map { Self.round($0.rate, 1) }, noopP99Ms: noop.map { Self.ms($0.latency, 99) },
            luaPerS: lua.rate.map { Self.round($0, 1) }, luaNote: lua.note,
            successToNoop: noop.map { Self.round(Double(t.success) / secs / $0.rate, 3) },
            soldoutToNoop: noop.map { Self.round(Double(t.soldOut) / secs / $0.rate, 3) },
            successToLua: lua.rate.map { Self.round(Double(t.success) / secs / $0, 3) },
            saleStock: scenario == .sale ? saleStock : nil,
            oversold: t.success > saleStock,
            auditConsistent: audit.consistent, auditSettled: audit.settled,
            daemonPeakRSSMiB: status?.peakRSSBytes.map { Self.round(Double($0) / 1_048_576, 1) },
            cpuS: scenarioCPU, noopCPUS: noopCPU,
            clientCPUUsPerRequest: Self.perRequest(scenarioCPU.client, t.requests),
            noopClientCPUUsPerRequest: noop.flatMap { n in noopCPU.flatMap { Self.perRequest($0.client, n.tally.requests) } },
            clientCPURatio: nil,
            cpuPerRequest: ProcessCPU.PerRequest(scenarioCPU, requests: t.requests, seconds: result.seconds),
            noopCPUPerRequest: noop.flatMap { n in ProcessCPU.PerRequest(noopCPU, requests: n.tally.requests, seconds: n.seconds) },
            cpuBoundToNoop: nil, meanMs: steps,
            flashdP99Ms: stepsBefore.flatMap { a in stepsAfter.flatMap { StepTimes.quantile(0.99, from: a, to: $0) } })
        report.clientCPURatio = report.noopClientCPUUsPerRequest.flatMap { n in
            report.clientCPUUsPerRequest.map { n > 0 ? Self.round($0 / n, 2) : 0 }
        }
        // Only with every process of the scenario measured: without Redis' share (a remote
        // Redis) a purchase would look cheaper than it is.
        if let c = report.cpuPerRequest, c.flashd != nil, c.redis != nil, c.all > 0, let n = report.noopCPUPerRequest, n.flashd != nil {
            report.cpuBoundToNoop = Self.round(n.all / c.all, 3)
        }

        if global.json {
            global.printJSON(report)
        } else {
            printText(report)
        }
        guard report.auditConsistent && (report.auditSettled || abandon != nil) && !report.oversold else {
            throw ExitCode(Exit.failure)
        }
    }

    // MARK: phases

    func load(label: String, plan: LoadGenerator.Plan) -> LoadGenerator.Result {
        var plan = plan
        if !quiet {
            plan.progress = { tally, elapsed in
                printError("  \(Self.fixed(elapsed, 1))s  \(label)  \(Self.count(Double(tally.success) / elapsed))/s ok  "
                           + "\(Self.count(Double(tally.soldOut) / elapsed))/s sold-out  \(tally.errors) errors")
            }
        }
        return LoadGenerator(plan).run()
    }

    /// Polls the audit until nothing is pending (the timeout check settles what a run left
    /// prepared), for up to 30 s.
    func settledAudit(wait: Bool) throws -> API.Audit {
        let deadline = monotonicSeconds() + 30
        while true {
            let audit: API.Audit = try global.perform { try $0.call("GET", "/v1/audit") }
            if !wait || audit.settled || monotonicSeconds() > deadline { return audit }
            usleepSeconds(0.2)
        }
    }

    // MARK: output

    func note(_ line: String) {
        if !quiet { printError(line) }
    }

    private func printText(_ r: Report) {
        func ratio(_ x: Double?, _ of: String) -> String { x.map { "\(Self.fixed($0, 2)) × \(of)" } ?? "" }
        var lines = ["results (\(r.scenario), \(r.connections) connections\(r.rateLimit.map { ", paced at \(Self.count($0))/s" } ?? ""))"]
        lines.append("  successful purchases/s  \(Self.pad(Self.count(r.successPerS)))  \(ratio(r.successToNoop, "no-op"))  \(ratio(r.successToLua, "script"))")
        lines.append("  sold-out answers/s      \(Self.pad(Self.count(r.soldoutPerS)))  \(ratio(r.soldoutToNoop, "no-op"))")
        lines.append("  errors                  \(Self.pad(String(r.errors)))  \(r.errorStatuses.isEmpty ? "" : "\(r.errorStatuses)")")
        lines.append("  requests                \(Self.pad(String(r.requests)))  in \(Self.format(r.durationS)) s")
        lines.append("  latency ms              p50 \(Self.fixed(r.p50Ms, 2))  p90 \(Self.fixed(r.p90Ms, 2))  "
                     + "p99 \(Self.fixed(r.p99Ms, 2))  p99.9 \(Self.fixed(r.p999Ms, 2))  max \(Self.fixed(r.maxMs, 2))"
                     + (r.flashdP99Ms.map { "  (p99 in flashd \(Self.fixed($0, 2)))" } ?? ""))
        if let n = r.noopPerS { lines.append("  no-op ceiling           \(Self.pad(Self.count(n)))  req/s (p99 \(r.noopP99Ms ?? 0) ms)") }
        if let l = r.luaPerS { lines.append("  script ceiling          \(Self.pad(Self.count(l)))  purchases/s, \(LuaCeiling.perCall) a call") } else if let n = r.luaNote {
            lines.append("  script ceiling          skipped: \(n)")
        }
        if let s = r.saleStock { lines.append("  sold                    \(Self.pad(String(r.success)))  of stock \(s)\(r.oversold ? "  OVERSOLD" : "")") }
        if let c = r.cpuS {
            let who = [("flashd", c.flashd), ("redis", c.redis), ("client", c.client)].compactMap { n, v in v.map { "\(n) \(Self.fixed($0, 2))" } }
            lines.append("  CPU seconds             \(who.joined(separator: "  "))"
                         + (r.clientCPURatio.map { "  (client per request \(Self.fixed($0, 2)) × its per no-op)" } ?? ""))
        }
        if let c = r.cpuPerRequest {
            lines.append("  CPU µs per request      \(c.text), \(Self.fixed(c.coresBusy, 2)) cores busy"
                         + (r.noopCPUPerRequest.map { "; no-op \(Self.fixed($0.all, 0)), \(Self.fixed($0.coresBusy, 2)) cores busy" } ?? ""))
        }
        if let b = r.cpuBoundToNoop {
            lines.append("  CPU-bound ratio         \(Self.fixed(b, 3)) × no-op: what the CPU per request alone allows"
                         + (r.noopPerS.map { " (measured: requests \(Self.fixed(r.requestsPerS / max($0, 1), 3)) × no-op)" } ?? ""))
        }
        if let m = r.meanMs {
            let parts = [("journal prepare", m.journalPrepare), ("script", m.stockScript), ("journal order", m.journalOrder)]
                .compactMap { n, v in v.map { "\(n) \(Self.fixed($0, 2))" } }
            lines.append("  mean ms per request     client \(m.client.map { Self.fixed($0, 2) } ?? "-")  "
                         + "in flashd \(m.purchase.map { Self.fixed($0, 2) } ?? "-")\(parts.isEmpty ? "" : ": ")\(parts.joined(separator: "  "))")
        }
        if let m = r.daemonPeakRSSMiB { lines.append("  flashd peak RSS         \(Self.pad(Self.format(m)))  MiB") }
        lines.append("  audit                   \(r.auditConsistent ? "consistent" : "DRIFT")\(r.auditSettled ? ", settled" : ", NOT settled")")
        print(lines.joined(separator: "\n"))
    }

    static func perRequest(_ seconds: Double, _ requests: Int) -> Double? {
        requests > 0 ? round(seconds / Double(requests) * 1e6, 1) : nil
    }

    static func ms(_ h: Histogram<UInt64>, _ p: Double) -> Double {
        h.totalCount == 0 ? 0 : round(Double(h.valueAtPercentile(p)) / 1000, 3)
    }

    static func round(_ x: Double, _ digits: Int) -> Double {
        let f = (0..<digits).reduce(1.0) { acc, _ in acc * 10 }
        return (x * f).rounded() / f
    }

    /// 12,345 with thousands separators.
    static func count(_ x: Double) -> String {
        let n = Int(x.rounded())
        let digits = String(abs(n))
        var out = ""
        for (i, ch) in digits.reversed().enumerated() {
            if i > 0 && i % 3 == 0 { out.append(",") }
            out.append(ch)
        }
        return (n < 0 ? "-" : "") + String(out.reversed())
    }

    static func format(_ x: Double) -> String {
        x == x.rounded() ? String(Int(x)) : fixed(x, 1)
    }

    /// `x` with exactly `digits` decimals (String(format:) is not in FoundationEssentials).
    static func fixed(_ x: Double, _ digits: Int) -> String {
        let f = (0..<digits).reduce(1.0) { acc, _ in acc * 10 }
        let n = Int((abs(x) * f).rounded())
        let whole = n / Int(f), frac = n % Int(f)
        let fracText = digits == 0 ? "" : "." + String(repeating: "0", count: digits - String(frac).count) + String(frac)
        return (x < 0 && n != 0 ? "-" : "") + String(whole) + fracText
    }

    static func pad(_ s: String) -> String { String(repeating: " ", count: max(0, 10 - s.count)) + s }
}

extension LoadGenerator.Result {
    var rate: Double { Double(tally.requests) / max(seconds, 0.001) }
}
