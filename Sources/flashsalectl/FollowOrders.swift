import ArgumentParser
import Control
import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

/// `orders --follow` / `orders --after CURSOR`: the feed of orders and their state changes in
/// the order the node's journal committed them, as `journalctl -f` follows a log.
struct FollowOrders {
    let global: GlobalOptions
    let after: String?
    let follow: Bool
    let limit: Int

    func run() throws {
        // Following without a cursor starts at the newest change: only what comes next.
        var cursor = after ?? "end"
        var disconnected = false
        // One keep-alive connection for the whole follow, made again after flashd restarts.
        let client = global.client()
        while true {
            let page: API.Changes
            do {
                page = try client.call("GET", "/v1/orders?after=\(OrdersCommand.encoded(cursor))&limit=\(limit)")
            } catch let e as ControlError where follow && e.apiError == nil {
                // flashd restarting: keep the cursor and try again; nothing is lost, as the
                // journal keeps every change.
                if !disconnected { printError("flashsalectl: \(e.message); retrying from cursor \(cursor)") }
                disconnected = true
                usleep(1_000_000)
                continue
            } catch let e as ControlError {
                throw global.fail(e)
            }
            if disconnected {
                printError("flashsalectl: reconnected; following from cursor \(cursor)")
                disconnected = false
            }
            for change in page.changes {
                if global.json { global.printJSON(change) } else { print(Self.line(change, utc: global.utc)) }
            }
            // Into a pipe or a file stdout is block-buffered: a follower (`| grep`, a log
            // shipper) must see each line as it comes. fflush(nil) flushes every stream without
            // naming the C global `stdout`, which Swift 6 won't touch.
            if !page.changes.isEmpty { fflush(nil) }
            cursor = page.next
            if !follow {
                if !global.json { print(page.changes.count == limit ? "more: --after \(cursor)" : "end: --after \(cursor)") }
                return
            }
            // A full page: there is more at once. Otherwise wait a little for news.
            if page.changes.count < limit { usleep(250_000) }
        }
    }

    /// One change: cursor, what the order became, and the order.
    static func line(_ c: API.Change, utc: Bool) -> String {
        let o = c.order
        var text = "\(c.cursor)  \(TimeText.format(c.changedAt, utc: utc))  \(c.state)  \(o.orderID)  \(o.item) round \(o.round)"
            + "  user \(o.user)  request \(o.requestID)"
        if c.state == "released", let cause = o.releaseCause { text += " (\(cause))" }
        if c.state == "held", let until = o.expiresAt { text += " until \(TimeText.format(until, utc: utc))" }
        return text
    }
}
