import CSystemd

#if canImport(Glibc)
import Glibc
#endif

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

    /// RELOADING=1 with the monotonic timestamp systemd (Type=notify-reload) expects.
    public func reloading() {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        let usec = UInt64(ts.tv_sec) * 1_000_000 + UInt64(ts.tv_nsec) / 1000
        notify("RELOADING=1\nMONOTONIC_USEC=\(usec)\nSTATUS=reloading configuration")
    }

    /// The watchdog interval when systemd expects pings (WatchdogSec=), else nil.
    public var watchdogInterval: Duration? {
        var usec: UInt64 = 0
        guard sd_watchdog_enabled(0, &usec) > 0, usec > 0 else { return nil }
        return .microseconds(Int64(usec))
    }
}
