#if canImport(Glibc)
import Glibc
#endif

/// Runs `body(i)` for i in 0..<count on `count` threads at once and waits for all of them.
/// Blocking socket clients need real threads to be concurrent; Swift's cooperative pool has
/// only one per core.
func concurrently(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    final class Job: @unchecked Sendable {
        // @unchecked: each Job is handed to exactly one thread and read-only there.
        let index: Int
        let body: @Sendable (Int) -> Void
        init(_ index: Int, _ body: @escaping @Sendable (Int) -> Void) {
            self.index = index
            self.body = body
        }
    }
    var threads: [pthread_t] = []
    for i in 0..<count {
        var t = pthread_t()
        let job = Unmanaged.passRetained(Job(i, body)).toOpaque()
        let rc = pthread_create(&t, nil, { arg in
            let job = Unmanaged<Job>.fromOpaque(arg!).takeRetainedValue()
            job.body(job.index)
            return nil
        }, job)
        if rc == 0 {
            threads.append(t)
        } else {
            let j = Unmanaged<Job>.fromOpaque(job).takeRetainedValue()
            j.body(j.index)
        }
    }
    for t in threads { pthread_join(t, nil) }
}
