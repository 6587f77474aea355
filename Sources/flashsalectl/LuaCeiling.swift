import Control
import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

/// The second ceiling of `bench`: flashd's purchase script alone, run by redis-benchmark
/// (EVALSHA) against the daemon's own Redis with as many purchases in flight.
///
/// flashd sends the purchases that queue on a Redis connection as one script call, so the
/// ceiling does too: `perCall` purchases a call, from `clients / perCall` connections. Its
/// figure is purchases per second.
///
/// The script runs on keys of its own (`flashd-bench:RUNID:*`, outside flashd's prefix), with a
/// random gid, user and request id per purchase, so every purchase does what a successful one
/// does in Redis: barrier check, the request's record checked, limit check, stock check,
/// decrement, barrier write, the record written. Those keys are deleted
/// afterwards; flashd's sales and its audit never see them.
struct LuaCeiling {
    let global: GlobalOptions
    let clients: Int
    let seconds: Double
    let runID: String

    /// Purchases in one script call.
    static let perCall = 8

    /// Purchases per second, or nil and the reason it was skipped.
    func measure() throws -> (rate: Double?, note: String?) {
        guard let bench = Self.which("redis-benchmark"), let cli = Self.which("redis-cli") else {
            return (nil, "redis-benchmark/redis-cli not on PATH (Debian: redis-tools)")
        }
        let script: API.StockScript = try global.perform { try $0.call("GET", "/v1/debug/stock-script") }
        guard let target = Self.target(script.redis) else { return (nil, "cannot reach redis at \(script.redis) from here") }
        let base = "flashd-bench:\(runID):"
        // The keys a purchase touches (LuaScripts.buy): sale, barriers, per-user counts,
        // deduction counts, fences, the node's lease, holds, the item's requests.
        let keys = [base + "sale", base + "bar", base + "usr", base + "cnt", base + "fence", base + "node", base + "holds", base + "req"]
        // What the script reads, as a real purchase finds it: round 1, a limit no random user
        // reaches, stock for ever, counting on (so the fence's comparison runs), a lease held.
        for setupCommand in [["HSET", keys[0], "round", "1", "limit", "1000000", "total", "1000000000000", "stock", "1000000000000"],
                             ["HSET", keys[3], "*", "0"], ["SET", keys[5], "bench"]] {
            let setup = Self.run([cli] + target + setupCommand)
            guard setup.status == 0 else { return (nil, "redis-cli failed: \(setup.output.prefix(200))") }
        }
        // UNLINK: the barrier hash may hold millions of fields; freeing it must not block Redis.
        // Then wait for Redis' background thread to have freed them: the scenario that follows
        // counts Redis' CPU, and the free would be in it (180 ms of CPU for 700,000 fields here).
        defer {
            _ = Self.run([cli] + target + ["UNLINK"] + keys)
            for _ in 0..<200 {
                let info = Self.run([cli] + target + ["INFO", "memory"]).output
                if info.contains("lazyfree_pending_objects:0") || !info.contains("lazyfree_pending_objects:") { break }
                usleepSeconds(0.05)
            }
        }
        // Round, node, lease token; then per purchase gid, user, the node's orders, deductions
        // seen, request id (redis-benchmark draws each __rand_int__ on its own).
        let command = ["EVALSHA", script.sha, String(keys.count)] + keys + ["1", "bench", "bench"]
            + Array(repeating: ["__rand_int__", "__rand_int__", "0", "0", "__rand_int__"], count: Self.perCall).flatMap { $0 }
        // redis-benchmark takes a request count, not a duration: calibrate on a short run first.
        let connections = max(1, clients / Self.perCall)
        guard let probe = rate(bench, target, command, connections: connections, requests: max(2_000, connections * 100)) else {
            return (nil, "redis-benchmark gave no figure")
        }
        let requests = min(5_000_000, max(5_000, Int(probe * seconds)))
        let calls = rate(bench, target, command, connections: connections, requests: requests) ?? probe
        return (calls * Double(Self.perCall), nil)
    }

    /// Script calls per second.
    private func rate(_ bench: String, _ target: [String], _ command: [String], connections: Int, requests: Int) -> Double? {
        let r = Self.run([bench] + target + ["-c", String(connections), "-n", String(requests), "-r", "1000000000", "--csv"] + command)
        // "test","rps",... then "EVALSHA ...","158730.16",...
        guard r.status == 0, let last = r.output.split(separator: "\n").last(where: { $0.hasPrefix("\"EVALSHA") }) else { return nil }
        let fields = last.split(separator: ",").map { String($0.filter { $0 != "\"" }) }
        return fields.count > 1 ? Double(fields[1]) : nil
    }

    /// redis-cli / redis-benchmark arguments for `unix:/path` or `host:port`.
    static func target(_ redis: String) -> [String]? {
        if redis.hasPrefix("unix:") { return ["-s", String(redis.dropFirst(5))] }
        guard let colon = redis.lastIndex(of: ":") else { return nil }
        var host = String(redis[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return ["-h", host, "-p", String(redis[redis.index(after: colon)...])]
    }

    static func which(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }.first { access($0, X_OK) == 0 }
    }

    /// Runs a program to completion; its stdout and stderr together.
    static func run(_ argv: [String]) -> (status: Int32, output: String) {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { return (-1, "pipe failed") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_adddup2(&actions, fds[1], 2)
        posix_spawn_file_actions_addclose(&actions, fds[0])
        var cargs = argv.map { strdup($0) } + [nil]
        defer { cargs.forEach { free($0) } }
        var pid = pid_t()
        let rc = posix_spawn(&pid, argv[0], &actions, nil, &cargs, environ)
        close(fds[1])
        guard rc == 0 else {
            close(fds[0])
            return (-1, "cannot start \(argv[0]): \(String(cString: strerror(rc)))")
        }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fds[0], $0.baseAddress, $0.count) }
            if n > 0 { output += chunk[0..<n]; continue }
            if n < 0 && errno == EINTR { continue }
            break
        }
        close(fds[0])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exited = (status & 0x7f) == 0
        return (exited ? (status >> 8) & 0xff : -1, String(decoding: output, as: UTF8.self))
    }
}

func usleepSeconds(_ s: Double) {
    usleep(UInt32(max(0, s) * 1_000_000))
}
