import TestSupport

/// The promises of flashd, checked after a round from three independent sources: the harness's
/// own record of what buyers were told, the SQLite journal files of every node, and Redis
/// itself (the primary, behind Sentinel).
struct Invariants {
    let round: TortureRound
    let nodes: [FlashdProcess]
    let redis: RedisServer
    let answers: [TortureRecorder.Answer]
    var decisions: [Buyer.Decision] = []

    func check() throws -> [String] {
        var violations: [String] = []
        let item = round.item
        // order id, user, gid, hold ('' for a final order), request id.
        let all = try nodes.flatMap { node in
            try node.sql("SELECT order_id || '|' || user || '|' || gid || '|' || IFNULL(hold, '') || '|' || request_id FROM txns "
                          + "WHERE state = 'succeeded' AND item = '\(item)'")
                .split(separator: "\n").map { $0.split(separator: "|", omittingEmptySubsequences: false).map(String.init) }
        }
        // A released order gave its unit back: the orders that keep a unit are the rest.
        let rows = all.filter { $0[3] != "released" }
        let released = all.count - rows.count
        let orderIDs = Set(all.map { $0[0] })
        let gids = all.map { $0[2] }

        // G1: no oversell.
        if rows.count > round.stock { violations.append("oversold: \(rows.count) orders keep a unit for stock \(round.stock)") }

        // G2 (and G7): stock taken in Redis == orders that keep their unit, every deduction has
        // its barrier (d, or c once confirmed), every released order its x: a unit returned
        // twice or not at all shows here.
        let sale = try redis.cli("HMGET", "e2e:sale:\(item)", "total", "stock").split(separator: "\n").compactMap { Int($0) }
        guard sale.count == 2 else { return violations + ["the sale \(item) is gone from Redis"] }
        let taken = sale[0] - sale[1]
        if taken != rows.count {
            violations.append("conservation: Redis took \(taken), SQLite has \(rows.count) orders keeping a unit (\(released) released)")
        }
        let barriers = try redis.cli("HGETALL", "e2e:bar:\(item):1").split(separator: "\n").map(String.init)
        let marks = stride(from: 1, to: barriers.count, by: 2).map { barriers[$0] }
        let deducted = marks.filter { $0 == "d" || $0 == "c" }.count
        if deducted != rows.count { violations.append("barriers: \(deducted) deducted, \(rows.count) orders keeping a unit") }
        if marks.filter({ $0 == "x" }).count != released {
            violations.append("barriers: \(marks.filter { $0 == "x" }.count) released, \(released) released orders")
        }
        violations += holdVerdicts(all)

        // G3: every purchase that got a success reply has its order.
        for a in answers where a.status == 201 {
            if let id = a.orderID, orderIDs.contains(id) { continue }
            violations.append("acknowledged order lost: \(a.user)/\(a.requestID) → \(a.orderID ?? "no id")")
        }

        // G5: one order per gid, identical requests share one order, the per-user limit holds in
        // SQLite and in Redis' own per-user counts.
        if Set(gids).count != gids.count { violations.append("a gid has two orders") }
        if Set(all.map { $0[0] }).count != all.count { violations.append("an order id is in two journals") }
        for (key, same) in Dictionary(grouping: all, by: { "\($0[1])/\($0[4])" }) where same.count > 1 {
            violations.append("\(key) has \(same.count) orders (one request on several nodes bought twice)")
        }
        for (key, same) in Dictionary(grouping: answers, by: { "\($0.user)/\($0.requestID)" }) {
            if Set(same.compactMap(\.orderID)).count > 1 { violations.append("\(key) got two different orders") }
            // The same request twice (on two nodes, too) is one purchase: never judged against
            // the user's limit as a second one. (A rollback or a sold-out answer to one copy can
            // be honest: it may have been settled before the other copy deducted.)
            if same.contains(where: { $0.status == 201 }), same.contains(where: { $0.error == "limit_reached" }) {
                violations.append("\(key): one copy ordered, another refused limit_reached")
            }
        }
        let perUser = Dictionary(grouping: rows, by: { $0[1] }).mapValues(\.count)
        for (user, n) in perUser where n > round.limit {
            violations.append("per-user limit: \(user) has \(n) orders, limit \(round.limit)")
        }
        let counts = try redis.cli("HGETALL", "e2e:usr:\(item):1").split(separator: "\n").map(String.init)
        for i in stride(from: 0, to: counts.count - 1, by: 2) where Int(counts[i + 1]) != perUser[counts[i], default: 0] {
            violations.append("Redis counts \(counts[i + 1]) purchases for \(counts[i]), SQLite \(perUser[counts[i], default: 0])")
        }

        // G6: every buyer got a definitive answer (buyers retry 503s and broken connections).
        let unanswered = answers.filter { $0.status != 201 && $0.status != 409 }
        if !unanswered.isEmpty { violations.append("\(unanswered.count) purchases never answered, e.g. \(unanswered[0])") }
        return violations
    }

    /// G7: every acknowledged confirm stays confirmed (no confirmed order released), every
    /// acknowledged cancel stays released, and a refusal names the verdict the journal holds.
    func holdVerdicts(_ all: [[String]]) -> [String] {
        let hold = Dictionary(all.map { ($0[0], $0[3]) }) { a, _ in a }
        var violations: [String] = []
        for d in decisions where d.status == 200 || d.status == 409 {
            let want: String?
            switch (d.verb, d.status, d.outcome) {
            case ("confirm", 200, _), ("cancel", 409, "confirmed"?): want = "confirmed"
            case ("cancel", 200, _), ("confirm", 409, "released"?): want = "released"
            default: want = nil
            }
            if let want, hold[d.orderID] != want {
                violations.append("\(d.verb) of \(d.orderID) answered \(d.status) \(d.outcome ?? ""), the journal says \(hold[d.orderID] ?? "no order")")
            }
            if d.status == 200, let state = d.outcome, state != want {
                violations.append("\(d.verb) of \(d.orderID) answered 200 with state \(state)")
            }
        }
        return violations
    }
}
