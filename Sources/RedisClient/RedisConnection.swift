import CHiredis

#if canImport(Glibc)
import Glibc
#endif

/// One blocking hiredis connection. Not thread-safe and deliberately not Sendable: its owner
/// runs every call on one serial thread (see FlashStorage's `BatchWorker`).
///
/// A broken connection is dropped and re-dialled on the next call, so a Redis restart costs the
/// callers in flight one `.connection` error each, not a daemon restart.
///
/// Behind Sentinel, each dial asks the sentinels for the primary and checks with ROLE that the
/// server really is one (a demoted primary can still be reachable). While connected, the
/// sentinels are asked again at most once per `sentinelRecheck`, and a changed answer drops the
/// connection; so does a READONLY reply (a write that reached a replica). Either way the next
/// call dials whatever the sentinels name then.
public final class RedisConnection {
    public let target: RedisTarget
    /// The server this connection is dialled to, while it is.
    public private(set) var connectedTo: RedisEndpoint?
    private let connectTimeoutMs: Int
    private let commandTimeoutMs: Int
    private var context: UnsafeMutablePointer<redisContext>?
    private let locator: SentinelLocator?
    private let sentinelRecheck: Duration
    private var lastSentinelCheck = ContinuousClock.now
    private var sentinelsSilent = false
    private let credentials: RedisCredentials?
    /// A sentinel's connection: credentials it refuses are dropped rather than fatal (a
    /// sentinel may have no such user); a sentinel that needs them then answers NOAUTH.
    private let lenientAuth: Bool

    /// hiredis writes with write(2): on a connection whose Redis went away that raises SIGPIPE,
    /// which would kill the process instead of returning EPIPE. Ignored once, process-wide, as
    /// NIO does for its own sockets.
    private static let ignoreSIGPIPE: Void = { _ = signal(SIGPIPE, SIG_IGN) }()

    public convenience init(endpoint: RedisEndpoint, connectTimeoutMs: Int = 500, commandTimeoutMs: Int = 1000,
                            credentials: RedisCredentials? = nil) {
        self.init(target: .direct(endpoint), connectTimeoutMs: connectTimeoutMs, commandTimeoutMs: commandTimeoutMs,
                  credentials: credentials)
    }

    /// `credentials`: sent with AUTH on each new connection, to the sentinels as well. A server
    /// whose default user has no password accepts the connection anyway; a sentinel that
    /// refuses them is asked without them (it may have no such user, or no password).
    public init(target: RedisTarget, connectTimeoutMs: Int = 500, commandTimeoutMs: Int = 1000,
                sentinelRecheck: Duration = .seconds(1), credentials: RedisCredentials? = nil, lenientAuth: Bool = false) {
        _ = Self.ignoreSIGPIPE
        self.target = target
        self.credentials = credentials
        self.lenientAuth = lenientAuth
        self.connectTimeoutMs = connectTimeoutMs
        self.commandTimeoutMs = commandTimeoutMs
        self.sentinelRecheck = sentinelRecheck
        if case .sentinel(let sentinels, let master) = target {
            locator = SentinelLocator(sentinels: sentinels, master: master, timeoutMs: min(connectTimeoutMs, 250), credentials: credentials)
        } else {
            locator = nil
        }
    }

    deinit { close() }


    public func close() {
        if let ctx = context { redisFree(ctx) }
        context = nil
        connectedTo = nil
    }

    /// Dials now if not connected; throws `.connection` when Redis is unreachable (or, behind
    /// Sentinel, when no primary can be found).
    public func connect() throws {
        if context != nil { return }
        switch target {
        case .direct(let endpoint):
            try dial(endpoint)
        case .sentinel:
            guard let locator else { throw RedisError.connection("no sentinel locator") }
            let primary = try locator.primary()
            lastSentinelCheck = .now
            try dial(primary)
            let role: RedisValue
            do {
                role = try pipelineOnce([["ROLE"]])[0].get()
            } catch {
                // Whatever went wrong (an error reply such as NOPERM or BUSY included), an
                // unchecked server must not stay connected: the next call would skip the check.
                close()
                let cause = (error as? PipelineFailure)?.error ?? (error as? RedisError)
                let message = "ROLE on \(primary), named primary of \(locator.master): \(cause?.message ?? "\(error)")"
                throw cause?.kind == .authentication ? RedisError.authentication(message) : RedisError.connection(message)
            }
            guard role.array?.first?.string == "master" else {
                close()
                throw RedisError.connection("\(primary), named primary of \(locator.master) by the sentinels, is not one (yet): "
                                            + "role \(role.array?.first?.string ?? "?")")
            }
        }
    }

    /// Behind Sentinel: asks again who the primary is, when the last answer is older than
    /// `sentinelRecheck`, and drops the connection if it is another server now. Sentinels that
    /// can't be reached change nothing: the connected primary goes on serving. The lookup runs
    /// on this connection's thread before a batch, so while no sentinel answers it is tried
    /// ten times less often: sentinels that drop packets cost their connect timeouts to one
    /// batch every ten seconds, not every second.
    private func recheckPrimary() {
        guard let locator, let connectedTo else { return }
        let interval = sentinelsSilent ? sentinelRecheck * 10 : sentinelRecheck
        guard ContinuousClock.now - lastSentinelCheck >= interval else { return }
        lastSentinelCheck = .now
        do {
            let primary = try locator.primary()
            sentinelsSilent = false
            if primary != connectedTo { close() }
        } catch {
            sentinelsSilent = true
        }
    }

    private func dial(_ endpoint: RedisEndpoint) throws {
        let tv = Self.timeval(ms: connectTimeoutMs)
        let ctx: UnsafeMutablePointer<redisContext>?
        switch endpoint {
        case .unix(let path): ctx = redisConnectUnixWithTimeout(path, tv)
        case .tcp(let host, let port): ctx = redisConnectWithTimeout(host, Int32(port), tv)
        }
        guard let ctx else { throw RedisError.connection("cannot allocate redis context") }
        if ctx.pointee.err != 0 {
            let msg = Self.errorString(ctx)
            redisFree(ctx)
            throw RedisError.connection("connect \(endpoint): \(msg)")
        }
        // A command timeout turns a hung Redis into a prompt `.connection` error (and a 503),
        // instead of a purchase handler blocked for ever.
        _ = redisSetTimeout(ctx, Self.timeval(ms: commandTimeoutMs))
        context = ctx
        connectedTo = endpoint
        if let credentials { try authenticate(credentials, endpoint) }
    }

    /// AUTH right after connecting, before anything else is sent. Refused credentials close the
    /// connection and throw `.authentication`; a server that has no password for the default
    /// user says so, and is used without one.
    private func authenticate(_ credentials: RedisCredentials, _ endpoint: RedisEndpoint) throws {
        do {
            _ = try pipelineOnce([credentials.authCommand])[0].get()
        } catch let e as RedisError where e.kind == .reply || e.kind == .authentication {
            if credentials.user == nil && e.message.contains("without any password configured") { return }
            if lenientAuth { return }
            close()
            throw RedisError.authentication("\(endpoint) refused AUTH as \(credentials.user ?? "the default user"): \(e.message)")
        } catch let e as PipelineFailure {
            close()
            throw e.error
        }
    }

    /// Sends one command and waits for its reply.
    public func command(_ args: [String]) throws -> RedisValue {
        try pipeline([args])[0].get()
    }

    /// Sends every command before reading any reply: one round trip for the batch. Returns one
    /// result per command, in order; an error reply fails only its own slot, a broken
    /// connection throws for the whole batch.
    ///
    /// A kept connection whose Redis restarted fails its next write with EPIPE. Commands that
    /// could not be written were never executed, so that case alone is retried once on a fresh
    /// connection; a failure after the write (replies lost) is the caller's to resolve.
    public func pipeline(_ commands: [[String]]) throws -> [Result<RedisValue, RedisError>] {
        recheckPrimary()
        let reused = context != nil
        do {
            return try droppingDemoted(pipelineOnce(commands))
        } catch let e as PipelineFailure where e.unwritten && reused && e.error.message.contains("Broken pipe") {
            do {
                return try droppingDemoted(pipelineOnce(commands))
            } catch let again as PipelineFailure {
                throw again.error
            }
        } catch let e as PipelineFailure {
            throw e.error
        }
    }

    /// A READONLY reply means this server is a replica now (a failover demoted it): drop the
    /// connection so the next call dials the current primary. The replies are returned as they are.
    private func droppingDemoted(_ results: [Result<RedisValue, RedisError>]) -> [Result<RedisValue, RedisError>] {
        if results.contains(where: { if case .failure(let e) = $0 { e.isReadOnly } else { false } }) { close() }
        return results
    }

    private struct PipelineFailure: Error {
        let error: RedisError
        /// Nothing of the batch reached Redis.
        let unwritten: Bool
    }

    private func pipelineOnce(_ commands: [[String]]) throws -> [Result<RedisValue, RedisError>] {
        do {
            try connect()
        } catch let e as RedisError {
            throw PipelineFailure(error: e, unwritten: true)
        }
        guard let ctx = context else { throw PipelineFailure(error: .connection("not connected"), unwritten: true) }
        for args in commands {
            let rc = withArgv(args) { argc, argv, lens in redisAppendCommandArgv(ctx, argc, argv, lens) }
            if rc != REDIS_OK { throw PipelineFailure(error: dropAfterFailure(ctx), unwritten: true) }
        }
        // Flush everything first, so a write failure is told apart from a lost reply. Each
        // redisBufferWrite is one write(2): only a failure of the first means nothing left.
        var done: Int32 = 0
        var first = true
        while done == 0 {
            if redisBufferWrite(ctx, &done) != REDIS_OK {
                throw PipelineFailure(error: dropAfterFailure(ctx), unwritten: first)
            }
            first = false
        }
        var results: [Result<RedisValue, RedisError>] = []
        results.reserveCapacity(commands.count)
        for _ in commands {
            var reply: UnsafeMutableRawPointer?
            if redisGetReply(ctx, &reply) != REDIS_OK { throw PipelineFailure(error: dropAfterFailure(ctx), unwritten: false) }
            do {
                results.append(.success(try take(reply, ctx)))
            } catch let e as RedisError where e.kind == .reply || e.kind == .authentication {
                // An error reply is a whole reply: it fails its own slot, and the stream stays
                // in step for the replies after it.
                results.append(.failure(e))
            } catch let e as RedisError {
                // Anything else leaves the rest of the batch's replies unread: the connection
                // is dropped, or the next batch would read them as its own.
                close()
                throw PipelineFailure(error: e, unwritten: false)
            }
        }
        return results
    }

    private func take(_ raw: UnsafeMutableRawPointer?, _ ctx: UnsafeMutablePointer<redisContext>) throws -> RedisValue {
        guard let raw else { throw dropAfterFailure(ctx) }
        defer { freeReplyObject(raw) }
        return try Self.decode(raw.assumingMemoryBound(to: redisReply.self))
    }

    /// A NULL reply means the context is unusable (I/O error, EOF, timeout): drop it so the
    /// next call re-dials.
    private func dropAfterFailure(_ ctx: UnsafeMutablePointer<redisContext>) -> RedisError {
        let msg = Self.errorString(ctx)
        close()
        return RedisError.connection(msg.isEmpty ? "connection lost" : msg)
    }

    private static func decode(_ r: UnsafeMutablePointer<redisReply>) throws -> RedisValue {
        let reply = r.pointee
        switch reply.type {
        case REDIS_REPLY_INTEGER: return .integer(Int64(reply.integer))
        case REDIS_REPLY_NIL: return .null
        case REDIS_REPLY_STRING: return .string(string(reply))
        case REDIS_REPLY_STATUS: return .status(string(reply))
        case REDIS_REPLY_ERROR: throw RedisError.reply(string(reply))
        case REDIS_REPLY_ARRAY:
            var items: [RedisValue] = []
            items.reserveCapacity(Int(reply.elements))
            for i in 0..<Int(reply.elements) {
                guard let child = reply.element[i] else { items.append(.null); continue }
                // An error nested in an array (EXEC) is kept as a thrown error for the whole reply.
                items.append(try decode(child))
            }
            return .array(items)
        default: throw RedisError.protocolViolation("unknown reply type \(reply.type)")
        }
    }

    private static func string(_ reply: redisReply) -> String {
        guard let p = reply.str else { return "" }
        let buf = UnsafeRawBufferPointer(start: p, count: Int(reply.len))
        return String(decoding: buf, as: UTF8.self)
    }

    private static func errorString(_ ctx: UnsafeMutablePointer<redisContext>) -> String {
        withUnsafeBytes(of: ctx.pointee.errstr) { raw in
            let bytes = raw.prefix { $0 != 0 }
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    private static func timeval(ms: Int) -> Glibc.timeval {
        Glibc.timeval(tv_sec: ms / 1000, tv_usec: (ms % 1000) * 1000)
    }

    /// Lays the arguments out as C strings with explicit lengths (binary-safe) for the duration of `body`.
    private func withArgv<R>(_ args: [String], _ body: (Int32, UnsafeMutablePointer<UnsafePointer<CChar>?>, UnsafePointer<Int>) -> R) -> R {
        let utf8 = args.map { Array($0.utf8) }
        var pointers: [UnsafePointer<CChar>?] = []
        pointers.reserveCapacity(utf8.count)
        var lengths: [Int] = utf8.map { $0.count }
        var storage: [UnsafeMutablePointer<CChar>] = []
        for bytes in utf8 {
            let p = UnsafeMutablePointer<CChar>.allocate(capacity: max(bytes.count, 1))
            for (i, b) in bytes.enumerated() { p[i] = CChar(bitPattern: b) }
            storage.append(p)
            pointers.append(UnsafePointer(p))
        }
        defer { storage.forEach { $0.deallocate() } }
        return pointers.withUnsafeMutableBufferPointer { argv in
            lengths.withUnsafeMutableBufferPointer { lens in
                body(Int32(args.count), argv.baseAddress!, UnsafePointer(lens.baseAddress!))
            }
        }
    }
}
