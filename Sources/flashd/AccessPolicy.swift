import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Who is on the other end of a Unix-socket connection, from SO_PEERCRED.
struct Peer: Sendable, Equatable {
    var pid: Int32
    var uid: UInt32
    var gid: UInt32
    /// Root, or a member of the admin group: may create, restock and reset sales and inject faults.
    var isAdmin: Bool

    /// A TCP peer (the metrics listener): no credentials, never an admin.
    static let remote = Peer(pid: 0, uid: UInt32.max, gid: UInt32.max, isAdmin: false)
}

/// Decides which peers are admins: uid 0, a peer whose group (SO_PEERCRED's gid) is the admin
/// group, or a user listed as a member of it in the group database. Answers are cached per
/// (uid, gid) for a few seconds: a connection asks once, and NSS lookups stay off the hot path.
final class AccessPolicy: Sendable {
    let adminGroup: String
    private let cache = Mutex<[UInt64: (Bool, Int)]>([:])

    init(adminGroup: String) { self.adminGroup = adminGroup }

    func peer(pid: Int32, uid: UInt32, gid: UInt32) -> Peer {
        Peer(pid: pid, uid: uid, gid: gid, isAdmin: isAdmin(uid: uid, gid: gid))
    }

    func isAdmin(uid: UInt32, gid: UInt32) -> Bool {
        if uid == 0 { return true }
        let key = UInt64(uid) << 32 | UInt64(gid)
        let now = Int(time(nil))
        // getgrnam/getpwuid/getgrouplist share static buffers: look up under the lock, so the
        // event-loop threads never run them at once.
        return cache.withLock { cache in
            if let (answer, at) = cache[key], now - at < 5 { return answer }
            let answer = lookUp(uid: uid, gid: gid)
            cache[key] = (answer, now)
            return answer
        }
    }

    private func lookUp(uid: UInt32, gid: UInt32) -> Bool {
        guard let group = getgrnam(adminGroup) else { return false }
        let adminGID = group.pointee.gr_gid
        if gid == adminGID { return true }
        guard let pw = getpwuid(uid) else { return false }
        let user = pw.pointee.pw_name
        var count: Int32 = 64
        var groups = [gid_t](repeating: 0, count: Int(count))
        if getgrouplist(user, pw.pointee.pw_gid, &groups, &count) < 0 {
            groups = [gid_t](repeating: 0, count: Int(count))
            guard getgrouplist(user, pw.pointee.pw_gid, &groups, &count) >= 0 else { return false }
        }
        return groups.prefix(Int(count)).contains(adminGID)
    }
}
