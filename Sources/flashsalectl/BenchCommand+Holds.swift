import ArgumentParser
import Control

/// `bench --scenario holds`: what a checkout hold costs a successful purchase. The same
/// success scenario on two sales, one without a hold and one with (an hour, so nothing runs out
/// meanwhile), in four phases off, on, on, off: a machine that speeds up or slows down during
/// the run weighs on both sides alike. The ratio of the two rates is the figure.
extension BenchCommand {
    struct HoldsReport: Codable {
        var connections: Int
        var phaseS: Double
        var offPerS: Double
        var onPerS: Double
        var ratio: Double
        var errors: Int
        var auditConsistent: Bool
        var auditSettled: Bool
        enum CodingKeys: String, CodingKey {
            case connections, ratio, errors
            case phaseS = "phase_s", offPerS = "holds_off_per_s", onPerS = "holds_on_per_s"
            case auditConsistent = "audit_consistent", auditSettled = "audit_settled"
        }
    }

    /// One phase of the success scenario for the off/on comparisons: every purchase a new
    /// user (`prefix`-connection-sequence) on `item`, for `duration` seconds.
    func successPhase(label: String, item: String, prefix: String) -> LoadGenerator.Result {
        load(label: label, plan: LoadGenerator.Plan(
            socketPath: global.socketPath, connections: connections, seconds: duration, maxRequests: nil, rate: nil,
            request: { conn, seq in
                let body = #"{"item":"\#(item)","user":"\#(prefix)-\#(conn)-\#(seq)","request_id":"r\#(conn)-\#(seq)"}"#
                return LoadGenerator.request(method: "POST", path: "/v1/purchases", body: Array(body.utf8))
            }))
    }

    func compareHolds() throws {
        let socket = global.socketPath
        let runID = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        let items = (off: "bench-holds-off-\(runID)", on: "bench-holds-on-\(runID)")
        try global.perform { c in
            let _: API.Sale = try c.call("POST", "/v1/sales", body: API.CreateSale(item: items.off, stock: 1_000_000_000, limitPerUser: 1))
            let _: API.Sale = try c.call("POST", "/v1/sales", body: API.CreateSale(item: items.on, stock: 1_000_000_000, limitPerUser: 1,
                                                                                   holdSeconds: 3600))
        }
        note("bench: holds off vs on, \(connections) connections, 4 phases of \(Self.format(duration)) s, \(socket)")
        var success = (off: 0, on: 0)
        var seconds = (off: 0.0, on: 0.0)
        var errors = 0
        for (phase, held) in [false, true, true, false].enumerated() {
            let item = held ? items.on : items.off
            let prefix = "u\(runID)p\(phase)"
            let result = successPhase(label: held ? "hold on " : "hold off", item: item, prefix: prefix)
            errors += result.tally.errors + result.connectErrors
            if held {
                success.on += result.tally.success
                seconds.on += result.seconds
            } else {
                success.off += result.tally.success
                seconds.off += result.seconds
            }
            note("  phase \(phase + 1): hold \(held ? "on " : "off") \(Self.count(Double(result.tally.success) / max(result.seconds, 0.001)))/s")
        }
        note("audit: waiting for every transaction to settle")
        let audit = try settledAudit(wait: true)
        let off = Double(success.off) / max(seconds.off, 0.001)
        let on = Double(success.on) / max(seconds.on, 0.001)
        let report = HoldsReport(connections: connections, phaseS: duration, offPerS: Self.round(off, 1), onPerS: Self.round(on, 1),
                                 ratio: Self.round(off > 0 ? on / off : 0, 3), errors: errors,
                                 auditConsistent: audit.consistent, auditSettled: audit.settled)
        if global.json {
            global.printJSON(report)
        } else {
            print("""
                results (holds off vs on, \(connections) connections, phases off-on-on-off of \(Self.format(duration)) s)
                  hold off: successful purchases/s  \(Self.pad(Self.count(off)))
                  hold on:  successful purchases/s  \(Self.pad(Self.count(on)))
                  ratio on / off                    \(Self.pad(Self.fixed(report.ratio, 3)))
                  errors                            \(Self.pad(String(errors)))
                  audit                             \(audit.consistent ? "consistent" : "DRIFT")\(audit.settled ? ", settled" : ", NOT settled")
                """)
        }
        guard audit.consistent && audit.settled && errors == 0 else { throw ExitCode(Exit.failure) }
    }
}
