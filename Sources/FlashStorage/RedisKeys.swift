/// Where flashd keeps things in Redis. Names are validated (no `:`), so keys can't collide.
struct RedisKeys: Sendable {
    let prefix: String

    var sales: String { "\(prefix)sales" }
    func sale(_ item: String) -> String { "\(prefix)sale:\(item)" }
    func barriers(_ item: String, round: Int) -> String { "\(prefix)bar:\(item):\(round)" }
    func users(_ item: String, round: Int) -> String { "\(prefix)usr:\(item):\(round)" }
    /// The lease of a node id: which process may use it (value), for how long (TTL).
    func node(_ id: String) -> String { "\(prefix)node:\(id)" }
}
