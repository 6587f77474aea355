import Control
import FlashCore

/// The feed (G8): `GET /v1/orders?after=CURSOR&limit=N`, orders and their state changes in the
/// order the journal committed them. `after=0` starts at the beginning, `after=end` at the
/// newest change (for a follower that wants only what comes next).
extension Router {
    func feed(_ c: Call) async throws -> Response {
        let q = c.request.query
        for key in ["user", "item", "request_id", "state", "before"] where q[key] != nil {
            throw EngineError.invalidInput(field: key, "after= reads the feed, which takes no \(key)=; list orders without after=")
        }
        let text = q["after"] ?? ""
        let after: Int64
        if text == "end" {
            after = try await coordinator.newestChange()
        } else if let n = Int64(text), n >= 0 {
            after = n
        } else {
            throw EngineError.invalidInput(field: "after", "after must be 0, end, or the next value of a previous page")
        }
        let rows = try await coordinator.changes(after: after, limit: try limit(c.request))
        let next = rows.last?.seq ?? after
        return json(.ok, API.Changes(changes: rows.map(Self.change), next: String(next)))
    }

    static func change(_ c: OrderChange) -> API.Change {
        API.Change(cursor: String(c.seq), state: c.state.rawValue, changedAt: SaleTime.format(c.atMs), node: c.node,
                   order: order(c.order, replayed: nil))
    }
}
