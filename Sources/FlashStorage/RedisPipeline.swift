import FlashCore
import RedisClient

/// What a Redis connection's thread does with a batch (`BatchWorker`): every job queued while
/// the last batch was out goes to Redis in one write and one round trip, and the purchases in
/// it that share a sale round go as one call of the purchase script.
///
/// A script call's own setup costs Redis the same whether it settles one purchase or many, and
/// so does reading the lease, the sale, the fence and the clock: merged, eight to a call, a
/// purchase costs Redis about a third less CPU (BENCHMARKS.md, "One script call for a batch's
/// purchases").
enum RedisPipeline {
    /// One command waiting for its batch. `confirm`: its reply counts only once `WAIT` says
    /// enough replicas have it.
    struct Job: Sendable {
        let call: Call
        let confirm: Bool
        let continuation: CheckedContinuation<RedisValue, any Error>

        var isPurchase: Bool {
            if case .purchase = call { true } else { false }
        }
    }

    /// What a job sends: a command of its own, or one purchase for the purchase script. The
    /// purchases in a batch with the same `call` (script, keys, round, node, lease) go out as
    /// one call with their `entry`s one after another, and each gets its own element of the
    /// reply (`LuaScripts.buy`).
    enum Call: Sendable {
        case command([String])
        case purchase(call: [String], entry: [String])
    }

    /// The most purchases one script call settles: Redis runs nothing else while a script
    /// runs, so a call is kept to a few hundred microseconds.
    static let purchasesPerCall = 64

    /// On a connection's thread: one batch, one round trip, every job answered.
    static func send(_ conn: RedisConnection, _ batch: [Job], wait: RedisStockStore.ReplicaWait?, lastServer: LastServer) {
        let (merged, owners) = merge(batch.map(\.call))
        var commands = merged
        let confirming = wait != nil && batch.contains(where: \.confirm)
        if confirming, let wait { commands.append(["WAIT", String(wait.replicas), String(wait.timeoutMs)]) }
        do {
            let results = try conn.pipeline(commands)
            // Before any reply goes out: whoever got one may ask where it came from.
            if let server = conn.connectedTo { lastServer.set(server) }
            var unconfirmed: EngineError?
            if confirming, let wait {
                // An error reply to WAIT (say, sent to a server that turned replica) confirms nothing.
                let acked = (try? results[owners.count].get())?.int ?? 0
                if acked < wait.replicas {
                    unconfirmed = EngineError(.replicasBehind, "only \(acked) of \(wait.replicas) replica(s) confirmed the write "
                                              + "within \(wait.timeoutMs) ms (WAIT): a failover now could lose it, so it does not count yet")
                }
            }
            for (jobs, result) in zip(owners, results) {
                for (job, reply) in zip(jobs.map { batch[$0] }, split(result, among: jobs.count, merged: batch[jobs[0]].isPurchase)) {
                    if job.confirm, let unconfirmed, case .success = reply {
                        job.continuation.resume(throwing: unconfirmed)
                    } else {
                        job.continuation.resume(with: reply.mapError { $0 as any Error })
                    }
                }
            }
        } catch {
            for job in batch { job.continuation.resume(throwing: error) }
        }
    }

    /// The batch's commands, with the purchases of one script call merged, and for each
    /// command the jobs (indices into `calls`) it answers, in the order its reply lists them.
    static func merge(_ calls: [Call]) -> (commands: [[String]], owners: [[Int]]) {
        var commands: [[String]] = []
        var owners: [[Int]] = []
        // The calls still open for more purchases: in a sale, nearly always one.
        var open: [(call: [String], command: Int)] = []
        for (i, call) in calls.enumerated() {
            switch call {
            case .command(let args):
                commands.append(args)
                owners.append([i])
            case .purchase(let head, let entry):
                if let o = open.lastIndex(where: { $0.call == head }), owners[open[o].command].count < purchasesPerCall {
                    commands[open[o].command] += entry
                    owners[open[o].command].append(i)
                } else {
                    open.removeAll { $0.call == head }
                    open.append((head, commands.count))
                    commands.append(head + entry)
                    owners.append([i])
                }
            }
        }
        return (commands, owners)
    }

    /// One command's result as the replies of the `count` jobs it answers: a merged purchase
    /// call's array, element by element; an error, to each of them.
    static func split(_ result: Result<RedisValue, RedisError>, among count: Int, merged: Bool) -> [Result<RedisValue, RedisError>] {
        guard merged else { return [result] }
        switch result {
        case .failure: return Array(repeating: result, count: count)
        case .success(let value):
            guard let replies = value.array, replies.count == count else {
                return Array(repeating: .failure(.protocolViolation("the purchase script answered \(count) purchases with \(value)")),
                             count: count)
            }
            return replies.map { .success($0) }
        }
    }
}
