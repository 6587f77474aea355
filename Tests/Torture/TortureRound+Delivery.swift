import Foundation
import TestSupport

/// `--delivery`: every node delivers into one PostgreSQL, which is itself crashed in some rounds
/// (`pg_ctl stop -m immediate` while the buyers buy). After each round, once every node has
/// caught up: every order of every journal is in PostgreSQL exactly once (its primary key),
/// in the state its journal has now, and PostgreSQL has no row that no journal has (G8).
extension TortureRound {
    /// PostgreSQL's crash in every other round, at a moment of its own.
    func crashPostgresMidRound(_ setup: TortureSetup) {
        guard let pg = setup.postgres, number % 2 == 1 else { return }
        let delayMs = UInt32(faultAfterMs / 2 + 20)
        Thread.detachNewThread {
            usleep(delayMs * 1000)
            pg.stopImmediately()
            usleep(200_000)
            try? pg.start()
        }
    }

    func deliveryViolations(_ setup: TortureSetup) -> [String] {
        guard let pg = setup.postgres else { return [] }
        // PostgreSQL back from its crash and every node's mark at its newest change.
        do {
            try Wait.until(timeout: 30, "every node to deliver everything") {
                guard pg.running else { return false }
                return try setup.nodes.allSatisfy { node in
                    let d = try node.request("GET", "/v1/status").body["delivery"] as? [String: Any] ?? [:]
                    return (d["lag_changes"] as? Int) == 0 && (d["delivered_seq"] as? Int) == (d["newest_seq"] as? Int)
                }
            }
        } catch {
            return ["delivery did not catch up within 30 s: \(error)"]
        }
        do {
            var journals: [String: String] = [:]
            for node in setup.nodes {
                let rows = try node.sql("""
                    SELECT order_id || ' ' || CASE WHEN hold IS NULL THEN 'final' WHEN hold IN ('confirmed', 'released') THEN hold
                    ELSE 'held' END FROM txns WHERE state = 'succeeded'
                    """)
                for line in rows.split(separator: "\n") {
                    let parts = line.split(separator: " ")
                    journals[String(parts[0])] = String(parts[1])
                }
            }
            var delivered: [String: String] = [:]
            var duplicates = 0
            for line in try pg.psql("SELECT order_id || ' ' || state FROM flashd_orders").split(separator: "\n") {
                let parts = line.split(separator: " ")
                if delivered.updateValue(String(parts[1]), forKey: String(parts[0])) != nil { duplicates += 1 }
            }
            var found: [String] = []
            if duplicates > 0 { found.append("delivery: \(duplicates) orders twice in PostgreSQL") }
            let missing = journals.keys.filter { delivered[$0] == nil }
            if !missing.isEmpty { found.append("delivery: \(missing.count) orders never reached PostgreSQL, e.g. \(missing.sorted().prefix(3))") }
            let unknown = delivered.keys.filter { journals[$0] == nil }
            if !unknown.isEmpty { found.append("delivery: \(unknown.count) rows in PostgreSQL that no journal has, e.g. \(unknown.sorted().prefix(3))") }
            let stale = journals.filter { delivered[$0.key] != nil && delivered[$0.key] != $0.value }
            if !stale.isEmpty {
                found.append("delivery: \(stale.count) orders in PostgreSQL in another state than their journal's, e.g. "
                             + "\(stale.prefix(3).map { "\($0.key) journal \($0.value) postgres \(delivered[$0.key] ?? "?")" })")
            }
            return found
        } catch {
            return ["delivery: could not compare PostgreSQL with the journals: \(error)"]
        }
    }
}
