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
        return ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 4096)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(HTTPHandler(router: router, maxBodyBytes: maxBody))
                }
            }
            .childChannelOption(.allowRemoteHalfClosure, value: false)
    }
}
