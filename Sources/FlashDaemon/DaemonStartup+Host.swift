import FlashCore
import FlashStorage
import FoundationEssentials
import RedisClient
import SQLiteStore

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
            try writeWhole(path, id + "\n")
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

    /// Writes `text` to a new file and renames it over `path`: all of it or nothing, with the
    /// system's own words for a failure ("No space left on device").
    func writeWhole(_ path: String, _ text: String) throws {
        let temp = path + ".new"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw DaemonError("cannot write \(path): \(String(cString: strerror(errno)))") }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        var reason: String?
        if written < 0 {
            reason = String(cString: strerror(errno))
        } else if written != bytes.count {
            reason = "short write (\(written) of \(bytes.count) bytes)"
        } else if fsync(fd) != 0 {
            reason = String(cString: strerror(errno))
        }
        close(fd)
        if reason == nil && rename(temp, path) != 0 { reason = String(cString: strerror(errno)) }
        if let reason {
            unlink(temp)
            throw DaemonError("cannot write \(path): \(reason)")
        }
    }

    /// A state directory with (almost) no space left can't take a single purchase: a clear
    /// error at start-up rather than a daemon answering 503 to every one.
    func checkFreeSpace() throws {
        var fs = statvfs()
        guard statvfs(config.stateDir, &fs) == 0 else { return }
        let free = UInt64(fs.f_bavail) * UInt64(fs.f_frsize)
        if free < Self.minimumFreeBytes {
            throw DaemonError("the state directory \(config.stateDir) has \(free) bytes free (its filesystem is full): "
                              + "the journal can't record a purchase; free space there and start again")
        }
    }

    static let minimumFreeBytes: UInt64 = 64 * 1024

    /// The power-cut tests' VFS (`PowerCutVFS`), with fault injection and
    /// FLASHD_TEST_POWER_CUT=1 only; nil otherwise.
    func powerCutVFS() throws -> String? {
        guard config.faultInjection, ProcessInfo.processInfo.environment["FLASHD_TEST_POWER_CUT"] == "1" else { return nil }
        do {
            let name = try PowerCutVFS.register()
            logger.warning("the journal runs on the power-cut VFS (tests only): every file keeps an image of its last sync")
            return name
        } catch {
            throw DaemonError("\(error)")
        }
    }

    /// `socket-group` as a gid; nil when not set. An unknown group stops the start.
    func socketGroupID() throws -> gid_t? {
        guard !config.socketGroup.isEmpty else { return nil }
        if let gid = gid_t(config.socketGroup) { return gid }
        guard let entry = getgrnam(config.socketGroup) else {
            throw DaemonError("socket-group \(config.socketGroup) is not a group on this machine")
        }
        return entry.pointee.gr_gid
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

// Redis' credentials: from the password file, or from the systemd credential.
extension DaemonStartup {
    /// The credential name a unit drop-in passes with `LoadCredential=redis-password:PATH`.
    static let passwordCredential = "redis-password"

    /// nil when no password is configured (and none is passed by systemd).
    func redisCredentials(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> RedisCredentials? {
        guard let path = secretPath(config.redisPasswordFile, credential: Self.passwordCredential, environment: environment) else {
            if !config.redisUser.isEmpty {
                throw DaemonError("--redis-user \(config.redisUser) needs a password: --redis-password-file, or the "
                                  + "\(Self.passwordCredential) credential")
            }
            return nil
        }
        return RedisCredentials(user: config.redisUser, password: try readSecret(path, what: "Redis"))
    }

    /// The file a secret comes from: the flag's, else systemd's credential of that name
    /// (`LoadCredential=NAME:PATH`), else nil.
    func secretPath(_ flag: String, credential: String, environment: [String: String]) -> String? {
        if !flag.isEmpty { return flag }
        if let dir = environment["CREDENTIALS_DIRECTORY"], !dir.isEmpty, access(dir + "/" + credential, R_OK) == 0 {
            return dir + "/" + credential
        }
        return nil
    }

    /// A password file's first line, as it is: only the line's end (`echo`'s newline, a CR) is
    /// not part of the password; spaces may be.
    func readSecret(_ path: String, what: String) throws -> String {
        let text: String
        do {
            text = try DaemonConfig.readFile(path)
        } catch {
            throw DaemonError("cannot read the \(what) password: \(error.message)")
        }
        var password = String(text.split(separator: "\n", omittingEmptySubsequences: false).first ?? "")
        if password.hasSuffix("\r") { password.removeLast() }
        guard !password.isEmpty else { throw DaemonError("the \(what) password file \(path) is empty") }
        var st = stat()
        if stat(path, &st) == 0, st.st_mode & 0o004 != 0 {
            logger.warning("the \(what) password file is readable by every user; chmod 0600 it", metadata: ["file": "\(path)"])
        }
        return password
    }

    /// A start with refused credentials stops here, with the reason, rather than starting to
    /// answer every purchase with 503. A Redis that is down is not an error at start-up.
    func checkRedisCredentials(_ target: RedisTarget, _ credentials: RedisCredentials?) throws {
        let probe = RedisConnection(target: target, connectTimeoutMs: 1000, credentials: credentials)
        defer { probe.close() }
        do {
            _ = try probe.command(["PING"])
        } catch let e as RedisError where e.kind == .authentication {
            let hint = credentials == nil ? "Redis needs a password: give --redis-password-file (and --redis-user for an ACL user)"
                : "check --redis-user and the password file"
            throw DaemonError("Redis refused flashd: \(e.message). \(hint)")
        } catch {
            return
        }
    }
}
