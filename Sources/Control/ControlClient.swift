#if canImport(Glibc)
import Glibc
#endif
import FoundationEssentials

/// A blocking HTTP/1.1 client for flashd's Unix socket, keeping its connection alive across
/// requests. One client per thread; flashsalectl's concurrent commands make one each.
public final class ControlClient {
    public let socketPath: String
    public let timeoutSeconds: Int
    private var fd: Int32 = -1
    private var buffer: [UInt8] = []

    public init(socketPath: String, timeoutSeconds: Int = 30) {
        self.socketPath = socketPath
        self.timeoutSeconds = timeoutSeconds
    }

    deinit { close() }

    public func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
        buffer.removeAll()
    }

    /// Sends one request and reads its response. A kept-alive connection that the daemon closed
    /// meanwhile (a restart) is re-dialled once: always when the request could not be written
    /// (nothing reached flashd), and after a failed read only for GET, which is idempotent.
    /// `headers`: more request headers (`Idempotency-Key`), as name and value.
    public func send(_ method: String, _ path: String, body: [UInt8]? = nil, headers: [(String, String)] = []) throws -> HTTPResponse {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: flashd\r\nUser-Agent: flashsalectl/\(API.version)\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if let body {
            head += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n"
        } else if method != "GET" {
            head += "Content-Length: 0\r\n"
        }
        head += "\r\n"
        let bytes = Array(head.utf8) + (body ?? [])
        let reused = fd >= 0
        try connectIfNeeded()
        do {
            try writeAll(bytes)
        } catch let e as ControlError where reused && e.code == .io {
            close()
            try connectIfNeeded()
            try writeAll(bytes)
        }
        do {
            return try readResponse()
        } catch let e as ControlError where reused && e.code == .io && method == "GET" {
            close()
            try connectIfNeeded()
            try writeAll(bytes)
            return try readResponse()
        }
    }

    /// Sends a request and decodes a 2xx body as `T`; any other status throws `.api`.
    public func call<T: Decodable>(_ method: String, _ path: String, body: (some Encodable)? = Optional<String>.none,
                                   as type: T.Type = T.self) throws -> T {
        let payload = try body.map { try Array(JSONEncoder().encode($0)) }
        let response = try send(method, path, body: payload)
        return try Self.decode(response, as: type)
    }

    public static func decode<T: Decodable>(_ response: HTTPResponse, as type: T.Type = T.self) throws -> T {
        guard (200..<300).contains(response.status) else {
            if let err = try? JSONDecoder().decode(API.ErrorBody.self, from: Data(response.body)) {
                throw ControlError(.api(status: response.status, err), "\(err.error): \(err.message)")
            }
            throw ControlError(.badResponse, "flashd answered \(response.status) without an error body")
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(response.body))
        } catch {
            throw ControlError(.badResponse, "cannot decode flashd's answer: \(error)")
        }
    }

    // MARK: socket

    /// True when a process accepts connections on the Unix socket at `path` now (flashd uses
    /// it to refuse a second daemon on a live socket).
    public static func isListening(_ path: String) -> Bool {
        guard case .success(let fd) = connectUnix(path, timeoutSeconds: 1) else { return false }
        Glibc.close(fd)
        return true
    }

    /// A connected stream socket to `path`, or the errno of the step that failed
    /// (ENAMETOOLONG for a path sun_path can't hold).
    private static func connectUnix(_ path: String, timeoutSeconds: Int) -> Result<Int32, ConnectFailure> {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        guard pathBytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { return .failure(ConnectFailure(errno: ENAMETOOLONG)) }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in pathBytes.enumerated() { raw[i] = b }
            raw[pathBytes.count] = 0
        }
        let s = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard s >= 0 else { return .failure(ConnectFailure(errno: Glibc.errno)) }
        var tv = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(s, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else {
            let err = Glibc.errno
            Glibc.close(s)
            return .failure(ConnectFailure(errno: err))
        }
        return .success(s)
    }

    private struct ConnectFailure: Error {
        let errno: Int32
    }

    private func connectIfNeeded() throws {
        guard fd < 0 else { return }
        let s: Int32
        switch Self.connectUnix(socketPath, timeoutSeconds: timeoutSeconds) {
        case .success(let connected):
            s = connected
        case .failure(let failure):
            switch failure.errno {
            case ENAMETOOLONG:
                throw ControlError(.io, "socket path too long (max 107 bytes): \(socketPath)")
            case ENOENT, ECONNREFUSED:
                throw ControlError(.daemonNotRunning, "flashd is not running (nothing listens on \(socketPath))")
            case EACCES, EPERM:
                throw ControlError(.permissionDenied, "permission denied on \(socketPath) (are you in the flashd group?)")
            default:
                throw ControlError(.io, "cannot connect to \(socketPath): \(String(cString: strerror(failure.errno)))")
            }
        }
        fd = s
        buffer.removeAll(keepingCapacity: true)
    }

    private func writeAll(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { raw in
                Glibc.send(fd, raw.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            }
            if n < 0 {
                if Glibc.errno == EINTR { continue }
                let e = Self.errno()
                close()
                throw ControlError(.io, "write to \(socketPath): \(e)")
            }
            offset += n
        }
    }

    private func readResponse() throws -> HTTPResponse {
        let terminator: [UInt8] = [13, 10, 13, 10]
        while true {
            if let end = Self.find(terminator, in: buffer) {
                guard let head = HTTPResponse.parseHead(Array(buffer[..<end])) else {
                    close()
                    throw ControlError(.badResponse, "malformed HTTP response from flashd")
                }
                let bodyStart = end + 4
                while buffer.count < bodyStart + head.contentLength { try fill() }
                let body = Array(buffer[bodyStart..<(bodyStart + head.contentLength)])
                buffer.removeFirst(bodyStart + head.contentLength)
                let response = HTTPResponse(status: head.status, headers: head.headers, body: body)
                if response.header("connection")?.lowercased() == "close" { close() }
                return response
            }
            try fill()
        }
    }

    private func fill() throws {
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress!, $0.count, 0) }
            if n > 0 {
                buffer.append(contentsOf: chunk[..<n])
                return
            }
            if n < 0 && Glibc.errno == EINTR { continue }
            let reason = n == 0 ? "connection closed by flashd" : (Glibc.errno == EAGAIN ? "timed out after \(timeoutSeconds) s" : Self.errno())
            close()
            throw ControlError(.io, "reading from \(socketPath): \(reason)")
        }
    }

    private static func find(_ needle: [UInt8], in hay: [UInt8]) -> Int? {
        guard hay.count >= needle.count else { return nil }
        for i in 0...(hay.count - needle.count) where hay[i] == needle[0] {
            if hay[i..<(i + needle.count)].elementsEqual(needle) { return i }
        }
        return nil
    }

    private static func errno() -> String { String(cString: strerror(Glibc.errno)) }
}
