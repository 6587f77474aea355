import Control
import Foundation
import TestSupport

/// One round: a fresh sale, concurrent buyers (some sending the same request twice, all retrying
/// errors with the same request id, as a web tier does), one fault while they buy, then the
/// invariants, read from the SQLite file and Redis directly.
struct TortureRound {
    enum Fault: CaseIterable {
        /// SIGKILL from outside at a random moment, then restart.
        case killDaemon
        /// A buyer asks flashd to kill itself at a fault-injection point (exit mode), then restart.
        case crashPoint
        /// A buyer's purchase is abandoned at a fault-injection point; the timeout check finishes it.
        case abandon
        /// Redis killed (SIGKILL) under load: restarted (appendfsync always keeps what it
        /// acknowledged), or with `--failover` the primary, replaced by a replica.
        case killRedis
        /// `--power-cut` only: flashd and Redis killed at once, the journal rolled back to its
        /// last syncs (the power-cut VFS), both started again.
        case powerCut
        /// `--holds` only: the shop's confirm or cancel of an order asks its node to kill itself
        /// after the intent or after Redis decided (exit mode), then restart.
        case holdCrash

        /// The faults a round draws from when not cutting power.
        static let processFaults: [Fault] = [.killDaemon, .crashPoint, .abandon, .killRedis]
    }

    let number: Int
    let fault: Fault
    let stock: Int
    let limit: Int
    let users: Int
    let faultAfterMs: Int
    let point: String
    let checkDelay: Double
    /// The node the fault hits (kill, crash point, abandoned purchase).
    let victim: Int
    /// `--holds`: the sale holds each order this long; the shop confirms some orders, cancels
    /// some, and leaves the rest to run out, from any node, while the fault hits.
    let holdSeconds: Int?

    init(number: Int, rng: inout SplitMix64, checkDelay: Double, nodes: Int = 1, powerCut: Bool = false, holds: Bool = false) {
        self.number = number
        let faults = Fault.processFaults + (holds ? [.holdCrash, .holdCrash] : [])
        let draw = faults[Int(rng.next() % UInt64(faults.count))]
        fault = powerCut ? .powerCut : draw
        stock = 5 + Int(rng.next() % 26)
        limit = 1 + Int(rng.next() % 2)
        users = stock + Int(rng.next() % UInt64(stock * 2))
        faultAfterMs = Int(rng.next() % 150)
        point = ["after-journal", "after-stock", "before-order"][Int(rng.next() % 3)]
        self.checkDelay = checkDelay
        victim = Int(rng.next() % UInt64(max(nodes, 1)))
        holdSeconds = holds ? 1 + Int(rng.next() % 2) : nil
    }

    var item: String { "t\(number)" }

    /// An operator's repair after Redis came back behind the journal, until the item sells
    /// again; returns the deductions Redis had forgotten (restored by the repair) and whether
    /// the item was fenced for it, with any units the repair found sold twice.
    func repairUntilSelling(_ flashd: FlashdProcess) throws -> (restored: Int, fenced: Bool, oversold: Int) {
        var restored = 0
        var fenced = false
        var oversold = 0
        try Wait.until(timeout: 20, "\(item) repaired and selling") {
            if (try flashd.request("GET", "/v1/sales/\(item)").body["redis_behind"]) != nil { fenced = true }
            let out = try flashd.ctl("--json", "sale", "repair", item, "--apply")
            if let reports = try? JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [[String: Any]] {
                restored += reports.compactMap { $0["missing"] as? Int }.reduce(0, +)
                oversold += reports.compactMap { $0["oversold"] as? Int }.reduce(0, +)
            }
            return (try flashd.request("GET", "/v1/sales/\(item)").body["redis_behind"]) == nil
        }
        return (restored, fenced, oversold)
    }

    /// Runs the round; returns the violations found (empty when every invariant held) and
    /// whether it killed something. Each user buys through one node (u mod nodes), as a web
    /// tier with sticky sessions would: request ids are idempotent per node.
    func run(setup: TortureSetup) throws -> (violations: [String], kills: Int, acknowledged: Int, restored: Int) {
        let nodes = setup.nodes
        try nodes[0].createSale(item, stock: stock, limit: limit, holdSeconds: holdSeconds)
        // Redis losing writes at the cut loses all of this round's buying before it: the last
        // 0-150 ms of writes, as appendfsync everysec may lose up to a second of them.
        if fault == .powerCut && setup.redisLosesWrites { try setup.redisDurablePoint() }
        let recorder = TortureRecorder()
        let group = DispatchGroup()
        let item = self.item
        // Each user tries limit + 1 purchases, so the limit is always tested; every third user
        // sends its first purchase twice at once, with several nodes to two of them (a load
        // balancer's retry): one order between them.
        for u in 0..<users {
            for p in 0...limit {
                let copies = (u % 3 == 0 && p == 0) ? 2 : 1
                for copy in 0..<copies {
                    let socket = nodes[(u + copy) % nodes.count].socketPath
                    group.enter()
                    Thread.detachNewThread {
                        defer { group.leave() }
                        let answer = Buyer.buyUntilAnswered(socket: socket, item: item, user: "u\(u)", requestID: "r\(p)")
                        recorder.record(answer)
                        if holdSeconds != nil, answer.status == 201, let id = answer.orderID {
                            decide(id, u: u, p: p, nodes: nodes, recorder: recorder)
                        }
                    }
                }
            }
        }

        let flashd = nodes[victim]
        crashPostgresMidRound(setup)
        var kills = 0
        var repair = (restored: 0, fenced: false, oversold: 0)
        usleep(UInt32(faultAfterMs * 1000))
        switch fault {
        case .killDaemon:
            flashd.kill9()
            kills += 1
            try flashd.start()
        case .crashPoint:
            let answer = try? flashd.client().send("POST", "/v1/purchases", body: Array(
                #"{"item":"\#(item)","user":"crasher","request_id":"c","crash_after":"\#(point)","crash_mode":"exit"}"#.utf8))
            // An answer means the purchase never reached its fault point (sold out before the
            // stock step could deduct): nothing crashed. No answer: flashd killed itself.
            if answer == nil {
                _ = try flashd.waitForExit(timeout: 10)
                kills += 1
                try flashd.start()
            }
        case .abandon:
            _ = try? flashd.client().send("POST", "/v1/purchases", body: Array(
                #"{"item":"\#(item)","user":"crasher","request_id":"c","crash_after":"\#(point)"}"#.utf8))
        case .killRedis:
            try setup.killRedis()
            kills += 1
        case .holdCrash:
            kills += try crashAHold(recorder: recorder, nodes: nodes)
        case .powerCut:
            // With Redis losing writes, the journal now holds orders Redis forgot: the item must
            // be fenced (G9), and is repaired.
            try setup.cutPower(flashd)
            kills += 1
            if setup.redisLosesWrites { repair = try repairUntilSelling(flashd) }
        }

        guard group.wait(timeout: .now() + 60) == .success else { return (["buyers did not finish within 60 s"], kills, 0, 0) }
        let quiet = Date()
        var violations: [String] = []
        // Every prepared transaction resolves within the check delay + 2 s of the daemon being up
        // and the load being over.
        let deadline = quiet.addingTimeInterval(checkDelay + 2)
        func prepared() -> Int? {
            var sum = 0
            for node in nodes {
                guard let n = (try? node.sql("SELECT COUNT(*) FROM txns WHERE state = 'prepared'")).flatMap({ Int($0) }) else { return nil }
                sum += n
            }
            return sum
        }
        while Date() < deadline, prepared() != 0 { usleep(50_000) }
        let left = prepared()
        if left != 0 { violations.append("\(left.map(String.init) ?? "?") transactions still prepared \(checkDelay + 2) s after the load ended") }
        if let holdSeconds {
            // Every hold is decided by its expiry at the latest (plus the check's second, and a
            // second for a node to hear of another node's verdict).
            let holdDeadline = Date().addingTimeInterval(Double(holdSeconds) + checkDelay + 3)
            while Date() < holdDeadline, undecided(nodes) != 0 { usleep(50_000) }
            if let n = undecided(nodes), n != 0 { violations.append("\(n) holds undecided \(holdSeconds) s after they ran out") }
        }
        // Read once the cluster is steady: a second failover may follow the first, and only the
        // primary every sentinel agrees on holds the truth.
        let redis = try setup.steadyPrimary()
        violations += try Invariants(round: self, nodes: nodes, redis: redis, answers: recorder.all,
                                     decisions: recorder.decisions).check()
        // G9: Redis forgot deductions the journal holds, so the item must have been stopped,
        // and not one unit sold twice meanwhile.
        if repair.restored > 0 && !repair.fenced { violations.append("Redis forgot \(repair.restored) deductions and the item was not fenced") }
        if repair.oversold > 0 { violations.append("\(repair.oversold) units sold twice while Redis was behind") }
        violations += deliveryViolations(setup)
        return (violations, kills, recorder.all.filter { $0.status == 201 }.count, repair.restored)
    }
}
