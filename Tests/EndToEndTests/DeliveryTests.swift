import Foundation
import Testing
import TestSupport

/// Delivery of orders to a real PostgreSQL 15 (G8), against the real flashd and redis-server:
/// every order and every change of its state arrives once, in its latest state, through kill -9
/// of flashd at each point of the deliverer and through PostgreSQL's own crash.
@Suite(.serialized) struct DeliveryTests {
    /// Set once, read from another thread.
    final class Flag: @unchecked Sendable {
        private let lock = NSLock()
        private var value = false
        func set() { lock.withLock { value = true } }
        var isSet: Bool { lock.withLock { value } }
    }

    func start(_ redis: RedisServer, _ pg: PostgresServer, _ more: [String] = []) throws -> FlashdProcess {
        try FlashdProcess(redis: redis, extraArgs: ["--orders-to", pg.url] + more)
    }

    func buy(_ node: FlashdProcess, _ n: Int, from: Int = 0, item: String = "sku") throws -> [String] {
        try (from..<(from + n)).map { i in
            let r = try node.request("POST", "/v1/purchases", json: #"{"item":"\#(item)","user":"u\#(i)","request_id":"r\#(i)"}"#)
            guard r.status == 201, let id = r.body["order_id"] as? String else { throw TestFailure("buy \(i): \(r)") }
            return id
        }
    }

    func delivery(_ node: FlashdProcess) throws -> [String: Any] {
        try node.request("GET", "/v1/status").body["delivery"] as? [String: Any] ?? [:]
    }

    /// Nothing waits, and the mark has reached the newest change.
    func caughtUp(_ node: FlashdProcess) throws -> Bool {
        let d = try delivery(node)
        return (d["lag_changes"] as? Int) == 0 && (d["delivered_seq"] as? Int) == (d["newest_seq"] as? Int)
    }

    /// PostgreSQL holds exactly the journal's orders, each in the state the journal has now.
    func matchesJournal(_ node: FlashdProcess, _ pg: PostgresServer) throws {
        let journal = try node.sql("""
            SELECT order_id || ' ' || CASE WHEN hold IS NULL THEN 'final' WHEN hold IN ('confirmed', 'released') THEN hold ELSE 'held' END
            FROM txns WHERE state = 'succeeded' ORDER BY order_id
            """).split(separator: "\n").map(String.init)
        let rows = try pg.psql("SELECT order_id || ' ' || state FROM flashd_orders ORDER BY order_id COLLATE \"C\"")
            .split(separator: "\n").map(String.init)
        #expect(rows == journal.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
    }

    @Test func ordersAndTheirHoldsArriveInTheirLatestState() throws {
        let redis = try RedisServer()
        let pg = try PostgresServer()
        let node = try start(redis, pg)
        try node.createSale("sku", stock: 10, holdSeconds: 60)
        let ids = try buy(node, 6)
        #expect(try node.request("POST", "/v1/orders/\(ids[0])/confirm").status == 200)
        #expect(try node.request("POST", "/v1/orders/\(ids[1])/confirm").status == 200)
        #expect(try node.request("POST", "/v1/orders/\(ids[2])/cancel").status == 200)
        try Wait.until(timeout: 10, "delivery to catch up") { try caughtUp(node) }
        try matchesJournal(node, pg)
        #expect(try pg.psql("SELECT state || ' ' || COALESCE(release_cause, '-') FROM flashd_orders WHERE order_id = '\(ids[2])'")
                == "released cancelled")
        #expect(try pg.count("SELECT COUNT(*) FROM flashd_orders WHERE state = 'held' AND expires_at > now()") == 3)
        #expect(try pg.psql("SELECT DISTINCT node || ' ' || item || ' ' || round FROM flashd_orders") == "test sku 1")

        // The feed has the same history: six orders made, then three verdicts, in that order.
        let feed = try node.request("GET", "/v1/orders?after=0&limit=100").body
        let changes = try #require(feed["changes"] as? [[String: Any]])
        #expect(changes.map { $0["state"] as? String } == Array(repeating: "held", count: 6) + ["confirmed", "confirmed", "released"])
        #expect(changes.compactMap { Int($0["cursor"] as? String ?? "") } == Array(1...9))
        #expect(feed["next"] as? String == "9")
        let none = try node.request("GET", "/v1/orders?after=9").body
        #expect((none["changes"] as? [Any])?.isEmpty == true && none["next"] as? String == "9")
        #expect(try node.request("GET", "/v1/orders?after=end").body["next"] as? String == "9")
        #expect(try node.request("GET", "/v1/orders?after=x").status == 400)
        #expect(try node.request("GET", "/v1/orders?after=0&user=u1").status == 400)

        let audit = try node.ctl("audit", "--orders-db")
        #expect(audit.status == 0 && audit.stdout.contains("5 in the orders database"), "\(audit)")
        // Without --orders-to there is no database to audit: said so, not an empty success.
        let plain = try FlashdProcess(redis: redis, extraArgs: ["--node-id", "plain"])
        let refused = try plain.ctl("audit", "--orders-db")
        #expect(refused.status == 1 && refused.stderr.contains("delivers orders nowhere"), "\(refused)")
    }

    /// kill -9 before the batch is sent, and after PostgreSQL committed it but before the mark:
    /// the restarted flashd delivers everything, and the batch sent twice changes nothing.
    @Test(arguments: ["before-send", "after-commit"])
    func aCrashOfTheDelivererLosesAndDoublesNothing(point: String) throws {
        let redis = try RedisServer()
        let pg = try PostgresServer()
        let node = try start(redis, pg)
        try node.createSale("sku", stock: 100, holdSeconds: 60)
        #expect(try node.request("POST", "/v1/delivery", json: #"{"paused":true}"#).status == 200)
        let ids = try buy(node, 20)
        #expect(try node.request("POST", "/v1/orders/\(ids[0])/confirm").status == 200)
        #expect(try node.request("POST", "/v1/delivery", json: #"{"crash_at":"\#(point)","paused":false}"#).status == 200)
        let (reason, _) = try node.waitForExit(timeout: 10)
        #expect(reason == .exit || reason == .uncaughtSignal)
        // Where it died: nothing sent yet, or all of it committed without the mark.
        #expect(try pg.count("SELECT COUNT(*) FROM flashd_orders") == (point == "before-send" ? 0 : 20))
        #expect(try node.sql("SELECT COALESCE((SELECT value FROM meta WHERE key = 'delivered_seq'), '0')") == "0")

        try node.start()
        try Wait.until(timeout: 10, "delivery to catch up after the restart") { try caughtUp(node) }
        try matchesJournal(node, pg)
        #expect(try pg.count("SELECT COUNT(*) FROM flashd_orders") == 20)
        #expect(try pg.psql("SELECT state FROM flashd_orders WHERE order_id = '\(ids[0])'") == "confirmed")
    }

    /// PostgreSQL down: purchases go on, the lag shows in status, and delivery resumes by
    /// itself; PostgreSQL crashing again and again under load loses and doubles nothing.
    @Test func postgresDownSlowOrCrashingDelaysDeliveryOnly() throws {
        let redis = try RedisServer()
        let pg = try PostgresServer()
        let node = try start(redis, pg)
        try node.createSale("sku", stock: 10_000, limit: 1)
        _ = try buy(node, 5)
        try Wait.until(timeout: 10, "the first orders delivered") { try caughtUp(node) }

        pg.stopImmediately()
        _ = try buy(node, 30, from: 5)
        try Wait.until(timeout: 10, "status to show the outage") {
            let d = try delivery(node)
            return (d["ok"] as? Bool) == false && (d["lag_changes"] as? Int) == 30 && (d["error"] as? String) != nil
        }
        let text = try node.ctl("status")
        #expect(text.stdout.contains("delivery") && text.stdout.contains("30 waiting"), "\(text)")
        try pg.start()
        try Wait.until(timeout: 20, "delivery to resume") { try caughtUp(node) }

        // Mid-batch for certain: a session holds the table locked, so the deliverer's upsert
        // waits inside PostgreSQL (pg_stat_activity shows it), and PostgreSQL crashes then.
        let locker = Process()
        locker.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
        locker.arguments = ["-h", pg.dir, "-U", "postgres", "-d", "postgres", "-c", "BEGIN; LOCK TABLE flashd_orders; SELECT pg_sleep(60)"]
        locker.standardOutput = FileHandle.nullDevice
        locker.standardError = FileHandle.nullDevice
        try locker.run()
        try Wait.until(timeout: 5, "the lock to be taken") {
            try pg.count("SELECT COUNT(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'flashd_orders' AND l.granted AND l.mode = 'AccessExclusiveLock'") == 1
        }
        _ = try buy(node, 10, from: 40)
        try Wait.until(timeout: 5, "the batch to wait inside PostgreSQL") {
            try pg.count("SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'INSERT INTO%'") == 1
        }
        #expect(try delivery(node)["lag_changes"] as? Int == 10)
        pg.stopImmediately()
        locker.waitUntilExit()
        try pg.start()
        try Wait.until(timeout: 20, "the batch cut mid-statement to be delivered again") { try caughtUp(node) }
        #expect(try pg.count("SELECT COUNT(*) FROM flashd_orders") == 45)

        // Crashes under load: a buyer runs while PostgreSQL is killed three times.
        let buyer = Thread { _ = try? self.buy(node, 300, from: 100) }
        buyer.start()
        for _ in 0..<3 {
            usleep(300_000)
            pg.stopImmediately()
            usleep(300_000)
            try pg.start()
        }
        try Wait.until(timeout: 60, "the buyer to finish") { try node.sql("SELECT COUNT(*) FROM txns WHERE state = 'succeeded'") == "345" }
        try Wait.until(timeout: 30, "delivery to catch up after the crashes") { try caughtUp(node) }
        try matchesJournal(node, pg)
        #expect(try pg.count("SELECT COUNT(*) FROM flashd_orders") == 345)
        #expect(node.log().contains("order delivery failed"))
    }

    /// The feed read a page of 7 at a time while purchases and confirms go on: the pages, put
    /// together, are the journal's outbox, with no change skipped or read twice.
    @Test func theFeedPagedUnderLoadSkipsAndRepeatsNothing() throws {
        let redis = try RedisServer()
        let node = try FlashdProcess(redis: redis)
        try node.createSale("sku", stock: 100_000, holdSeconds: 600)
        let done = Flag()
        let buyer = Thread {
            for i in 0..<300 {
                let r = try? node.request("POST", "/v1/purchases", json: #"{"item":"sku","user":"u\#(i)","request_id":"r\#(i)"}"#)
                if i % 3 == 0, let id = r?.body["order_id"] as? String { _ = try? node.request("POST", "/v1/orders/\(id)/confirm") }
            }
            done.set()
        }
        buyer.start()
        var cursor = "0"
        var read: [(cursor: Int, order: String, state: String)] = []
        var quietAfterDone = 0
        while quietAfterDone < 2 {
            let page = try node.request("GET", "/v1/orders?after=\(cursor)&limit=7").body
            let changes = try #require(page["changes"] as? [[String: Any]])
            for c in changes {
                let order = c["order"] as? [String: Any]
                read.append((Int(c["cursor"] as? String ?? "") ?? -1, order?["order_id"] as? String ?? "", c["state"] as? String ?? ""))
            }
            cursor = try #require(page["next"] as? String)
            if changes.isEmpty { quietAfterDone += done.isSet ? 1 : 0; usleep(20_000) }
        }
        let journal = try node.sql("SELECT seq || ' ' || 'ord-' || gid || ' ' || state FROM changes ORDER BY seq")
            .split(separator: "\n").map(String.init)
        #expect(read.map(\.cursor) == Array(1...read.count))
        #expect(read.map { "\($0.cursor) \($0.order) \($0.state)" } == journal)
        #expect(read.count == 300 + 100)
    }

    /// The feed through the real flashsalectl: a page with its cursors, JSON lines, and
    /// `--follow` printing changes as they happen, from now on.
    @Test func flashsalectlReadsAndFollowsTheFeed() throws {
        let redis = try RedisServer()
        let node = try FlashdProcess(redis: redis)
        try node.createSale("sku", stock: 50, holdSeconds: 600)
        let ids = try buy(node, 3)
        #expect(try node.request("POST", "/v1/orders/\(ids[1])/cancel").status == 200)

        let page = try node.ctl("orders", "--after", "0", "--limit", "3")
        let lines = page.stdout.split(separator: "\n").map(String.init)
        #expect(page.status == 0 && lines.count == 4, "\(page)")
        #expect(lines[0].hasPrefix("1  ") && lines[0].contains("held  \(ids[0])") && lines[0].contains("until"))
        #expect(lines.last == "more: --after 3")
        let rest = try node.ctl("orders", "--after", "3")
        #expect(rest.stdout.contains("released  \(ids[1])") && rest.stdout.contains("(cancelled)") && rest.stdout.hasSuffix("end: --after 4\n"),
                "\(rest)")
        let json = try node.ctl("--json", "orders", "--after", "0")
        let objects = json.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        #expect(objects.map { $0["cursor"] as? String } == ["1", "2", "3", "4"])
        #expect(try node.ctl("orders", "--after", "x").status != 0)
        #expect(try node.ctl("orders", "--follow", "--user", "u1").stderr.contains("--user lists orders"))

        // --follow from now on: what was there before is not printed, what comes next is.
        let out = node.dir + "/follow.out"
        FileManager.default.createFile(atPath: out, contents: nil)
        let follower = Process()
        follower.executableURL = URL(fileURLWithPath: FlashdProcess.binDir + "/flashsalectl")
        follower.arguments = ["--socket", node.socketPath, "orders", "--follow"]
        follower.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: out))
        follower.standardError = FileHandle.nullDevice
        try follower.run()
        defer { if follower.isRunning { follower.terminate() } }
        usleep(600_000)
        let later = try buy(node, 2, from: 10)
        try Wait.until(timeout: 5, "the follower to print the new orders") {
            let text = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
            return later.allSatisfy { text.contains($0) }
        }
        let text = try String(contentsOfFile: out, encoding: .utf8)
        #expect(!ids.contains { text.contains($0) }, "\(text)")
        #expect(text.hasPrefix("5  "), "\(text)")
    }

    /// Two nodes deliver into one table, the shop's one view: every order of both journals,
    /// once, each with the node that sold it.
    @Test func severalNodesDeliverIntoOneTable() throws {
        let redis = try RedisServer()
        let pg = try PostgresServer()
        let a = try start(redis, pg, ["--node-id", "node-a"])
        let b = try start(redis, pg, ["--node-id", "node-b"])
        try a.createSale("sku", stock: 50, holdSeconds: 600)
        let fromA = try buy(a, 10)
        _ = try buy(b, 10, from: 10)
        // A node confirms and cancels orders the other sold: the seller's journal follows, and so does PostgreSQL.
        #expect(try b.request("POST", "/v1/orders/\(fromA[0])/confirm").status == 200)
        #expect(try b.request("POST", "/v1/orders/\(fromA[1])/cancel").status == 200)
        try Wait.until(timeout: 15, "both nodes to deliver, the seller's verdicts too") {
            try caughtUp(a) && caughtUp(b) && pg.count("SELECT COUNT(*) FROM flashd_orders WHERE state IN ('confirmed', 'released')") == 2
        }
        #expect(try pg.psql("SELECT node || ' ' || COUNT(*) FROM flashd_orders GROUP BY node ORDER BY node") == "node-a 10\nnode-b 10")
        #expect(try pg.psql("SELECT state FROM flashd_orders WHERE order_id = '\(fromA[0])'") == "confirmed")
        #expect(try pg.psql("SELECT state FROM flashd_orders WHERE order_id = '\(fromA[1])'") == "released")
        #expect(try pg.count("SELECT COUNT(*) FROM flashd_orders") == 20)

        // The audit over both nodes, PostgreSQL included: 19 rows keep a unit, 19 units taken.
        func audit() throws -> (status: Int32, stdout: String, stderr: String) {
            try Shell.runStatus(FlashdProcess.binDir + "/flashsalectl",
                                ["--socket", a.socketPath, "--socket", b.socketPath, "audit", "--orders-db"])
        }
        let good = try audit()
        #expect(good.status == 0 && good.stdout.contains("19 in the orders database")
                && good.stdout.contains("every unit taken has its row"), "\(good)")
        // A row no journal has, keeping a unit Redis never counted: drift, exit 7.
        try pg.psql("""
            INSERT INTO flashd_orders VALUES ('ord-node-c-0000000000000001', 'node-c-0000000000000001', 'node-c', 'sku', 1, 'x', 'r',
                                              'final', NULL, now(), NULL, now())
            """)
        let bad = try audit()
        #expect(bad.status == 7 && bad.stdout.contains("DRIFT"), "\(bad)")
    }

    /// What can't work stops the start, naming the problem; what may pass (PostgreSQL down) doesn't.
    @Test func aTargetThatCannotWorkIsAStartErrorNamingTheProblem() throws {
        let redis = try RedisServer()
        let pg = try PostgresServer()
        try pg.psql("CREATE ROLE shop LOGIN PASSWORD 'hunter2'; CREATE TABLE locked(x int)")
        let shop = "postgresql://shop@/postgres?host=\(pg.dir)"
        func refused(_ args: [String], _ expected: String) throws {
            let dir = try TempDir.make(prefix: "fd")
            do {
                _ = try FlashdProcess(redis: redis, extraArgs: args, dir: dir)
                Issue.record("flashd started with \(args)")
            } catch {
                let log = (try? String(contentsOfFile: dir + "/flashd.log", encoding: .utf8)) ?? ""
                #expect(log.contains(expected), "\(args): \(log)")
                #expect(!log.contains("hunter2"), "the password must never be logged")
            }
        }
        try refused(["--orders-to", "postgresql://shop:hunter2@/postgres?host=\(pg.dir)"], "a password in the URL")
        try refused(["--orders-to", "mysql://x@y/z"], "must start with postgresql://")
        try refused(["--orders-to", shop], "password")
        let wrong = pg.dir + "/wrong"
        try "nope\n".write(toFile: wrong, atomically: true, encoding: .utf8)
        try refused(["--orders-to", shop, "--orders-to-password-file", wrong], "authentication failed")
        let right = pg.dir + "/right"
        try "hunter2\n".write(toFile: right, atomically: true, encoding: .utf8)
        try refused(["--orders-to", shop, "--orders-to-password-file", right, "--orders-table", "locked"], "order_id")

        // The superuser's flashd makes the table; the shop's may only read it, then may write.
        // (A node id of its own: SIGTERM right after the socket answers can come before the
        // service group handles it, and then the lease stays in Redis for its TTL.)
        let owner = try start(redis, pg, ["--orders-table", "shop_orders", "--node-id", "owner"])
        #expect(try pg.count("SELECT COUNT(*) FROM pg_tables WHERE tablename = 'shop_orders'") == 1)
        _ = try owner.terminate()
        try pg.psql("GRANT SELECT ON shop_orders TO shop")
        try refused(["--orders-to", shop, "--orders-to-password-file", right, "--orders-table", "shop_orders"],
                    "GRANT SELECT, INSERT, UPDATE ON shop_orders TO shop")
        try pg.psql("GRANT INSERT, UPDATE ON shop_orders TO shop")
        let node = try FlashdProcess(redis: redis, extraArgs: ["--orders-to", shop, "--orders-to-password-file", right,
                                                               "--orders-table", "shop_orders"])
        try node.createSale("sku", stock: 5)
        _ = try buy(node, 2)
        try Wait.until(timeout: 10, "delivery as the shop's role") { try pg.count("SELECT COUNT(*) FROM shop_orders") == 2 }
        #expect(!node.log().contains("hunter2"))
        _ = try node.terminate()

        // PostgreSQL down at start-up is no reason not to sell.
        pg.stopImmediately()
        let alone = try start(redis, pg, ["--orders-table", "later_orders"])
        #expect(alone.log().contains("can't be reached now"))
        try alone.createSale("other", stock: 5)
        _ = try buy(alone, 1, from: 50, item: "other")
        try pg.start()
        try Wait.until(timeout: 20, "the table made and the order delivered once PostgreSQL is back") {
            (try? pg.count("SELECT COUNT(*) FROM later_orders")) == 1
        }
    }
}
