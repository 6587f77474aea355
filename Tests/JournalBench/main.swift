import FlashCore
import FlashStorage

#if canImport(Glibc)
import Glibc
#endif

/// `flashd-journal-bench`: the journal alone, in process, as flashd drives it per purchase
/// (prepare, then commit the order), from C concurrent tasks for D seconds. No HTTP, no Redis:
/// this is the ceiling SQLite and the disk put on successful purchases, and the figure that
/// shows whether a purchase rate is bounded by the journal.
///
///     flashd-journal-bench [--connections 64] [--duration 5] [--sync full|normal] [--hold] [--dir DIR | --journal FILE]
///
/// `--hold`: every order is made held, as in a sale with a checkout hold, then confirmed, as a
/// payment system would (each step a write of the order's row).
///
/// `--journal FILE` runs on that journal and keeps it (made, or migrated, when it is opened):
/// with `scripts/fill-journal.sh` it is the journal alone at the size a long sale leaves.
@main
struct JournalBench {
    static func main() async throws {
        var connections = 64
        var seconds = 5.0
        var sync = SQLiteJournal.Durability.full
        var dir = "/tmp"
        var keep: String?
        var hold = false
        var args = CommandLine.arguments.dropFirst().makeIterator()
        while let a = args.next() {
            switch a {
            case "--connections": connections = Int(args.next() ?? "") ?? connections
            case "--duration": seconds = Double(args.next() ?? "") ?? seconds
            case "--sync": sync = SQLiteJournal.Durability(rawValue: args.next() ?? "") ?? sync
            case "--dir": dir = args.next() ?? dir
            case "--journal": keep = args.next()
            case "--hold": hold = true
            default:
                print("usage: flashd-journal-bench [--connections N] [--duration S] [--sync full|normal] [--hold] [--dir DIR | --journal FILE]")
                exit(64)
            }
        }
        let held = hold
        let path = keep ?? "\(dir)/journal-bench-\(getpid()).db"
        defer { if keep == nil { for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) } } }
        let opening = now()
        let journal = try await SQLiteJournal(path: path, durability: sync)
        let openMs = Int((now() - opening) * 1000)
        await journal.waitForIndex()
        let indexMs = Int((now() - opening) * 1000)
        let (rowsBefore, _) = try await journal.totals()
        let start = now()
        let deadline = start + seconds
        let total = await withTaskGroup(of: Int.self) { group in
            for c in 0..<connections {
                group.addTask {
                    var n = 0
                    while now() < deadline {
                        let gid = "jb-\(getpid())-\(c)-\(n)"
                        let ms = Int64(now() * 1000)
                        let digest = GlobalTransactionID(node: "jb", key: (1, 2)).digest(item: "sku", user: "u\(c)-\(n)", requestID: gid)
                        let real = GlobalTransactionID.make(node: "jb", digest: digest)
                        let record = TxnRecord(gid: real, item: "sku", round: 1, user: "u\(c)-\(n)", requestID: gid,
                                               createdMs: ms, updatedMs: ms, nextCheckMs: ms + 3000)
                        do {
                            _ = try await journal.prepare(record)
                            _ = try await journal.commitOrder(Order(orderID: "ord-\(real)", gid: real, item: "sku", round: 1,
                                                                    user: record.user, requestID: gid, createdMs: ms,
                                                                    hold: held ? .held : nil, expiresMs: held ? ms + 600_000 : nil),
                                                              nowMs: ms)
                            if held { _ = try await journal.setHold(gid: real, to: .confirmed, cause: nil, nowMs: ms) }
                        } catch {
                            print("journal error: \(error)")
                            return n
                        }
                        n += 1
                    }
                    return n
                }
            }
            var sum = 0
            for await n in group { sum += n }
            return sum
        }
        let elapsed = now() - start
        let stats = journal.groupCommitStatistics
        await journal.close()
        let rate = Double(total) / elapsed
        print("""
            {"connections":\(connections),"duration_s":\(elapsed),"sync":"\(sync.rawValue)","purchases":\(total),\
            "purchases_per_s":\(Int(rate)),"commits":\(stats.commits),"calls_per_commit":\(stats.calls / max(1, stats.commits)),\
            "largest_batch":\(stats.largest),"orders_before":\(rowsBefore),"open_ms":\(openMs),"index_ms":\(indexMs)}
            """)
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
