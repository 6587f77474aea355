import NIOCore
import NIOHTTP1
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// The socket listener: NIO's HTTP/1.1 pipeline in front of `HTTPHandler`.
struct HTTPServer {
    let group: MultiThreadedEventLoopGroup
    let router: Router
    let maxBodyBytes: Int
    /// Unix-socket peers are identified by SO_PEERCRED; nil for TCP (every peer is `.remote`).
    let access: AccessPolicy?
    let limits: Limits
    let requestTimeout: TimeAmount
    let idleTimeout: TimeAmount

    /// Binds `path` (replacing a stale socket file left by a killed daemon) with mode 0660.
    func bind(unixSocket path: String) async throws -> any Channel {
        let dir = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        if !dir.isEmpty { mkdir(dir, 0o755) }
        let channel = try await bootstrap().bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true).get()
        chmod(path, 0o660)
        return channel
    }

    /// Serves a listening socket that systemd bound and passed (flashd.socket). Its file and
    /// mode belong to systemd; clients that connect while flashd restarts wait in its backlog.
    func adopt(listeningSocket fd: Int32) async throws -> any Channel {
        try await bootstrap().withBoundSocket(fd).get()
    }

    func bind(host: String, port: Int) async throws -> any Channel {
        try await bootstrap().bind(host: host, port: port).get()
    }

    private func bootstrap() -> ServerBootstrap {
        let router = self.router
        let maxBody = self.maxBodyBytes
        let access = self.access
        let limits = self.limits
        let (requestTimeout, idleTimeout) = (self.requestTimeout, self.idleTimeout)
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
                    try sync.addHandler(ConnectionGuard(requestTimeout: requestTimeout, idleTimeout: idleTimeout))
                    try sync.configureHTTPServerPipeline(withErrorHandling: true)
                    try sync.addHandler(HTTPHandler(router: router, maxBodyBytes: maxBody, peer: peer, limits: limits))
                }
            }
            .childChannelOption(.allowRemoteHalfClosure, value: false)
    }

    /// The connecting process's credentials, asked of the kernel once per connection.
    private static func peer(of channel: any Channel, _ access: AccessPolicy?) -> EventLoopFuture<Peer> {
        guard let access, let provider = channel as? any SocketOptionProvider else {
            return channel.eventLoop.makeSucceededFuture(.remote)
        }
        let future: EventLoopFuture<PeerCredentials> = provider.unsafeGetSocketOption(
            level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_PEERCRED))
        return future.map { cred in access.peer(pid: cred.pid, uid: cred.uid, gid: cred.gid) }
    }
}

/// Linux's `struct ucred` (pid, uid, gid), which Swift's Glibc module doesn't import without
/// _GNU_SOURCE. Same layout: three 32-bit fields.
struct PeerCredentials: Sendable {
    var pid: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
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
