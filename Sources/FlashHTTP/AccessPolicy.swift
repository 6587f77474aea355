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

/// Decides which peers are admins: uid 0, or a process whose own groups (its primary group,
/// SO_PEERCRED's gid, or a supplementary group from SO_PEERGROUPS, else /proc/PID/status)
/// include the admin group.
/// The process's groups, not the group database's: a process that dropped its groups (as
/// daemons and sandboxes do) is not an admin however its user is listed. The admin group's
/// id is looked up once every few seconds, under a lock (getgrnam's static buffer).
public final class AccessPolicy: Sendable {
    let adminGroup: String
    private let adminGID = Mutex<(gid: gid_t?, at: Int?)>((nil, nil))

    public init(adminGroup: String) { self.adminGroup = adminGroup }

    /// `groups`: the peer's supplementary groups from SO_PEERGROUPS (nil: not available).
    func peer(pid: Int32, uid: UInt32, gid: UInt32, groups: [UInt32]? = nil) -> Peer {
        Peer(pid: pid, uid: uid, gid: gid, isAdmin: isAdmin(pid: pid, uid: uid, gid: gid, groups: groups))
    }

    func isAdmin(pid: Int32, uid: UInt32, gid: UInt32, groups: [UInt32]?) -> Bool {
        if uid == 0 { return true }
        guard let admin = adminGroupID() else { return false }
        if gid == admin { return true }
        return (groups ?? Self.supplementaryGroups(pid: pid, uid: uid))?.contains(admin) ?? false
    }

    private func adminGroupID() -> gid_t? {
        let now = Int(time(nil))
        return adminGID.withLock { cached in
            if let at = cached.at, now - at < 5 { return cached.gid }
            cached = (getgrnam(adminGroup)?.pointee.gr_gid, now)
            return cached.gid
        }
    }

    /// The `Groups:` line of /proc/PID/status, if that process is still the peer (its real uid
    /// matches SO_PEERCRED's); nil when it can't be read (the peer exited, /proc hidden).
    static func supplementaryGroups(pid: Int32, uid: UInt32) -> [gid_t]? {
        guard pid > 0 else { return nil }
        let fd = open("/proc/\(pid)/status", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: 8192)
        let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { return nil }
        var groups: [gid_t]?
        var uidMatches = false
        for line in String(decoding: bytes.prefix(n), as: UTF8.self).split(separator: "\n") {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if fields.first == "Uid:" { uidMatches = fields.count > 1 && UInt32(fields[1]) == uid }
            if fields.first == "Groups:" { groups = fields.dropFirst().compactMap { gid_t($0) } }
        }
        return uidMatches ? groups ?? [] : nil
    }
}
