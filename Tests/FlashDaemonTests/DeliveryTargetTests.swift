import Control
@testable import FlashCore
import FlashDelivery
import Testing

/// What `--orders-to` accepts and refuses, what the deliverer sends of a batch, and the lag's
/// percentile as bench reads it.
@Suite struct DeliveryTargetTests {
    @Test func theTwoFormsOfTheURLAndTheirDefaults() throws {
        let tcp = try PostgresTarget(url: "postgresql://shop@db.example:6543/orders", password: "s3cret", table: "flashd_orders")
        #expect(tcp.host == "db.example" && tcp.port == 6543 && tcp.user == "shop" && tcp.database == "orders")
        #expect(tcp.tls == .prefer && tcp.socketDirectory == nil)
        let socket = try PostgresTarget(url: "postgres://shop@/orders?host=/run/postgresql", password: nil, table: "sales.orders")
        #expect(socket.host == nil && socket.socketDirectory == "/run/postgresql" && socket.port == 5432 && socket.tls == .disable)
        #expect(socket.table == "sales.orders")
        let strict = try PostgresTarget(url: "postgresql://shop@db/orders?sslmode=require", password: nil, table: "t")
        #expect(strict.tls == .require && strict.port == 5432)
        let v6 = try PostgresTarget(url: "postgresql://shop@[::1]:6000/orders", password: nil, table: "t")
        #expect(v6.host == "::1" && v6.port == 6000 && v6.display.hasPrefix("postgresql://shop@[::1]:6000/orders"))
        #expect(try PostgresTarget(url: "postgresql://shop@[fe80::1]/orders", password: nil, table: "t").host == "fe80::1")
        // Never the password, wherever the target is shown.
        #expect(!tcp.display.contains("s3cret") && tcp.display.contains("shop@db.example:6543/orders"))
    }

    @Test(arguments: [
        ("mysql://shop@db/orders", "must start with postgresql://"),
        ("postgresql://shop:pw@db/orders", "password in the URL"),
        ("postgresql://db/orders", "names no user"),
        ("postgresql://shop@db", "names no database"),
        ("postgresql://shop@db:99999/orders", "port"),
        ("postgresql://shop@/orders", "names no host"),
        ("postgresql://shop@db/orders?host=/run/postgresql", "either in the URL or as host="),
        ("postgresql://shop@/orders?host=run", "absolute path"),
        ("postgresql://shop@db/orders?sslmode=maybe", "sslmode"),
        ("postgresql://shop@db/orders?connect_timeout=3", "unknown parameter connect_timeout"),
    ])
    func aURLThatCannotWorkIsRefusedNamingWhy(url: String, why: String) {
        do {
            _ = try PostgresTarget(url: url, password: nil, table: "t")
            Issue.record("accepted \(url)")
        } catch let e as DeliveryError {
            #expect(e.code == .badTarget && e.message.contains(why), "\(url): \(e.message)")
        } catch {
            Issue.record("\(error)")
        }
    }

    @Test(arguments: ["Orders", "a.b.c", "1abc", "drop table x", "", "a..b", "schema."])
    func aTableNameOutsideTheSafeSetIsRefused(table: String) {
        #expect(throws: DeliveryError.self) { try PostgresTarget(url: "postgresql://u@h/d", password: nil, table: table) }
    }

    /// One upsert can't touch a row twice: each order goes once, in its latest change.
    @Test func aBatchSendsEachOrderOnceInItsLatestChange() {
        func change(_ seq: Int64, _ id: String, _ state: DeliveredState) -> OrderChange {
            OrderChange(seq: seq, state: state, atMs: seq, order: Order(orderID: id, gid: String(id.dropFirst(4)), item: "sku", round: 1,
                                                                     user: "u", requestID: "r", createdMs: 0))
        }
        let batch = [change(1, "ord-n-1", .held), change(2, "ord-n-2", .final), change(3, "ord-n-1", .confirmed), change(4, "ord-n-3", .held)]
        #expect(OrderDeliverer.latestPerOrder(batch).map { "\($0.seq) \($0.order.orderID) \($0.state)" }
                == ["2 ord-n-2 final", "3 ord-n-1 confirmed", "4 ord-n-3 held"])
        #expect(batch[0].node == "n")
    }

    @Test func theLagPercentileIsTheBucketItFallsIn() {
        let histogram: [[Int64]] = [[5, 90], [10, 0], [250, 9], [500, 1], [-1, 0]]
        #expect(API.Delivery.percentile(histogram, 0.5) == 5)
        #expect(API.Delivery.percentile(histogram, 0.99) == 250)
        #expect(API.Delivery.percentile(histogram, 1) == 500)
        #expect(API.Delivery.percentile([[5, 0], [-1, 0]], 0.99) == nil)
        #expect(API.Delivery.percentile([[5, 1], [-1, 1]], 0.99) == -1)
    }
}
