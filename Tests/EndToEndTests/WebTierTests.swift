import Foundation
import TestSupport
import Testing

/// What a web tier sends as it is: percent-encoded names (`gift%40shop`, as browsers and
/// Python encode `@`), and the `Idempotency-Key` header as the purchase's request id.
@Suite(.serialized) struct WebTierTests {
    func send(_ node: FlashdProcess, _ method: String, _ path: String, json: String? = nil,
              headers: [(String, String)] = []) throws -> (status: Int, body: [String: Any]) {
        let r = try node.client().send(method, path, body: json.map { Array($0.utf8) }, headers: headers)
        return (r.status, (try? JSONSerialization.jsonObject(with: Data(r.body))) as? [String: Any] ?? [:])
    }

    @Test func percentEncodedNamesAreDecoded() throws {
        let redis = try RedisServer()
        let node = try FlashdProcess(redis: redis)
        try node.createSale("gift@shop", stock: 5)
        let bought = try node.request("POST", "/v1/purchases", json: #"{"item":"gift@shop","user":"a.b@c","request_id":"r1"}"#)
        #expect(bought.status == 201, "\(bought)")
        let sale = try node.request("GET", "/v1/sales/gift%40shop")
        #expect(sale.status == 200 && sale.body["item"] as? String == "gift@shop" && sale.body["orders"] as? Int == 1, "\(sale)")
        let orders = try node.request("GET", "/v1/orders?user=a.b%40c&item=gift%40shop")
        #expect((orders.body["orders"] as? [[String: Any]])?.count == 1, "\(orders)")
        // An order id with `@` in its node part, encoded, is found too.
        let id = try #require(bought.body["order_id"] as? String)
        #expect(try node.request("GET", "/v1/orders/" + id.replacingOccurrences(of: "-", with: "%2D")).status == 200)
        // Malformed escapes and what decodes to no valid name are refused, not guessed at.
        #expect(try node.request("GET", "/v1/sales/gift%4").status == 400)
        #expect(try node.request("GET", "/v1/orders?user=%zz").status == 400)
        #expect(try node.request("GET", "/v1/orders?user=%C3%28").status == 400, "not UTF-8")
        let spaced = try node.request("GET", "/v1/orders?user=a+b")
        #expect(spaced.status == 400 && spaced.body["field"] as? String == "user", "a + is a space: \(spaced)")
    }

    @Test func theIdempotencyKeyHeaderIsTheRequestID() throws {
        let redis = try RedisServer()
        let node = try FlashdProcess(redis: redis)
        try node.createSale("sku", stock: 5, limit: 3)
        let key = [("Idempotency-Key", "checkout-42")]
        let first = try send(node, "POST", "/v1/purchases", json: #"{"item":"sku","user":"alice"}"#, headers: key)
        let again = try send(node, "POST", "/v1/purchases", json: #"{"item":"sku","user":"alice"}"#, headers: key)
        #expect(first.status == 201 && first.body["request_id"] as? String == "checkout-42", "\(first)")
        #expect(again.status == 201 && again.body["order_id"] as? String == first.body["order_id"] as? String
                && again.body["replayed"] as? Bool == true, "two POSTs with one key made two orders: \(again)")
        // The same id in both places is fine; two different ones are a mistake.
        let same = try send(node, "POST", "/v1/purchases", json: #"{"item":"sku","user":"alice","request_id":"checkout-42"}"#, headers: key)
        #expect(same.status == 201 && same.body["replayed"] as? Bool == true)
        let differ = try send(node, "POST", "/v1/purchases", json: #"{"item":"sku","user":"alice","request_id":"other"}"#, headers: key)
        #expect(differ.status == 400 && differ.body["field"] as? String == "request_id", "\(differ)")
        #expect(try node.sql("SELECT COUNT(*) FROM orders") == "1")
        // Once sold out, the fast path answers with the key's gid too (a retry of the ordered
        // purchase still gets its order).
        try node.createSale("gone", stock: 0)
        _ = try send(node, "POST", "/v1/purchases", json: #"{"item":"gone","user":"bob"}"#)
        let fast = try send(node, "POST", "/v1/purchases", json: #"{"item":"gone","user":"bob"}"#, headers: [("Idempotency-Key", "k-9")])
        #expect(fast.status == 409 && fast.body["request_id"] as? String == "k-9", "\(fast)")
    }

    /// A socket flashd binds itself gets the mode and group asked for, so nginx's user can be
    /// let in by group; a mode that would lock flashd's own user out is refused.
    @Test func theSocketTakesTheModeAndGroupAskedFor() throws {
        let redis = try RedisServer()
        let node = try FlashdProcess(redis: redis, extraArgs: ["--socket-mode", "0664", "--socket-group", "nogroup"])
        let attributes = try FileManager.default.attributesOfItem(atPath: node.socketPath)
        #expect((attributes[.posixPermissions] as? Int) == 0o664, "\(attributes)")
        #expect((attributes[.groupOwnerAccountName] as? String) == "nogroup", "\(attributes)")
        #expect(try node.request("GET", "/v1/ping").status == 200)
        node.kill9()
        let r = try Shell.runStatus(FlashdProcess.binDir + "/flashd", ["--socket-mode", "0066", "--config", "/dev/null"])
        #expect(r.status == 64 && r.stderr.contains("socket-mode must be an octal mode"), "\(r)")
    }

    /// packaging/nginx/flashd.conf with a real nginx (workers as nobody:nogroup, reaching the
    /// socket by its group): a purchase and its order by id pass; the operator's API doesn't.
    @Test func nginxPassesTheBuyersVerbsAndNothingElse() throws {
        let redis = try RedisServer()
        let node = try FlashdProcess(redis: redis, extraArgs: ["--socket-group", "nogroup"])
        chmod(node.dir, 0o711)  // the workers must reach the socket's directory
        try node.createSale("sku", stock: 5)
        let dir = try TempDir.make(prefix: "ngx")
        chmod(dir, 0o755)
        let port = try FreePort.next()
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let sample = try String(contentsOf: root.appendingPathComponent("packaging/nginx/flashd.conf"), encoding: .utf8)
            .replacingOccurrences(of: "unix:/run/flashd/flashd.sock", with: "unix:" + node.socketPath)
            .replacingOccurrences(of: "listen 80;", with: "listen 127.0.0.1:\(port);")
        let conf = """
            daemon off;
            user nobody nogroup;
            pid \(dir)/nginx.pid;
            error_log \(dir)/error.log;
            events { worker_connections 64; }
            http {
                access_log off;
                client_body_temp_path \(dir)/body;
                proxy_temp_path \(dir)/proxy;
                fastcgi_temp_path \(dir)/fastcgi;
                uwsgi_temp_path \(dir)/uwsgi;
                scgi_temp_path \(dir)/scgi;
            \(sample)
            }
            """
        try conf.write(toFile: dir + "/nginx.conf", atomically: true, encoding: .utf8)
        let nginx = Process()
        nginx.executableURL = URL(fileURLWithPath: try Executables.find("nginx"))
        nginx.arguments = ["-c", dir + "/nginx.conf", "-p", dir]
        nginx.standardOutput = FileHandle.nullDevice
        nginx.standardError = FileHandle.nullDevice
        try nginx.run()
        defer {
            nginx.terminate()
            nginx.waitUntilExit()
        }
        let curl = try Executables.find("curl")
        func http(_ method: String, _ path: String, json: String? = nil, headers: [String] = []) throws -> (status: Int, body: String) {
            var args = ["-s", "-X", method, "-w", "\n%{http_code}", "http://127.0.0.1:\(port)\(path)"]
            for h in headers { args += ["-H", h] }
            if let json { args += ["-H", "Content-Type: application/json", "--data", json] }
            let out = try Shell.runStatus(curl, args).stdout
            let lines = out.split(separator: "\n", omittingEmptySubsequences: false)
            return (Int(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n"))
        }
        try Wait.until(timeout: 10, "nginx on port \(port)") { (try? http("GET", "/")).map { $0.status == 404 } ?? false }

        // A purchase through nginx, retried with the same Idempotency-Key: one order.
        let key = ["Idempotency-Key: web-1"]
        let first = try http("POST", "/v1/purchases", json: #"{"item":"sku","user":"alice"}"#, headers: key)
        let again = try http("POST", "/v1/purchases", json: #"{"item":"sku","user":"alice"}"#, headers: key)
        #expect(first.status == 201 && again.status == 201 && again.body.contains(#""replayed":true"#),
                "\(first) \(again); nginx error.log: \((try? String(contentsOfFile: dir + "/error.log", encoding: .utf8)) ?? "")")
        let order = try #require(try JSONSerialization.jsonObject(with: Data(first.body.utf8)) as? [String: Any])
        let id = try #require(order["order_id"] as? String)
        #expect(try http("GET", "/v1/orders/\(id)").status == 200)
        #expect(try node.sql("SELECT COUNT(*) FROM orders") == "1")

        // The operator's API stays on the host.
        for (method, path) in [("GET", "/v1/orders?user=alice"), ("GET", "/v1/orders"), ("GET", "/v1/status"), ("GET", "/v1/audit"),
                                ("GET", "/v1/txns"), ("GET", "/metrics"), ("GET", "/v1/sales"), ("POST", "/v1/sales"),
                                ("POST", "/v1/sales/sku/restock"), ("POST", "/v1/orders/\(id)")] {
            let r = try http(method, path, json: method == "POST" ? "{}" : nil)
            #expect(r.status == 404 || r.status == 403, "\(method) \(path) passed nginx: \(r)")
        }
        #expect(try http("GET", "/v1/purchases").status == 403)
    }
}
