import Foundation
import Testing
import TestSupport
@testable import FlashDaemon

/// The Grafana dashboard and the Prometheus alert rules in packaging: every expression names
/// only metrics flashd exports (so a renamed metric can't leave a dead panel or an alert that
/// never fires), and promtool accepts the rules.
@Suite struct MonitoringKitTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Every `flashd_...` name in `expr`, as the family it belongs to (a histogram's `_bucket`,
    /// `_sum` and `_count` series are its family's).
    static func families(_ expr: String) -> Set<String> {
        var out: Set<String> = []
        var rest = Substring(expr)
        while let r = rest.range(of: "flashd_") {
            let name = rest[r.lowerBound...].prefix { $0.isLetter || $0.isNumber || $0 == "_" }
            var family = String(name)
            for suffix in ["_bucket", "_sum", "_count"] where family.hasSuffix(suffix) && MetricsHelp.help[family] == nil {
                family = String(family.dropLast(suffix.count))
            }
            out.insert(family)
            rest = rest[name.endIndex...]
        }
        return out
    }

    func dashboardExpressions() throws -> [String] {
        let data = try Data(contentsOf: Self.root.appendingPathComponent("packaging/grafana/flashd-dashboard.json"))
        let dash = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let panels = try #require(dash["panels"] as? [[String: Any]])
        return panels.flatMap { ($0["targets"] as? [[String: Any]] ?? []).compactMap { $0["expr"] as? String } }
    }

    func alertExpressions() throws -> [String] {
        let text = try String(contentsOf: Self.root.appendingPathComponent("packaging/prometheus/flashd-alerts.yml"), encoding: .utf8)
        return text.split(separator: "\n").compactMap { line in
            let t = line.trimmingCharacters(in: .whitespaces)
            return t.hasPrefix("expr:") ? String(t.dropFirst(5)).trimmingCharacters(in: .whitespaces) : nil
        }
    }

    @Test func everyExpressionNamesAMetricFlashdExports() throws {
        let panels = try dashboardExpressions()
        let alerts = try alertExpressions()
        #expect(panels.count >= 10 && alerts.count >= 5)
        var used: Set<String> = []
        for expr in panels + alerts {
            let names = Self.families(expr)
            used.formUnion(names)
            for name in names { #expect(MetricsHelp.help[name] != nil, "\(name) in \(expr) is no metric of flashd's") }
        }
        // The dashboard shows what the issue asks: rates, stock, latency and where it goes,
        // pending, errors, holds.
        for name in ["flashd_purchases_total", "flashd_sale_stock_remaining", "flashd_purchase_duration_seconds",
                     "flashd_purchase_step_seconds",
                     "flashd_pending_transactions", "flashd_journal_errors_total", "flashd_redis_behind_items", "flashd_sale_holds"] {
            #expect(used.contains(name), "nothing shows \(name)")
        }
    }

    @Test func promtoolAcceptsTheRules() throws {
        // scripts/install-deps.sh puts it in /usr/local/bin.
        let promtool = try Executables.find("promtool")
        let r = try Shell.runStatus(promtool, ["check", "rules", Self.root.appendingPathComponent("packaging/prometheus/flashd-alerts.yml").path])
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains("SUCCESS: 7 rules found"), "\(r.stdout)")
    }
}
