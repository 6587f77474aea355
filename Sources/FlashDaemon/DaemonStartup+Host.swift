import FlashCore
import FlashStorage
import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

// The host side of a start: the state directory, its lock, and the node id's lease token.
extension DaemonStartup {
    /// Who holds the node id: this host, this state directory, and a random id kept in that
    /// directory (two cloned machines with one host name and the default path still differ).
    /// A restart of the same node (kill -9, then systemd starting it again at once) has the
    /// same token and takes its lease back at once; a second node with the same id does not.
    func nodeLeaseToken() throws -> String {
        var host = [CChar](repeating: 0, count: 256)
        gethostname(&host, host.count)
        let dir = realpath(config.stateDir, nil).map { p -> String in
            defer { free(p) }
            return String(cString: p)
        } ?? config.stateDir
        let path = config.stateDir + "/flashd.token"
        var id = String((try? String(contentsOfFile: path, encoding: .utf8))?.filter(\.isHexDigit) ?? "")
        if id.isEmpty {
            var g = SystemRandomNumberGenerator()
            id = String(g.next() as UInt64, radix: 16) + String(g.next() as UInt64, radix: 16)
            do {
                try (id + "\n").write(toFile: path, atomically: true, encoding: .utf8)
            } catch {
                throw DaemonError("cannot write \(path): \(error)")
            }
        }
        return "\(String(cString: host)):\(dir):\(id)"
    }

    /// Refuses to start when another process holds this node id; starts without the lease (and
    /// refuses purchases until `NodeLeaseKeeper` gets it) when Redis can't be asked now.
    func claimNodeLease(_ stock: RedisStockStore, token: String) async throws -> Bool {
        do {
            switch try await stock.claimNode(config.nodeID, token: token, ttlMs: NodeLeaseKeeper.ttlMs) {
            case .held:
                return true
            case .heldByOther(let holder, let ttl):
                throw DaemonError("node id \(config.nodeID) is live in Redis: held by \(holder) for another \(ttl) ms. "
                                  + "Every flashd sharing a Redis needs its own --node-id (and its own state directory)")
            }
        } catch let e as EngineError {
            logger.warning("could not claim the node id in Redis; purchases wait until it is claimed",
                           metadata: ["error": "\(e)"])
            return false
        }
    }

    /// One flashd per state directory: a second one on the same journal is refused.
    func lockStateDirectory() throws -> Int32 {
        let path = config.stateDir + "/flashd.lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw DaemonError("cannot open \(path): \(String(cString: strerror(errno)))") }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let err = errno
            close(fd)
            if err == EWOULDBLOCK { throw DaemonError("another flashd is running on the state directory \(config.stateDir)") }
            throw DaemonError("cannot lock \(path): \(String(cString: strerror(err)))")
        }
        return fd
    }

    func makeDirectory(_ path: String) throws {
        var partial = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            partial += "/" + component
            if mkdir(partial, 0o750) != 0 && errno != EEXIST {
                throw DaemonError("cannot create state directory \(partial): \(String(cString: strerror(errno)))")
            }
        }
    }

    static func wallClockMs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}
