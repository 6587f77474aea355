#if canImport(Glibc)
import Glibc
#endif
import CSystemd

/// The sd_notify protocol. Every call is a no-op when NOTIFY_SOCKET is unset (sd_notify
/// returns 0 then), which means "not started by systemd", not an error.
public struct SystemdNotifier: Sendable {
    public init() {}

    /// True when systemd gave us a notification socket.
    public var isSupervised: Bool { getenv("NOTIFY_SOCKET") != nil }

    @discardableResult
    public func notify(_ state: String) -> Bool {
        sd_notify(0, state) > 0
    }

    public func ready(status: String) { notify("READY=1\nSTATUS=\(status)") }
    public func status(_ text: String) { notify("STATUS=\(text)") }
    public func stopping(status: String) { notify("STOPPING=1\nSTATUS=\(status)") }
    public func extendTimeout(microseconds: UInt64) { notify("EXTEND_TIMEOUT_USEC=\(microseconds)") }
    public func watchdog() { notify("WATCHDOG=1") }
}
