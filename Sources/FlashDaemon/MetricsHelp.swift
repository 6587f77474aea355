/// `# HELP` lines for flashd's metrics. The engine makes its metrics through swift-metrics,
/// whose Prometheus backend has no place for help text, so the exposition gets each metric's
/// help line inserted before its `# TYPE` line here; a metric without one here gets none.
enum MetricsHelp {
    static let help: [String: String] = [
        "flashd_build_info": "flashd's version, as a label; always 1.",
        "flashd_purchases_total": "Purchase requests by outcome (ordered, replayed, sold_out, limit_reached, not_open, ..., error).",
        "flashd_purchase_duration_seconds": "Time from a purchase's admission to its answer.",
        "flashd_purchase_step_seconds": "Time a purchase waited on one step (journal_prepare, stock_script, journal_order), until the engine's turn again.",
        "flashd_pending_transactions": "Prepared transactions this node has yet to settle.",
        "flashd_recovered_transactions_total": "Transactions settled by recovery and the timeout check, by outcome.",
        "flashd_backchecks_total": "Back-checks of prepared transactions in Redis, by outcome.",
        "flashd_resolve_retries_total": "Attempts to settle a transaction that failed and were scheduled again.",
        "flashd_redis_errors_total": "Purchase steps that failed because Redis or its replicas could not be used.",
        "flashd_journal_errors_total": "Purchase steps that failed because the journal could not be used (a full disk, a hung disk).",
        "flashd_sold_out_items": "Items the sold-out fast path answers for at once.",
        "flashd_sale_stock_remaining": "Units of a sale's current round left in Redis, by item (every 200 ms).",
        "flashd_sale_stock_total": "Units of a sale's current round, its start and every restock, by item.",
        "flashd_sale_orders": "This node's orders of a sale's current round, released ones included, by item (every 2 s).",
        "flashd_sale_pending": "This node's purchases of a sale's current round not yet settled, by item (every 2 s).",
        "flashd_sale_holds": "This node's orders of a sale's current round by hold state (held, confirmed, released), by item.",
        "flashd_holds_decided_total": "Held orders this node decided, by verdict (confirmed, cancelled, expired); a released unit went back once.",
        "flashd_redis_behind_items": "Items stopped because Redis holds fewer deductions than a journal proves (G9).",
        "flashd_delivery_changes_total": "Order changes delivered to the shop's PostgreSQL (--orders-to) since start.",
        "flashd_delivery_failures_total": "Delivery attempts that failed (PostgreSQL down, slow or refusing); each is retried with backoff.",
        "flashd_delivery_pending_changes": "Order changes in this node's journal not yet delivered to PostgreSQL.",
        "flashd_delivery_oldest_pending_seconds": "Age of the oldest order change not yet delivered to PostgreSQL (0: none waits).",
        "flashd_delivery_lag_seconds": "Time from an order change's commit in the journal to PostgreSQL's commit of it.",
    ]

    /// `text` with a `# HELP` line before each `# TYPE` line of a metric that has one.
    static func annotate(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count + 2048)
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("# TYPE "), let name = line.dropFirst(7).split(separator: " ").first, let h = help[String(name)] {
                out += "# HELP \(name) \(h)\n"
            }
            out += line
            out += "\n"
        }
        // split then join adds one newline at the end when the text already ended with one.
        if text.hasSuffix("\n"), out.hasSuffix("\n\n") { out.removeLast() }
        return out
    }
}
