import Histogram
import Synchronization

#if canImport(Glibc)
import CPreciseWait
import Glibc
#endif

/// A closed-loop HTTP/1.1 load generator over flashd's Unix socket, for `bench`.
///
/// Each of `connections` keep-alive connections has one request outstanding at a time: it sends
/// the next as soon as the answer arrives (or, with a rate, when its slot comes). The
/// connections are shared among two threads, each waiting on its own epoll set, not one thread
/// each: on a 2-core machine the client competes with flashd and Redis for the same cores, and
/// 64 blocking threads would spend more of them switching than sending. Requests are pre-built
/// bytes; answers are parsed only for their status line, Content-Length and, for a 409, whether
/// the body says `sold_out`.
final class LoadGenerator: Sendable {
    struct Plan: Sendable {
        var socketPath: String
        var connections: Int
        /// Stop sending after this long…
        var seconds: Double
        /// …or after this many requests in all, whichever comes first.
        var maxRequests: Int?
        /// Requests per second over all connections (nil: as fast as answers come).
        var rate: Double?
        /// The bytes of request number `seq` on connection `conn` (seq counts from 0 per connection).
        var request: @Sendable (_ conn: Int, _ seq: Int) -> [UInt8]
        /// Called about once a second from the first thread, with the totals so far.
        var progress: (@Sendable (Tally, Double) -> Void)?
    }

    /// What came back. `soldOut` is a 409 whose error is `sold_out`; every other non-2xx is an error.
    struct Tally: Sendable {
        var success = 0
        var soldOut = 0
        var errors = 0
        var statuses: [Int: Int] = [:]
        var requests: Int { success + soldOut + errors }

        mutating func add(_ o: Tally) {
            success += o.success
            soldOut += o.soldOut
            errors += o.errors
            for (k, v) in o.statuses { statuses[k, default: 0] += v }
        }
    }

    struct Result: Sendable {
        var tally: Tally
        var seconds: Double
        /// Latency in microseconds, from the send of a request to the last byte of its answer.
        var latency: Histogram<UInt64>
        var connectErrors: Int
    }

    let plan: Plan
    private let sent = Atomic<Int>(0)
    private let live = Mutex<[Tally]>([])

    init(_ plan: Plan) { self.plan = plan }

    func run() -> Result {
        let threads = min(2, max(1, plan.connections))
        live.withLock { $0 = Array(repeating: Tally(), count: threads) }
        let results = Mutex<[(Tally, Histogram<UInt64>, Int)]>([])
        let start = monotonicSeconds()
        concurrently(threads) { t in
            let mine = stride(from: t, to: self.plan.connections, by: threads).map { $0 }
            let r = self.loop(thread: t, connections: mine, start: start)
            results.withLock { $0.append(r) }
        }
        let elapsed = monotonicSeconds() - start
        if plan.rate != nil && flashd_wait_coarse() != 0 {
            printError("note: this kernel has no epoll_pwait2 (or refuses it): paced sends were timed to the millisecond, "
                       + "so each paced latency includes up to 1 ms of the client's own timer")
        }
        var tally = Tally()
        var latency = Self.histogram()
        var connectErrors = 0
        for (t, h, c) in results.withLock({ $0 }) {
            tally.add(t)
            latency.add(h)
            connectErrors += c
        }
        return Result(tally: tally, seconds: elapsed, latency: latency, connectErrors: connectErrors)
    }

    static func histogram() -> Histogram<UInt64> {
        // 1 µs to 60 s at 3 significant digits.
        Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
    }

    // MARK: one thread

    private final class Conn {
        let index: Int
        var fd: Int32 = -1
        var seq = 0
        var sentAt = 0.0
        var dueAt = 0.0
        var inbox: [UInt8] = []
        var busy = false
        init(index: Int) { self.index = index }
    }

    private func loop(thread: Int, connections indices: [Int], start: Double) -> (Tally, Histogram<UInt64>, Int) {
        var tally = Tally()
        var latency = Self.histogram()
        var connectErrors = 0
        let deadline = start + plan.seconds
        let interval = plan.rate.map { Double(plan.connections) / $0 }
        var conns: [Conn] = []
        for i in indices {
            let c = Conn(index: i)
            c.fd = Self.dial(plan.socketPath)
            if c.fd < 0 {
                connectErrors += 1
                continue
            }
            // Spread the first sends of a paced run over one interval, so they don't arrive as one burst.
            if let interval { c.dueAt = start + interval * Double(i) / Double(max(1, plan.connections)) }
            conns.append(c)
        }
        defer { for c in conns where c.fd >= 0 { Glibc.close(c.fd) } }

        // One epoll set per thread, each connection tagged with its place in `conns`.
        let waiter = flashd_wait_create()
        defer { if waiter >= 0 { Glibc.close(waiter) } }
        for (i, c) in conns.enumerated() where waiter < 0 || flashd_wait_add(waiter, c.fd, Int32(i)) != 0 {
            connectErrors += 1
            Glibc.close(c.fd)
            c.fd = -1
        }
        var ready = [Int32](repeating: 0, count: 64)
        var buffer = [UInt8](repeating: 0, count: 65536)
        var lastProgress = start
        var sinceProgress = Tally()

        func trySend(_ c: Conn, now: Double) {
            guard !c.busy, c.fd >= 0, now < deadline else { return }
            if interval != nil && now < c.dueAt { return }
            if let max = plan.maxRequests, sent.add(1, ordering: .relaxed).newValue > max { return }
            let bytes = plan.request(c.index, c.seq)
            c.seq += 1
            if let interval {
                // Paced: latency counts from when the request was due, not from when a busy
                // connection got round to sending it (no coordinated omission, as in wrk2), and
                // no due request is skipped: a slow server shows as latency, not as a lower rate.
                c.sentAt = c.dueAt
                c.dueAt += interval
            } else {
                c.sentAt = now
            }
            c.busy = true
            if !Self.writeAll(c.fd, bytes) {
                tally.errors += 1
                Glibc.close(c.fd)
                c.fd = -1
                c.busy = false
            }
        }

        var now = monotonicSeconds()
        for c in conns { trySend(c, now: now) }
        while true {
            now = monotonicSeconds()
            let anyBusy = conns.contains { $0.busy }
            if now >= deadline && !anyBusy { break }
            if !anyBusy && plan.maxRequests.map({ sent.load(ordering: .relaxed) >= $0 }) == true { break }
            if !anyBusy && conns.allSatisfy({ $0.fd < 0 }) { break }
            // Wake for the next paced send, the progress line, or the deadline.
            var wait = min(deadline - now, 0.25)
            if interval != nil {
                for c in conns where !c.busy && c.fd >= 0 { wait = min(wait, c.dueAt - now) }
            }
            if anyBusy && now >= deadline {
                // Answers still owed after the deadline get `drainSeconds`; then they are errors.
                if now >= deadline + Self.drainSeconds {
                    for c in conns where c.busy {
                        tally.errors += 1
                        tally.statuses[0, default: 0] += 1
                        c.busy = false
                    }
                    break
                }
                wait = min(1, deadline + Self.drainSeconds - now)
            }
            // To the nanosecond (where the kernel has epoll_pwait2): poll's whole milliseconds
            // sent each paced request up to 1 ms late, and that lateness counted as the server's.
            let n = ready.withUnsafeMutableBufferPointer {
                flashd_wait_ns(waiter, $0.baseAddress, Int32($0.count), Int64(max(0, wait * 1e9).rounded(.up)))
            }
            now = monotonicSeconds()
            if n > 0 {
                for tag in ready[0..<Int(n)] {
                    let c = conns[Int(tag)]
                    guard c.fd >= 0 else { continue }
                    let got = buffer.withUnsafeMutableBytes { recv(c.fd, $0.baseAddress, $0.count, 0) }
                    if got <= 0 {
                        if got < 0 && (errno == EINTR || errno == EAGAIN) { continue }
                        if c.busy { tally.errors += 1; sinceProgress.errors += 1 }
                        Glibc.close(c.fd)
                        c.fd = -1
                        c.busy = false
                        continue
                    }
                    c.inbox.append(contentsOf: buffer[0..<got])
                    while let (status, soldOut, used) = Self.parse(c.inbox) {
                        c.inbox.removeFirst(used)
                        guard c.busy else { continue }
                        c.busy = false
                        _ = latency.record(UInt64(max(1, (now - c.sentAt) * 1_000_000)))
                        var one = Tally()
                        if (200..<300).contains(status) {
                            one.success = 1
                        } else if status == 409 && soldOut {
                            one.soldOut = 1
                        } else {
                            one.errors = 1
                            one.statuses[status] = 1
                        }
                        tally.add(one)
                        sinceProgress.add(one)
                        trySend(c, now: now)
                    }
                }
            }
            if interval != nil { for c in conns where !c.busy { trySend(c, now: now) } }
            if now - lastProgress >= 1 {
                live.withLock { $0[thread].add(sinceProgress) }
                sinceProgress = Tally()
                lastProgress = now
                if thread == 0, let progress = plan.progress {
                    let total = live.withLock { all in all.reduce(into: Tally()) { $0.add($1) } }
                    progress(total, now - start)
                }
            }
        }
        return (tally, latency, connectErrors)
    }

    /// How long answers still outstanding at the deadline are awaited before they count as errors.
    static let drainSeconds = 10.0

    // MARK: HTTP

    /// One complete response at the front of `bytes`: its status, whether a 409 is `sold_out`,
    /// and how many bytes it used. Nil until the whole body is there.
    static func parse(_ bytes: [UInt8]) -> (status: Int, soldOut: Bool, used: Int)? {
        guard bytes.count >= 16 else { return nil }
        var headEnd = -1
        var i = 0
        while i + 3 < bytes.count {
            if bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10 { headEnd = i; break }
            i += 1
        }
        guard headEnd > 0 else { return nil }
        // "HTTP/1.1 201 Created"
        let status = Int(bytes[9] &- 48) * 100 + Int(bytes[10] &- 48) * 10 + Int(bytes[11] &- 48)
        var length = 0
        let head = bytes[0..<headEnd]
        let key = Array("\r\ncontent-length:".utf8)
        var k = 0
        outer: while k + key.count < head.count {
            for j in 0..<key.count {
                var b = head[k + j]
                if b >= 65 && b <= 90 { b += 32 }
                if b != key[j] { k += 1; continue outer }
            }
            var p = k + key.count
            while p < head.count && head[p] == 32 { p += 1 }
            while p < head.count, head[p] >= 48, head[p] <= 57 {
                length = length * 10 + Int(head[p] - 48)
                p += 1
            }
            break
        }
        let total = headEnd + 4 + length
        guard bytes.count >= total else { return nil }
        var soldOut = false
        if status == 409 {
            // A refusal given at once: sold out, or the sale not open yet (the notopen scenario).
            let body = bytes[(headEnd + 4)..<total]
            soldOut = [Self.soldOutNeedle, Self.notOpenNeedle].contains { needle in
                body.count >= needle.count && (body.startIndex...(body.endIndex - needle.count)).contains {
                    body[$0..<($0 + needle.count)].elementsEqual(needle)
                }
            }
        }
        return (status, soldOut, total)
    }

    static let soldOutNeedle = Array("sold_out".utf8)
    static let notOpenNeedle = Array("not_open".utf8)

    static func request(method: String, path: String, body: [UInt8]?) -> [UInt8] {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: flashd\r\n"
        if let body { head += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n" }
        head += "\r\n"
        return Array(head.utf8) + (body ?? [])
    }

    // MARK: socket

    private static func dial(_ path: String) -> Int32 {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        guard pathBytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { return -1 }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in pathBytes.enumerated() { raw[i] = b }
            raw[pathBytes.count] = 0
        }
        let s = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard s >= 0 else { return -1 }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(s, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if rc != 0 {
            Glibc.close(s)
            return -1
        }
        return s
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += n
        }
        return true
    }
}

func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
