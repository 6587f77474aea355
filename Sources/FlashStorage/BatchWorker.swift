import NIOPosix
import Synchronization

/// A C handle on a thread of its own that takes its work in batches: every job queued while
/// the previous batch ran goes to `process` at once.
///
/// This is what both group commit (many journal writes, one fsync) and Redis pipelining (many
/// scripts, one round trip) are made of. There is no timer and no batch size to tune: a lone
/// job runs at once, and under load batches grow by themselves, because jobs gather while the
/// previous batch waits on the disk or the network.
final class BatchWorker<Handle, Job: Sendable>: @unchecked Sendable {
    // @unchecked Sendable: `handle` is touched only on `pool`'s single thread (in `process`
    // and `exclusive`); the queue is behind a mutex.
    private let handle: Handle
    private let pool: NIOThreadPool
    private let process: (Handle, [Job]) -> Void
    private let reject: (Job) -> Void
    private let queue = Mutex<(jobs: [Job], draining: Bool)>(([], false))

    /// `process` runs on the worker's thread (named `name`) and must answer every job it is
    /// given; `reject` answers a job that arrives after shutdown.
    init(_ handle: Handle, name: String, process: @escaping (Handle, [Job]) -> Void, reject: @escaping (Job) -> Void) {
        self.handle = handle
        self.process = process
        self.reject = reject
        self.pool = NamedThread.pool(name)
    }

    func submit(_ job: Job) {
        let start = queue.withLock { q -> Bool in
            q.jobs.append(job)
            if q.draining { return false }
            q.draining = true
            return true
        }
        guard start else { return }
        pool.submit { [self] state in
            guard state == .active else {
                for job in take(all: true) { reject(job) }
                return
            }
            while true {
                let batch = take(all: false)
                if batch.isEmpty { return }
                process(handle, batch)
            }
        }
    }

    /// Runs `body` on the worker's thread, outside any batch, after the batches already started.
    func exclusive<T: Sendable>(_ body: @escaping @Sendable (Handle) throws -> T) async throws -> T {
        try await pool.runIfActive { try body(self.handle) }
    }

    func shutdown() async {
        try? await pool.shutdownGracefully()
    }

    /// The queued jobs; when there are none, the drain ends (`draining` false) in the same step,
    /// so a job submitted right after starts a new one.
    private func take(all: Bool) -> [Job] {
        queue.withLock { q in
            if q.jobs.isEmpty || all { q.draining = false }
            let jobs = q.jobs
            q.jobs = []
            return jobs
        }
    }
}
