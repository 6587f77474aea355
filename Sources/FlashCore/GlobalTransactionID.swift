/// Derives the gid of a purchase from (node, item, sale round, user, request id), so a retry of
/// the same purchase lands on the same journal row and the same Redis barrier (G5).
///
/// The node id leads, so gids from several nodes sharing one Redis never collide. The rest is a
/// 64-bit FNV-1a digest: short enough to be cheap as a Redis hash field at flash-sale volume.
/// Because a digest can collide, the journal stores the full tuple and `Coordinator` refuses a
/// row whose tuple differs from the request's.
public enum GlobalTransactionID {
    public static func make(node: String, item: String, round: Int, user: String, requestID: String) -> String {
        make(node: node, digest: digest(item: item, round: round, user: user, requestID: requestID))
    }

    public static func make(node: String, digest: UInt64) -> String {
        let hex = String(digest, radix: 16)
        return "\(node)-\(String(repeating: "0", count: 16 - hex.count))\(hex)"
    }

    /// The 64-bit part of the gid: what the sold-out gate's filter remembers.
    public static func digest(item: String, round: Int, user: String, requestID: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ s: String) {
            for byte in s.utf8 {
                hash ^= UInt64(byte)
                hash = hash &* 0x0000_0100_0000_01b3
            }
            // A separator byte that no name may contain keeps ("ab","c") apart from ("a","bc").
            hash ^= 0x1f
            hash = hash &* 0x0000_0100_0000_01b3
        }
        mix(item)
        mix(String(round))
        mix(user)
        mix(requestID)
        return hash
    }

    /// The digest back out of a gid made by `make` (nil for anything else).
    public static func digest(ofGID gid: String) -> UInt64? {
        guard let dash = gid.lastIndex(of: "-") else { return nil }
        let hex = gid[gid.index(after: dash)...]
        return hex.count == 16 ? UInt64(hex, radix: 16) : nil
    }

    /// Order ids are derived from the gid: one gid, at most one order, and a retried commit
    /// writes the same id (the orders table's primary key refuses a second one).
    public static func orderID(forGID gid: String) -> String { "ord-\(gid)" }
}
