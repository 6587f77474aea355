import Control
import NIOCore
import NIOHTTP1
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// The socket listener: NIO's HTTP/1.1 pipeline in front of `HTTPHandler`.
public struct HTTPServer {
    let group: MultiThreadedEventLoopGroup
    let router: Router
    let maxBodyBytes: Int
    /// Unix-socket peers are identified by SO_PEERCRED; nil for TCP (every peer is `.remote`).
    let access: AccessPolicy?
    let limits: Limits
    let requestTimeout: TimeAmount
    let idleTimeout: TimeAmount
    /// Each event loop's clock for its connections' deadlines.
    let sweeps: [ObjectIdentifier: ConnectionSweep]

    public init(group: MultiThreadedEventLoopGroup, router: Router, maxBodyBytes: Int, access: AccessPolicy?, limits: Limits,
                requestTimeout: TimeAmount, idleTimeout: TimeAmount) {
        self.group = group
        self.router = router
        self.maxBodyBytes = maxBodyBytes
        self.access = access
        self.limits = limits
        self.requestTimeout = requestTimeout
        self.idleTimeout = idleTimeout
        sweeps = ConnectionSweep.perLoop(group, shortestTimeout: min(requestTimeout, idleTimeout))
    }

    /// Binds `path` (replacing a stale socket file left by a killed daemon) with mode 0660.
    /// A socket file that a live process still answers on is not stale: refused, rather than
    /// unlinked from under the daemon serving it.
    /// `mode` and `group`: the socket file's permissions and group (nil: the process's group),
    /// so a web tier's user (nginx's www-data) can be let in without running flashd as it.
    public func bind(unixSocket path: String, mode: mode_t = 0o660, group: gid_t? = nil) async throws -> any Channel {
        let dir = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        if !dir.isEmpty { mkdir(dir, 0o755) }
        if Self.isServed(path) { throw HTTPServerError.socketServed(path: path) }
        let channel = try await bootstrap().bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true).get()
        if let group, chown(path, uid_t.max, group) != 0 {
            let reason = String(cString: strerror(errno))
            try? await channel.close()
            throw HTTPServerError.socketPermissions(path: path, reason: "cannot give it group \(group): \(reason)")
        }
        if chmod(path, mode) != 0 {
            let reason = String(cString: strerror(errno))
            try? await channel.close()
            throw HTTPServerError.socketPermissions(path: path, reason: "cannot set its mode: \(reason)")
        }
        return channel
    }

    /// True when something accepts connections on the Unix socket at `path` now.
    public static func isServed(_ path: String) -> Bool { ControlClient.isListening(path) }

    public static func servedMessage(_ path: String) -> String {
        "another process (a running flashd?) answers on \(path): stop it first, or give this one its own --socket"
    }

    /// Serves a listening socket that systemd bound and passed (flashd.socket). Its file and
    /// mode belong to systemd; clients that connect while flashd restarts wait in its backlog.
    public func adopt(listeningSocket fd: Int32) async throws -> any Channel {
        try await bootstrap().withBoundSocket(fd).get()
    }

    public func bind(host: String, port: Int) async throws -> any Channel {
        try await bootstrap().bind(host: host, port: port).get()
    }

    private func bootstrap() -> ServerBootstrap {
        let router = self.router
        let maxBody = self.maxBodyBytes
        let access = self.access
        let limits = self.limits
        let (requestTimeout, idleTimeout, sweeps) = (self.requestTimeout, self.idleTimeout, self.sweeps)
        return ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 4096)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                guard limits.openConnection() else {
                    return channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(TooManyConnections())
                    }
                }
                channel.closeFuture.whenComplete { _ in limits.closeConnection() }
                return Self.peer(of: channel, access).flatMapThrowing { peer in
                    let sync = channel.pipeline.syncOperations
                    // Every loop of the group has its sweep (made in init); a loop that had none would
                    // be a bug, caught here rather than as a connection that never times out.
                    guard let sweep = sweeps[ObjectIdentifier(channel.eventLoop)] else {
                        preconditionFailure("no connection sweep for event loop \(channel.eventLoop)")
                    }
                    try sync.addHandler(ConnectionGuard(requestTimeout: requestTimeout, idleTimeout: idleTimeout, sweep: sweep))
                    try sync.configureHTTPServerPipeline(withErrorHandling: true)
                    try sync.addHandler(HTTPHandler(router: router, maxBodyBytes: maxBody, peer: peer, limits: limits))
                }
            }
            // A client that shuts its writing side after a whole request still gets its answer
            // (HTTPHandler closes once it is written).
            .childChannelOption(.allowRemoteHalfClosure, value: true)
    }

    /// The connecting process's credentials, asked of the kernel once per connection.
    private static func peer(of channel: any Channel, _ access: AccessPolicy?) -> EventLoopFuture<Peer> {
        guard let access, let provider = channel as? any SocketOptionProvider else {
            return channel.eventLoop.makeSucceededFuture(.remote)
        }
        let future: EventLoopFuture<PeerCredentials> = provider.unsafeGetSocketOption(
            level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_PEERCRED))
        return future.flatMap { cred in
            // The peer's supplementary groups as the kernel recorded them at connect time: no
            // /proc needed (flashd.service hides other users' processes, ProtectProc=invisible).
            let groups: EventLoopFuture<PeerGroupList> = provider.unsafeGetSocketOption(
                level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(PeerGroupList.option))
            return groups.map { Optional($0) }.recover { _ in nil }.map { list in
                access.peer(pid: cred.pid, uid: cred.uid, gid: cred.gid, groups: list?.groups)
            }
        }
    }
}

/// Linux's `struct ucred` (pid, uid, gid), which Swift's Glibc module doesn't import without
/// _GNU_SOURCE. Same layout: three 32-bit fields.
struct PeerCredentials: Sendable {
    var pid: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
}

/// SO_PEERGROUPS' answer: the peer's supplementary groups, in a buffer of a fixed size that
/// NIO zero-fills first. The kernel doesn't say how many it wrote here, so zeros past them are
/// indistinguishable from the root group: `groups` drops them, and gid 0 counts only as the
/// primary group (SO_PEERCRED). A peer in more than 256 groups gets ERANGE: the check falls
/// back to /proc.
struct PeerGroupList: Sendable {
    /// SO_PEERGROUPS (Linux 4.13, asm-generic/socket.h); Glibc's headers don't always name it.
    static let option: Int32 = 59
    var gids = InlineArray<256, UInt32>(repeating: 0)

    var groups: [UInt32] {
        var out: [UInt32] = []
        for i in gids.indices where gids[i] != 0 { out.append(gids[i]) }
        return out
    }
}

/// Answers a connection beyond `max-connections` with a 503 and closes it, before any HTTP
/// parsing: the client learns why instead of seeing a reset.
final class TooManyConnections: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    static let response: String = {
        let body = #"{"error":"overloaded","message":"too many connections; retry shortly"}"#
        return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
            + "Connection: close\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body
    }()

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { reject(context) }
    }

    func channelActive(context: ChannelHandlerContext) { reject(context) }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

    private func reject(_ context: ChannelHandlerContext) {
        let channel = context.channel
        context.writeAndFlush(NIOAny(channel.allocator.buffer(string: Self.response))).whenComplete { _ in
            channel.close(promise: nil)
        }
    }
}
