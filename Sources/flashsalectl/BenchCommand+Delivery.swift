import ArgumentParser
import Control

#if canImport(Glibc)
import Glibc
#endif

/// `bench --scenario delivery`: what delivering orders to PostgreSQL costs a successful purchase,
/// and how far behind it runs. The success scenario in four phases off, on, on, off, where off
/// pauses the deliverer (the journal still writes its outbox, which the feed needs either way)
/// and on lets it run; between phases delivery catches up, unmeasured, so no phase pays for
/// another's backlog. The lag is each change's, from its commit in the journal to PostgreSQL's
/// commit, over the changes of the running phases.
extension BenchCommand {
    struct DeliveryReport: Codable {
        var connections: Int
        var phaseS: Double
        var offPerS: Double
        var onPerS: Double
        var ratio: Double
        var lagP50Ms: Int64?
        var lagP99Ms: Int64?
        var delivered: Int64
        var errors: Int
        var auditConsistent: Bool
        var auditSettled: Bool
        enum CodingKeys: String, CodingKey {
            case connections, ratio, errors, delivered
            case phaseS = "phase_s", offPerS = "delivery_off_per_s", onPerS = "delivery_on_per_s"
            case lagP50Ms = "lag_p50_ms", lagP99Ms = "lag_p99_ms"
            case auditConsistent = "audit_consistent", auditSettled = "audit_settled"
        }
    }

    func compareDelivery() throws {
        let socket = global.socketPath
        let runID = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        let item = "bench-delivery-\(runID)"
        let first: API.Status = try global.perform { try $0.call("GET", "/v1/status") }
        guard first.delivery != nil else {
            printError("flashsalectl: flashd delivers orders nowhere; start it with --orders-to for this scenario")
            throw ExitCode(Exit.failure)
        }
        try global.perform { c in
            let _: API.Sale = try c.call("POST", "/v1/sales", body: API.CreateSale(item: item, stock: 1_000_000_000, limitPerUser: 1))
        }
        note("bench: delivery paused vs running, \(connections) connections, 4 phases of \(Self.format(duration)) s, \(socket)")
        var success = (off: 0, on: 0)
        var seconds = (off: 0.0, on: 0.0)
        var errors = 0
        var lags: [[Int64]] = []
        var delivered: Int64 = 0
        for (phase, on) in [false, true, true, false].enumerated() {
            try setPaused(!on)
            let before = try deliveryStatus()
            let prefix = "u\(runID)p\(phase)"
            let result = successPhase(label: on ? "delivery on " : "delivery off", item: item, prefix: prefix)
            errors += result.tally.errors + result.connectErrors
            let rate = Double(result.tally.success) / max(result.seconds, 0.001)
            if on {
                success.on += result.tally.success
                seconds.on += result.seconds
                // Until this phase's last change is in PostgreSQL: its lag counts whole.
                let after = try caughtUp()
                delivered += after.delivered - Int64(before.delivered)
                lags.append(contentsOf: zip(before.lagHistogramMs, after.histogram).map { [$0[0], $1[1] - $0[1]] })
            } else {
                success.off += result.tally.success
                seconds.off += result.seconds
            }
            note("  phase \(phase + 1): delivery \(on ? "on " : "off") \(Self.count(rate))/s")
            if !on {
                // The backlog of a paused phase goes out between phases, not in the next one.
                try setPaused(false)
                _ = try caughtUp()
            }
        }
        note("audit: waiting for every transaction to settle")
        let audit = try settledAudit(wait: true)
        var histogram: [Int64: Int64] = [:]
        for bucket in lags { histogram[bucket[0], default: 0] += bucket[1] }
        let merged = histogram.keys.sorted { $0 == -1 ? false : $1 == -1 ? true : $0 < $1 }.map { [$0, histogram[$0] ?? 0] }
        let off = Double(success.off) / max(seconds.off, 0.001)
        let on = Double(success.on) / max(seconds.on, 0.001)
        let report = DeliveryReport(connections: connections, phaseS: duration, offPerS: Self.round(off, 1), onPerS: Self.round(on, 1),
                                    ratio: Self.round(off > 0 ? on / off : 0, 3), lagP50Ms: API.Delivery.percentile(merged, 0.5),
                                    lagP99Ms: API.Delivery.percentile(merged, 0.99), delivered: delivered, errors: errors,
                                    auditConsistent: audit.consistent, auditSettled: audit.settled)
        if global.json {
            global.printJSON(report)
        } else {
            let bound = { (ms: Int64?) in ms.map { $0 < 0 ? "> 60000" : "<= \($0)" } ?? "-" }
            print("""
                results (delivery paused vs running, \(connections) connections, phases off-on-on-off of \(Self.format(duration)) s)
                  delivery off: successful purchases/s  \(Self.pad(Self.count(off)))
                  delivery on:  successful purchases/s  \(Self.pad(Self.count(on)))
                  ratio on / off                        \(Self.pad(Self.fixed(report.ratio, 3)))
                  delivery lag p50 / p99 (ms)           \(Self.pad(bound(report.lagP50Ms) + " / " + bound(report.lagP99Ms)))
                  changes delivered while running       \(Self.pad(String(delivered)))
                  errors                                \(Self.pad(String(errors)))
                  audit                                 \(audit.consistent ? "consistent" : "DRIFT")\(audit.settled ? ", settled" : ", NOT settled")
                """)
        }
        guard audit.consistent && audit.settled && errors == 0 else { throw ExitCode(Exit.failure) }
    }

    private func setPaused(_ paused: Bool) throws {
        let _: API.Delivery? = try global.perform { try $0.call("POST", "/v1/delivery", body: API.DeliveryControl(paused: paused)) }
    }

    private func deliveryStatus() throws -> API.Delivery {
        let s: API.Status = try global.perform { try $0.call("GET", "/v1/status") }
        guard let d = s.delivery else { throw ExitCode(Exit.failure) }
        return d
    }

    /// Waits (up to a minute) until the mark reaches the newest change.
    private func caughtUp() throws -> (delivered: Int64, histogram: [[Int64]]) {
        for _ in 0..<1200 {
            let d = try deliveryStatus()
            if d.lagChanges == 0 && d.deliveredSeq == d.newestSeq { return (Int64(d.delivered), d.lagHistogramMs) }
            usleep(50_000)
        }
        printError("flashsalectl: delivery did not catch up within a minute; is PostgreSQL up? (flashsalectl status)")
        throw ExitCode(Exit.failure)
    }
}
