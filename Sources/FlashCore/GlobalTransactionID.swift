/// Derives the gid of a purchase from (node, item, user, request id), so a retry of the same
/// purchase lands on the same journal row and the same Redis barrier (G5), in whatever round
/// the sale is now: a request id's first outcome is its outcome, also after a reset.
///
/// The node id leads, so gids from several nodes sharing one Redis never collide. The rest is
/// a 64-bit SipHash-2-4 keyed with the journal's own secret (`meta.gid_key`): short enough to
/// be cheap as a Redis hash field at flash-sale volume, and impossible to aim at another
/// buyer's gid without the key. An accidental collision is still possible in principle, so
/// the journal stores the full tuple and `Coordinator` refuses a row (or joins a running
/// purchase) only when its tuple is the request's.
public struct GlobalTransactionID: Sendable {
    public let node: String
    public let key: (UInt64, UInt64)

    public init(node: String, key: (UInt64, UInt64)) {
        self.node = node
        self.key = key
    }

    public func make(item: String, user: String, requestID: String) -> String {
        Self.make(node: node, digest: digest(item: item, user: user, requestID: requestID))
    }

    public static func make(node: String, digest: UInt64) -> String {
        "\(node)-\(digest.hex16)"
    }

    /// The 64-bit part of the gid: what the sold-out gate's filter remembers.
    public func digest(item: String, user: String, requestID: String) -> UInt64 {
        var h = SipHash24(key: key)
        for part in [item, user, requestID] {
            h.append(part.utf8)
            // A separator byte that no name may contain keeps ("ab","c") apart from ("a","bc").
            h.append(0x1f)
        }
        return h.finish()
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

extension UInt64 {
    /// 16 lowercase hex digits, zero-padded: a fixed width, so the value reads back unambiguously.
    public var hex16: String {
        let hex = String(self, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
