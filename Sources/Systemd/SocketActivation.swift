import CSystemd

#if canImport(Glibc)
import Glibc
#endif

/// Sockets handed over by systemd (flashd.socket), as pgbouncer takes them.
public enum SocketActivation {
    /// Sockets systemd passed this process (without taking them or unsetting the environment).
    public static var listenFDCount: Int32 { max(sd_listen_fds(0), 0) }

    /// The listening Unix stream socket systemd passed (LISTEN_FDS/LISTEN_PID), or nil when we
    /// were started without one. The environment is unset so children don't inherit it.
    /// Throws when systemd passed something else, which would be a unit misconfiguration.
    public static func listeningUnixSocket() throws -> Int32? {
        let n = sd_listen_fds(1)
        if n < 0 { throw SystemdError(code: -n, "sd_listen_fds") }
        if n == 0 { return nil }
        let fd = SD_LISTEN_FDS_START
        guard sd_is_socket_unix(fd, SOCK_STREAM.rawValue.asInt32, 1, nil, 0) > 0 else {
            throw SystemdError(code: EINVAL, "file descriptor \(fd) from systemd is not a listening Unix stream socket")
        }
        // NIO listens with a backlog of 128 on an adopted socket; a flash sale's burst wants more.
        listen(fd, 4096)
        return fd
    }
}

public struct SystemdError: Error, CustomStringConvertible, Sendable {
    public let code: Int32
    public let message: String
    public init(code: Int32, _ message: String) {
        self.code = code
        self.message = message
    }
    public var description: String { "\(message): \(String(cString: strerror(code)))" }
}

extension UInt32 {
    var asInt32: Int32 { Int32(bitPattern: self) }
}
