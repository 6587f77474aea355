import NIOHTTP1

/// What the TCP listener (`--metrics-listen`) serves: the metrics, and the live sale page
/// with the read-only answers it shows (status, sales, orders). Nothing that changes anything,
/// and no transactions: the socket's access control guards the rest, and this listener has none.
extension Router {
    static func onView(_ method: HTTPMethod, _ segments: [String]) -> Bool {
        guard method == .GET else { return false }
        switch segments {
        case [], ["metrics"], ["v1", "status"], ["v1", "sales"], ["v1", "orders"]: return true
        case let s where s.count == 3 && s[0] == "v1" && s[1] == "orders": return true
        default: return false
        }
    }
}
