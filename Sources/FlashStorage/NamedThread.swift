import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// A one-thread pool whose thread carries a name of its own (`top -H`, `/proc/PID/task/*/comm`,
/// perf's per-thread reports): the journal's writer and the Redis connections would otherwise all
/// be NIO's `TP-#0`, and `flashsalectl bench` could not tell whose CPU a purchase used.
enum NamedThread {
    /// Started, with `name` (at most 15 bytes: the kernel's limit) set from its own thread.
    static func pool(_ name: String) -> NIOThreadPool {
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        pool.submit { _ in
            // What pthread_setname_np does (Swift's Glibc doesn't export it): the thread's own
            // comm file. Best effort: if it fails, the thread keeps NIO's name.
            let fd = open("/proc/thread-self/comm", O_WRONLY)
            guard fd >= 0 else { return }
            defer { close(fd) }
            let bytes = Array(name.utf8.prefix(15))
            _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        }
        return pool
    }
}
