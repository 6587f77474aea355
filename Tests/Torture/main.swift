import Foundation
import TestSupport

// flashd-torture: many rounds of purchases under randomized faults (kill -9 of flashd at random
// moments and at every fault-injection point, abandoned purchases, Redis killed under load),
// with the invariants checked after each round from the journal file and Redis directly.
//
//   flashd-torture [--rounds N] [--seed S] [--check-delay SECONDS] [--nodes N] [--failover] [--holds] [--delivery]
//   flashd-torture --power-cut [--rounds N] [--sqlite-sync full|normal [--expect-loss]]
//
// --nodes N: N flashd nodes share the Redis, buyers are spread over them, and the fault hits a
// random one; the invariants are checked over all their journals together. --failover: Redis
// is a primary with two replicas behind three sentinels, flashd waits for one replica (WAIT;
// --wait-replicas 0 turns that off, to see what it buys), and the Redis fault kills the
// primary, so the sentinels fail over mid-round.
//
// --holds: every sale holds its orders 1-2 s; the shop confirms four in ten acknowledged orders
// and cancels three, through any node, the rest run out, while the faults hit (and a fault that
// kills a node in the middle of a confirm or cancel). The invariants then count released units
// as returned, once, and every acknowledged confirm or cancel must stand.
//
// --delivery: every node delivers its orders into one PostgreSQL (crashed mid-round in every
// other round); after each round, PostgreSQL must hold every journal's orders once, each in its
// journal's state, and nothing else.
//
// --power-cut: every round's fault is a power cut: the journal runs on the power-cut VFS, and
// flashd and Redis (appendfsync always) are killed at once, the journal rolled back to its last
// syncs, both restarted. --sqlite-sync normal --expect-loss is the self-check: the same cuts
// must then lose acknowledged orders (exit 0 only if they do), or the rounds can't fail.
// --redis-loses-writes: Redis keeps only a snapshot taken shortly before each cut (as
// appendfsync everysec may lose its last second): the fence must stop the item (G9), a repair
// brings it back, and no round may oversell.
//
// Prints one line per round and a summary "N rounds, N kills, 0 violations"; exits 1 on any
// violation, naming the seed that replays the run. flashd and flashsalectl are taken from
// FLASHD_BIN_DIR, else from beside this binary.

/// One line per round as it happens, also when stdout is a file or a pipe (fflush(nil) flushes
/// every stream without naming the C global `stdout`, which Swift 6 won't touch).
func say(_ line: String) {
    print(line)
    fflush(nil)
}

var rounds = 200
var seed = UInt64(Date().timeIntervalSince1970 * 1000)
var checkDelay = 1.0
var nodeCount = 1
var failover = false
var waitReplicas = 1
var powerCut = false
var sqliteSync = "full"
var expectLoss = false
var redisLosesWrites = false
var holds = false
var delivery = false
var args = CommandLine.arguments.dropFirst().makeIterator()
while let arg = args.next() {
    switch arg {
    case "--rounds": rounds = Int(args.next() ?? "") ?? rounds
    case "--seed": seed = UInt64(args.next() ?? "") ?? seed
    case "--check-delay": checkDelay = Double(args.next() ?? "") ?? checkDelay
    case "--nodes": nodeCount = Int(args.next() ?? "").map { min(max($0, 1), 16) } ?? nodeCount
    case "--failover": failover = true
    case "--wait-replicas": waitReplicas = Int(args.next() ?? "") ?? waitReplicas
    case "--power-cut": powerCut = true
    case "--sqlite-sync": sqliteSync = args.next() ?? sqliteSync
    case "--expect-loss": expectLoss = true
    case "--redis-loses-writes": redisLosesWrites = true
    case "--holds": holds = true
    case "--delivery": delivery = true
    default:
        say("usage: flashd-torture [--rounds N] [--seed S] [--check-delay SECONDS] [--nodes N] [--failover [--wait-replicas N]] [--holds] [--delivery]")
        say("       flashd-torture --power-cut [--rounds N] [--seed S] [--sqlite-sync full|normal [--expect-loss]] [--redis-loses-writes]")
        exit(64)
    }
}
if redisLosesWrites && !powerCut {
    say("flashd-torture: --redis-loses-writes goes with --power-cut")
    exit(64)
}
if powerCut && (nodeCount > 1 || failover) {
    say("flashd-torture: --power-cut runs one node on one Redis")
    exit(64)
}

/// The checker must be able to fail: sell one unit, then take one more unit in Redis behind
/// flashd's back, and expect the invariants to report it.
func selfCheck(_ setup: TortureSetup) throws {
    var probeRNG = SplitMix64(seed: 0)
    let probe = TortureRound(number: 0, rng: &probeRNG, checkDelay: 1)
    let flashd = setup.nodes[0]
    try flashd.createSale(probe.item, stock: probe.stock, limit: probe.limit)
    let answer = Buyer.buyUntilAnswered(socket: flashd.socketPath, item: probe.item, user: "probe", requestID: "p")
    let redis = try setup.primary()
    try redis.cli("HINCRBY", "e2e:sale:\(probe.item)", "stock", "-1")
    let found = try Invariants(round: probe, nodes: setup.nodes, redis: redis, answers: [answer]).check()
    try redis.cli("HINCRBY", "e2e:sale:\(probe.item)", "stock", "1")
    guard found.contains(where: { $0.hasPrefix("conservation") }) else {
        throw TestFailure("self-check: a unit taken behind flashd's back went unnoticed (\(found))")
    }
    // And the delivery check: the probe's order, delivered, then changed in PostgreSQL behind
    // flashd's back, must be reported.
    if let pg = setup.postgres, let id = answer.orderID {
        guard probe.deliveryViolations(setup).isEmpty else { throw TestFailure("self-check: the probe's delivery failed") }
        try pg.psql("UPDATE flashd_orders SET state = 'released' WHERE order_id = '\(id)'")
        let wrong = probe.deliveryViolations(setup)
        try pg.psql("UPDATE flashd_orders SET state = 'final' WHERE order_id = '\(id)'")
        guard wrong.contains(where: { $0.contains("another state") }) else {
            throw TestFailure("self-check: an order changed in PostgreSQL went unnoticed (\(wrong))")
        }
    }
}

let shape = "\(nodeCount) node\(nodeCount == 1 ? "" : "s"), " + (failover ? "Redis primary + 2 replicas behind 3 sentinels, WAIT for \(waitReplicas)" : "one Redis")
    + (powerCut ? ", power cuts, sqlite-sync \(sqliteSync)" : "") + (redisLosesWrites ? ", Redis losing its last writes" : "")
    + (holds ? ", checkout holds" : "") + (delivery ? ", delivery to one PostgreSQL, crashed every other round" : "")
say("flashd-torture: \(rounds) rounds, \(shape), seed \(seed), flashd from \(FlashdProcess.binDir)")
var rng = SplitMix64(seed: seed)
var kills = 0
var violations = 0
var acknowledged = 0
var lost = 0
var restored = 0
let started = Date()
do {
    let setup = try TortureSetup(nodes: nodeCount, failover: failover, waitReplicas: waitReplicas, checkDelay: checkDelay,
                                 powerCut: powerCut, sqliteSync: sqliteSync, redisLosesWrites: redisLosesWrites, delivery: delivery)
    try selfCheck(setup)
    for n in 1...max(rounds, 1) {
        let round = TortureRound(number: n, rng: &rng, checkDelay: checkDelay, nodes: nodeCount, powerCut: powerCut, holds: holds)
        let result = try round.run(setup: setup)
        kills += result.kills
        violations += result.violations.count
        acknowledged += result.acknowledged
        lost += result.violations.filter { $0.hasPrefix("acknowledged order lost") }.count
        restored += result.restored
        let on = nodeCount > 1 && round.fault != .killRedis ? " on n\(round.victim + 1)" : ""
        let forgot = result.restored > 0 ? ", Redis forgot \(result.restored) deductions: fenced, repaired" : ""
        let held = round.holdSeconds.map { ", hold \($0) s" } ?? ""
        let summary = "round \(n)/\(rounds): \(round.fault)\(on), stock \(round.stock), limit \(round.limit), \(round.users) users\(held)\(forgot)"
        if result.violations.isEmpty {
            say("\(summary): ok")
        } else {
            say("\(summary): \(result.violations.count) VIOLATIONS")
            for v in result.violations { print("  - \(v)") }
        }
    }
} catch {
    say("flashd-torture: harness failed: \(error) (seed \(seed))")
    exit(2)
}
say("took \(Int(Date().timeIntervalSince(started))) s")
if powerCut {
    say("\(kills) power cuts, \(acknowledged) acknowledged orders checked, \(lost) lost, \(violations) violations"
        + (redisLosesWrites ? "; Redis forgot \(restored) deductions the journal held, each time fenced and repaired" : ""))
    if redisLosesWrites && restored == 0 && violations == 0 {
        say("self-check FAILED: Redis never lost a deduction the journal held: the rounds tested nothing")
        exit(1)
    }
    if expectLoss {
        guard lost > 0 else {
            say("self-check FAILED: with sqlite-sync \(sqliteSync) the power cuts lost no acknowledged order: the rounds can't fail")
            exit(1)
        }
        say("self-check: with sqlite-sync \(sqliteSync) the power cuts lost \(lost) acknowledged orders, as they must")
        exit(0)
    }
} else {
    say("\(rounds) rounds, \(kills) kills, \(violations) violations")
}
if violations > 0 {
    let flags = (nodeCount > 1 ? " --nodes \(nodeCount)" : "") + (failover ? " --failover --wait-replicas \(waitReplicas)" : "")
        + (powerCut ? " --power-cut --sqlite-sync \(sqliteSync)" : "") + (redisLosesWrites ? " --redis-loses-writes" : "")
        + (holds ? " --holds" : "") + (delivery ? " --delivery" : "")
    say("replay with: flashd-torture --rounds \(rounds) --seed \(seed)\(flags)")
    exit(1)
}
