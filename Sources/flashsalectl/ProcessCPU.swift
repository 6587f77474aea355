import Control
import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

/// Who used the machine during a bench phase: CPU seconds of flashd (the peer of its socket,
/// SO_PEERCRED), of its redis-server (INFO's process_id, when this host runs it) and of this
/// client itself (getrusage). On two shared cores a rate partly measures the client, so the
/// report says how much of the machine each process took.
struct ProcessCPU {
    let flashdPID: pid_t?
    let redisPID: pid_t?

    struct Sample {
        var flashd: Double?
        var redis: Double?
        var client: Double
        var flashdThreads: [String: Double]?
    }

    /// Seconds each used between two samples (nil when its pid is unknown or gone), and
    /// flashd's by the kind of thread (`threadGroup`).
    struct Usage: Codable {
        var flashd: Double?
        var redis: Double?
        var client: Double
        var flashdThreads: [String: Double]?

        enum CodingKeys: String, CodingKey {
            case flashd, redis, client
            case flashdThreads = "flashd_threads"
        }
    }

    init(socketPath: String, redis endpoint: String?) {
        flashdPID = Self.peerPID(socketPath)
        redisPID = endpoint.flatMap(Self.redisPID)
    }

    func sample() -> Sample {
        Sample(flashd: flashdPID.flatMap(Self.cpuSeconds), redis: redisPID.flatMap(Self.cpuSeconds), client: Self.selfSeconds(),
               flashdThreads: flashdPID.flatMap(Self.threadSeconds))
    }

    static func usage(from a: Sample, to b: Sample) -> Usage {
        func d(_ x: Double?, _ y: Double?) -> Double? { x.flatMap { x in y.map { BenchCommand.round($0 - x, 3) } } }
        // A thread that ended between the samples takes its seconds with it: a group is what
        // its live threads used, so the groups may add up to a little less than flashd.
        let threads = a.flashdThreads.flatMap { a in
            b.flashdThreads.map { b in
                b.reduce(into: [String: Double]()) { $0[$1.key] = max(0, BenchCommand.round($1.value - (a[$1.key] ?? 0), 3)) }
            }
        }
        return Usage(flashd: d(a.flashd, b.flashd), redis: d(a.redis, b.redis), client: BenchCommand.round(b.client - a.client, 3),
                     flashdThreads: threads)
    }

    /// The kind of one of flashd's threads, by its name (`/proc/PID/task/TID/comm`): NIO's
    /// event loops (HTTP), Swift's cooperative pool (the coordinator and the tasks around it;
    /// libdispatch names its threads after the root queue, cut to the kernel's 15 bytes), the
    /// journal's writer, the Redis connections (`NamedThread` in FlashStorage), or any other.
    static func threadGroup(_ name: String) -> String {
        if name.hasPrefix("NIO-ELT") { return "event_loops" }
        if name == "flashd-journal" { return "journal" }
        if name.hasPrefix("flashd-redis") { return "redis_io" }
        if name.contains("qos") { return "engine" }
        return "other"
    }

    /// Seconds each kind of flashd's threads has used, from /proc/PID/task.
    static func threadSeconds(_ pid: pid_t) -> [String: Double]? {
        guard let tids = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task") else { return nil }
        var groups: [String: Double] = [:]
        for tid in tids {
            guard let name = firstLine("/proc/\(pid)/task/\(tid)/comm"),
                  let seconds = cpuSeconds(statPath: "/proc/\(pid)/task/\(tid)/stat") else { continue }
            groups[threadGroup(name), default: 0] += seconds
        }
        return groups
    }

    /// utime + stime of a process, from /proc/PID/stat (fields 14 and 15, in clock ticks).
    static func cpuSeconds(_ pid: pid_t) -> Double? {
        cpuSeconds(statPath: "/proc/\(pid)/stat")
    }

    /// The same from any stat file: a process's or one of its threads'.
    static func cpuSeconds(statPath: String) -> Double? {
        guard let line = firstLine(statPath) else { return nil }
        // The command name (field 2) is in parentheses and may hold spaces: count after its ')'.
        guard let close = line.lastIndex(of: ")") else { return nil }
        let fields = line[line.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state), so field 14 is fields[11].
        guard fields.count > 12, let u = Double(fields[11]), let s = Double(fields[12]) else { return nil }
        return (u + s) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    static func selfSeconds() -> Double {
        var r = rusage()
        getrusage(RUSAGE_SELF.rawValue, &r)
        return Double(r.ru_utime.tv_sec + r.ru_stime.tv_sec) + Double(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6
    }

    static func firstLine(_ path: String) -> String? {
        guard let f = fopen(path, "r") else { return nil }
        defer { fclose(f) }
        var buf = [CChar](repeating: 0, count: 1024)
        guard fgets(&buf, Int32(buf.count), f) != nil else { return nil }
        return String(decoding: buf.prefix { $0 != 0 && $0 != 10 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The pid at the other end of a Unix socket: flashd's, however it was started.
    static func peerPID(_ path: String) -> pid_t? {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { return nil }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        let ok = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard ok == 0 else { return nil }
        // struct ucred { pid_t pid; uid_t uid; gid_t gid; }
        var cred: (Int32, UInt32, UInt32) = (0, 0, 0)
        var len = socklen_t(MemoryLayout.size(ofValue: cred))
        guard getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0, cred.0 > 0 else { return nil }
        return cred.0
    }

    /// redis-server's pid from INFO, when redis-cli reaches it and it runs on this host.
    static func redisPID(_ endpoint: String) -> pid_t? {
        guard let cli = LuaCeiling.which("redis-cli"), let target = LuaCeiling.target(endpoint) else { return nil }
        let r = LuaCeiling.run([cli] + target + ["INFO", "server"])
        guard r.status == 0, let line = r.output.split(whereSeparator: \.isNewline).first(where: { $0.hasPrefix("process_id:") }),
              let pid = pid_t(line.dropFirst("process_id:".count).filter { $0.isNumber }),
              let comm = Self.firstLine("/proc/\(pid)/comm"), comm.hasPrefix("redis") else {
            // Not on this host (or not readable here): no figure rather than another process's.
            return nil
        }
        return pid
    }
}

extension ProcessCPU {
    /// A phase's CPU per request in µs: each process, the three together (`all`), flashd's by
    /// kind of thread, and how many cores the three kept busy on average.
    ///
    /// Two phases that both keep the machine's cores busy run at rates in the inverse ratio
    /// of their `all`; so the no-op's `all` over a scenario's is the ratio of their rates
    /// that CPU cost alone explains (`cpu_bound_to_noop` in `bench --json`).
    struct PerRequest: Codable {
        var flashd: Double?
        var redis: Double?
        var client: Double
        var all: Double
        var flashdThreads: [String: Double]?
        var coresBusy: Double

        enum CodingKeys: String, CodingKey {
            case flashd, redis, client, all
            case flashdThreads = "flashd_threads", coresBusy = "cores_busy"
        }

        init?(_ usage: Usage?, requests: Int, seconds: Double) {
            guard let usage, requests > 0, seconds > 0 else { return nil }
            func per(_ s: Double) -> Double { BenchCommand.round(s / Double(requests) * 1e6, 1) }
            let total = (usage.flashd ?? 0) + (usage.redis ?? 0) + usage.client
            flashd = usage.flashd.map(per)
            redis = usage.redis.map(per)
            client = per(usage.client)
            all = per(total)
            flashdThreads = usage.flashdThreads?.mapValues(per)
            coresBusy = BenchCommand.round(total / seconds, 2)
        }

        /// "flashd 107 (event loops 23, …) + redis 28 + client 10 = 145".
        var text: String {
            let names = [("event_loops", "event loops"), ("engine", "engine"), ("journal", "journal"), ("redis_io", "redis I/O"),
                         ("other", "other")]
            let threads = flashdThreads.map { t in names.compactMap { key, name in t[key].map { "\(name) \(BenchCommand.fixed($0, 0))" } } }
            var parts: [String] = []
            if let flashd { parts.append("flashd \(BenchCommand.fixed(flashd, 0))" + (threads.map { " (\($0.joined(separator: ", ")))" } ?? "")) }
            if let redis { parts.append("redis \(BenchCommand.fixed(redis, 0))") }
            parts.append("client \(BenchCommand.fixed(client, 0))")
            return parts.joined(separator: " + ") + " = \(BenchCommand.fixed(all, 0))"
        }
    }
}
