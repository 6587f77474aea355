/// Where flashd keeps things in Redis. Names are validated (no `:`), so keys can't collide.
struct RedisKeys: Sendable {
    let prefix: String

    var sales: String { "\(prefix)sales" }
    func sale(_ item: String) -> String { "\(prefix)sale:\(item)" }
    func barriers(_ item: String, round: Int) -> String { "\(prefix)bar:\(item):\(round)" }
    func users(_ item: String, round: Int) -> String { "\(prefix)usr:\(item):\(round)" }
    /// Deductions of one round, per node (field NODE) and in all (field `*`): the fence's measure.
    func counts(_ item: String, round: Int) -> String { "\(prefix)cnt:\(item):\(round)" }
    /// The item's fences: field NODE, value why that node found Redis behind its journal.
    func fences(_ item: String) -> String { "\(prefix)fence:\(item)" }
    /// Which gid deducted for each request of the item (field "USER REQUESTID", value "GID
    /// ROUND MS"), on any node and in any round: a retry on another node finds its order.
    /// Kept like the barriers, for as long as a retry may come.
    func requests(_ item: String) -> String { "\(prefix)req:\(item)" }
    /// The item's admin requests by request id (restock, reset): a retry does nothing twice.
    func adminRequests(_ item: String) -> String { "\(prefix)adm:\(item)" }
    /// Every hold, by gid: "ITEM ROUND USER EXPIRES", so any node can confirm or release an
    /// order knowing only its id. Kept like the barriers: a hold may be asked about later.
    var holds: String { "\(prefix)holds" }
    /// Gids of a node's orders that other nodes confirmed or released: its journal catches up.
    func holdNews(_ node: String) -> String { "\(prefix)news:\(node)" }
    /// The lease of a node id: which process may use it (value), for how long (TTL).
    func node(_ id: String) -> String { "\(prefix)node:\(id)" }
}
