import Foundation
import TestSupport
import Testing

/// A buyer (or the shop's support desk) finds an order: by its id, or by the buyer, narrowed
/// to an item and a request id. A misspelt filter is a 400, never the whole list.
@Suite(.serialized) struct OrderLookupTests {
    @Test func aBuyersOrdersAreFoundByUserItemAndRequestID() throws {
        let redis = try RedisServer()
        let node = try FlashdProcess(redis: redis)
        try node.createSale("sku", stock: 3, limit: 2)
        try node.createSale("hat", stock: 5, limit: 1)
        var orderIDs: [String: String] = [:]
        for (item, user, request) in [("sku", "alice", "r1"), ("sku", "bob", "r2"), ("sku", "alice", "r3"), ("hat", "alice", "r4")] {
            let r = try node.request("POST", "/v1/purchases", json: #"{"item":"\#(item)","user":"\#(user)","request_id":"\#(request)"}"#)
            #expect(r.status == 201, "\(r)")
            orderIDs[request] = r.body["order_id"] as? String
        }
        // Sold out: a purchase with no order is not found as one.
        #expect(try node.request("POST", "/v1/purchases", json: #"{"item":"sku","user":"carol","request_id":"r5"}"#).status == 409)

        func ids(_ path: String) throws -> [String] {
            let r = try node.request("GET", path)
            #expect(r.status == 200, "\(path): \(r)")
            return (r.body["orders"] as? [[String: Any]] ?? []).compactMap { $0["order_id"] as? String }
        }
        // Newest first, only the buyer's.
        #expect(try ids("/v1/orders?user=alice") == [orderIDs["r4"]!, orderIDs["r3"]!, orderIDs["r1"]!])
        #expect(try ids("/v1/orders?user=alice&item=sku") == [orderIDs["r3"]!, orderIDs["r1"]!])
        #expect(try ids("/v1/orders?user=alice&request_id=r1") == [orderIDs["r1"]!])
        #expect(try ids("/v1/orders?user=alice&item=hat&request_id=r1").isEmpty)
        #expect(try ids("/v1/orders?user=carol").isEmpty)
        #expect(try ids("/v1/orders?user=alice&limit=2").count == 2)

        // Mistakes are answered, not ignored.
        let misspelt = try node.request("GET", "/v1/orders?usr=alice")
        #expect(misspelt.status == 400 && misspelt.body["error"] as? String == "invalid_input" && misspelt.body["field"] as? String == "usr",
                "\(misspelt)")
        #expect(try node.request("GET", "/v1/orders?request_id=r1").body["field"] as? String == "request_id")
        #expect(try node.request("GET", "/v1/orders?user=a%20b").status == 400)
        #expect(try node.request("GET", "/v1/status?verbose=1").status == 400)

        // The CLI: a buyer's orders, one order, and the same mistakes refused before asking.
        let cli = try node.ctl("--json", "orders", "--user", "alice", "--item", "sku")
        let listed = try JSONSerialization.jsonObject(with: Data(cli.stdout.utf8)) as? [String: Any]
        #expect(cli.status == 0 && (listed?["orders"] as? [[String: Any]])?.count == 2, "\(cli)")
        #expect(try node.ctl("orders", "--request-id", "r1").status == 64)
        let human = try node.ctl("orders", "list", "--user", "bob")
        #expect(human.status == 0 && human.stdout.contains(orderIDs["r2"]!) && human.stdout.contains("user bob"), "\(human)")
    }

    @Test func anOrderIsFoundByItsIdOnTheNodeThatMadeIt() throws {
        let redis = try RedisServer()
        let node = try FlashdProcess(redis: redis)
        try node.createSale("sku", stock: 2)
        let bought = try node.request("POST", "/v1/purchases", json: #"{"item":"sku","user":"alice","request_id":"r1"}"#)
        let id = try #require(bought.body["order_id"] as? String)

        let found = try node.request("GET", "/v1/orders/\(id)")
        #expect(found.status == 200 && found.body["order_id"] as? String == id && found.body["user"] as? String == "alice"
                && found.body["request_id"] as? String == "r1" && found.body["gid"] as? String == bought.body["gid"] as? String, "\(found)")

        // The node test made it: another node's id names that node.
        let elsewhere = try node.request("GET", "/v1/orders/ord-web-2-0123456789abcdef")
        #expect(elsewhere.status == 404 && elsewhere.body["error"] as? String == "unknown_order", "\(elsewhere)")
        #expect((elsewhere.body["message"] as? String)?.contains("node web-2") == true)
        // This node's id, no such order (a made-up digest).
        let unknown = try node.request("GET", "/v1/orders/ord-test-0000000000000000")
        #expect(unknown.status == 404 && unknown.body["error"] as? String == "unknown_order", "\(unknown)")
        #expect(try node.request("GET", "/v1/orders/nonsense").status == 400)
        #expect(try node.request("POST", "/v1/orders/\(id)").status == 405)

        let show = try node.ctl("orders", "show", id)
        #expect(show.status == 0 && show.stdout.contains(id) && show.stdout.contains("user alice"), "\(show)")
        // The order's time is read as a time, in UTC.
        #expect(show.stdout.contains("Z"), "\(show)")
        let missing = try node.ctl("orders", "show", "ord-test-0000000000000000")
        #expect(missing.status == 1 && missing.stderr.contains("unknown_order"), "\(missing)")
    }

    /// Times print in the local zone with its offset, or in UTC with --utc; never as epoch
    /// milliseconds (orders, a held order's expiry, a sale's hours).
    @Test func timesPrintInTheLocalZoneOrInUTC() throws {
        let redis = try RedisServer()
        let node = try FlashdProcess(redis: redis)
        #expect(try node.ctl("sale", "create", "sku", "--stock", "3", "--hold", "1h", "--closes-at", "+2h").status == 0)
        #expect(try node.request("POST", "/v1/purchases", json: #"{"item":"sku","user":"ann"}"#).status == 201)
        let tokyo = ProcessInfo.processInfo.environment.merging(["TZ": "Asia/Tokyo"]) { $1 }
        func ctl(_ args: String...) throws -> String {
            let r = try Shell.runStatus(FlashdProcess.binDir + "/flashsalectl", ["--socket", node.socketPath] + args, environment: tokyo)
            #expect(r.status == 0, "\(r)")
            return r.stdout
        }
        let local = try ctl("orders")
        #expect(local.contains("+09:00") && !local.contains("Z "), "\(local)")
        #expect(local.components(separatedBy: "+09:00").count == 3, "created and held until, both local: \(local)")
        let utc = try ctl("--utc", "orders")
        #expect(!utc.contains("+09:00") && utc.contains("Z  held until") , "\(utc)")
        let sale = try ctl("sale", "show", "sku")
        #expect(sale.contains("closes ") && sale.contains("+09:00"), "\(sale)")
    }
}
