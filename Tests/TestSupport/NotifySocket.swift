import Foundation
import Synchronization

/// Stands in for systemd's notification socket: an AF_UNIX datagram socket whose messages
/// (READY=1, STATUS=..., WATCHDOG=1, ...) are collected for the test to read.
public final class NotifySocket: Sendable {
    public let path: String
    private let fd: Int32
    private let store = Store()

    private final class Store: Sendable {
        let messages = Mutex<[String]>([])
    }

    public init(dir: String) throws {
        path = dir + "/notify.sock"
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        let sock = fd
        guard withUnixAddress(path, { bind(sock, $0, $1) }) == 0 else { throw TestFailure("bind \(path) failed") }
        let store = self.store
        Thread.detachNewThread {
            var buf = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = buf.withUnsafeMutableBytes { recv(sock, $0.baseAddress, $0.count, 0) }
                if n <= 0 { return }
                let text = String(decoding: buf[..<n], as: UTF8.self)
                store.messages.withLock { $0.append(text) }
            }
        }
    }

    deinit { shutdown(fd, Int32(SHUT_RDWR)); close(fd) }

    public var all: [String] { store.messages.withLock { $0 } }

    /// Index of the first message at or after `from` that contains every line in `lines`.
    public func waitFor(_ lines: [String], from: Int = 0, timeout: Double = 10) throws -> Int {
        var found: Int?
        try Wait.until(timeout: timeout, "notify message with \(lines) (got \(all))") {
            let msgs = all
            guard from < msgs.count else { return false }
            found = (from..<msgs.count).first { i in
                let msgLines = msgs[i].split(separator: "\n").map(String.init)
                return lines.allSatisfy { l in msgLines.contains { $0 == l || (l.hasSuffix("*") && $0.hasPrefix(l.dropLast())) } }
            }
            return found != nil
        }
        return found!
    }
}
