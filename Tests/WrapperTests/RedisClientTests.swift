import RedisClient
import TestSupport
import Testing

/// hiredis' replies as Swift values, against a real redis-server: every RESP2 type, nesting,
/// binary-safe strings, error replies in and out of a pipeline, and the target syntax.
@Suite(.serialized) final class RedisClientTests {
    let redis: RedisServer
    let conn: RedisConnection

    init() throws {
        redis = try RedisServer()
        conn = RedisConnection(endpoint: .unix(path: redis.socketPath))
    }

    deinit {
        conn.close()
        redis.stop()
    }

    @Test func everyReplyTypeBecomesItsValue() throws {
        #expect(try conn.command(["SET", "k", "v"]) == .status("OK"))
        #expect(try conn.command(["GET", "k"]) == .string("v"))
        #expect(try conn.command(["GET", "missing"]) == .null)
        #expect(try conn.command(["INCRBY", "n", "-7"]) == .integer(-7))
        #expect(try conn.command(["INCRBY", "big", "9223372036854775807"]) == .integer(.max))
        #expect(try conn.command(["RPUSH", "l", "a", "b"]) == .integer(2))
        #expect(try conn.command(["LRANGE", "l", "0", "-1"]) == .array([.string("a"), .string("b")]))
        #expect(try conn.command(["LRANGE", "nothing", "0", "-1"]) == .array([]))
    }

    @Test func nestedArraysKeepTheirShapeAndNils() throws {
        // Lua's false is RESP's nil; a nested table a nested array.
        let v = try conn.command(["EVAL", "return {1, {'x', false, {}}, 'y'}", "0"])
        #expect(v == .array([.integer(1), .array([.string("x"), .null, .array([])]), .string("y")]))
        #expect(v.array?[1].array?.count == 3)
    }

    @Test func stringsAreBinarySafeBothWays() throws {
        let text = "a\u{0}b é ✓ \r\n$3\r\n"
        #expect(try conn.command(["SET", "bin", text]) == .status("OK"))
        #expect(try conn.command(["STRLEN", "bin"]) == .integer(Int64(text.utf8.count)))
        #expect(try conn.command(["GET", "bin"]) == .string(text))
        #expect(try conn.command(["SET", "empty", ""]) == .status("OK"))
        #expect(try conn.command(["GET", "empty"]) == .string(""))
    }

    @Test func anErrorReplyIsThrownWithItsText() throws {
        do {
            _ = try conn.command(["EVAL", "return redis.error_reply('NOPE not today')", "0"])
            Issue.record("no error")
        } catch let error as RedisError {
            #expect(error.kind == .reply && error.message == "NOPE not today")
        }
        do {
            _ = try conn.command(["EVALSHA", String(repeating: "0", count: 40), "0"])
            Issue.record("no error")
        } catch let error as RedisError {
            #expect(error.isNoScript && !error.isReadOnly)
        }
        // The connection is still good after an error reply.
        #expect(try conn.command(["PING"]) == .status("PONG"))
    }

    @Test func aPipelineAnswersInOrderAndAnErrorFailsOnlyItsSlot() throws {
        let results = try conn.pipeline([["SET", "p", "1"], ["INCR", "p"], ["LPUSH", "p", "x"], ["GET", "p"]])
        #expect(results.count == 4)
        #expect(try results[0].get() == .status("OK"))
        #expect(try results[1].get() == .integer(2))
        guard case .failure(let e) = results[2] else { Issue.record("LPUSH on a string succeeded"); return }
        #expect(e.kind == .reply && e.message.hasPrefix("WRONGTYPE"))
        #expect(try results[3].get() == .string("2"))
    }

    @Test func aRestartedRedisCostsNoErrorWhenNothingWasWritten() throws {
        #expect(try conn.command(["PING"]) == .status("PONG"))
        redis.stop()
        try redis.start()
        // The kept connection's write fails with EPIPE: nothing reached Redis, so it is retried
        // once on a fresh connection.
        #expect(try conn.command(["PING"]) == .status("PONG"))
    }

    @Test func anUnreachableRedisIsAConnectionError() throws {
        let nowhere = RedisConnection(endpoint: .unix(path: redis.dir + "/none.sock"), connectTimeoutMs: 100)
        do {
            _ = try nowhere.command(["PING"])
            Issue.record("connected to nothing")
        } catch let error as RedisError {
            #expect(error.kind == .connection)
        }
    }

    @Test func valuesReadAsWhatTheCallerAsks() {
        #expect(RedisValue.string("12").int == 12 && RedisValue.status("-3").int == -3 && RedisValue.integer(5).int == 5)
        #expect(RedisValue.string("x").int == nil && RedisValue.null.int == nil && RedisValue.array([]).int == nil)
        #expect(RedisValue.integer(5).string == "5" && RedisValue.status("OK").string == "OK" && RedisValue.null.string == nil)
        #expect(RedisValue.array([.null]).array == [.null] && RedisValue.string("a").array == nil)
    }

    @Test(arguments: [
        ("unix:/run/r.sock", "unix:/run/r.sock"), ("/run/r.sock", "unix:/run/r.sock"), ("cache", "cache:6379"),
        ("10.0.0.1:7000", "10.0.0.1:7000"), ("[::1]:7000", "[::1]:7000"), ("[::1]", "[::1]:6379"),
        ("sentinel://a,b:1,a:26379/sale", "sentinel://a:26379,b:1/sale"),
        ("sentinel://[::1]:5/m-1.x", "sentinel://[::1]:5/m-1.x"),
    ])
    func aTargetParsesToOneSpelling(text: String, canonical: String) throws {
        let target = try #require(RedisTarget(parsing: text))
        #expect(target.description == canonical)
        #expect(RedisTarget(parsing: canonical) == target)
    }

    @Test(arguments: ["unix:", "h:0", "h:65536", "h:x", ":6379", "sentinel://", "sentinel://h/", "sentinel:///m",
                      "sentinel://h/a b", "sentinel://h,/m"])
    func aBadTargetIsRefused(text: String) {
        #expect(RedisTarget(parsing: text) == nil)
    }

    @Test func credentialsAreSentOnEveryConnectionAndARefusalIsNamed() throws {
        try redis.cli("ACL", "SETUSER", "shop", "on", ">s3cret", "~*", "+@all")
        let shop = RedisConnection(endpoint: .unix(path: redis.socketPath), credentials: RedisCredentials(user: "shop", password: "s3cret"))
        defer { shop.close() }
        #expect(try shop.command(["ACL", "WHOAMI"]) == .string("shop"))
        // Dropped and dialled again, the new connection authenticates again.
        shop.close()
        #expect(try shop.command(["ACL", "WHOAMI"]) == .string("shop"))

        let wrong = RedisConnection(endpoint: .unix(path: redis.socketPath), credentials: RedisCredentials(user: "shop", password: "guess"))
        do {
            _ = try wrong.command(["PING"])
            Issue.record("a wrong password was accepted")
        } catch let e as RedisError {
            #expect(e.kind == .authentication && e.message.contains("WRONGPASS") && !e.message.contains("guess"), "\(e)")
        }
        // A refusal inside a pipeline fails its own slot and keeps the replies in step: the
        // next reply is the next command's, on this batch and the one after.
        let mixed = try shop.pipeline([["AUTH", "shop", "bad"], ["ECHO", "a"]])
        guard case .failure(let refused) = mixed[0] else { Issue.record("AUTH with a bad password passed"); return }
        #expect(refused.kind == .authentication && (try? mixed[1].get()) == .string("a"))
        #expect(try shop.command(["ECHO", "b"]) == .string("b"))
        // A password for a default user that has none is no reason to refuse the connection.
        let needless = RedisConnection(endpoint: .unix(path: redis.socketPath), credentials: RedisCredentials(user: nil, password: "x"))
        #expect(try needless.command(["PING"]) == .status("PONG"))
        #expect("\(RedisCredentials(user: "shop", password: "s3cret"))" == "user shop with a password")

        // A Redis that wants a password and gets none answers NOAUTH: an authentication error too.
        try redis.cli("CONFIG", "SET", "requirepass", "top")
        let none = RedisConnection(endpoint: .unix(path: redis.socketPath))
        do {
            _ = try none.command(["PING"])
            Issue.record("no password, and yet PONG")
        } catch let e as RedisError {
            #expect(e.kind == .authentication && e.message.hasPrefix("NOAUTH"), "\(e)")
        }
        let withIt = RedisConnection(endpoint: .unix(path: redis.socketPath), credentials: RedisCredentials(user: nil, password: "top"))
        #expect(try withIt.command(["PING"]) == .status("PONG"))
        _ = try withIt.command(["CONFIG", "SET", "requirepass", ""])
    }

    /// Behind Sentinel, the credentials go to the sentinels as well as to the primary they name.
    @Test func credentialsReachTheSentinelsAndThePrimary() throws {
        let cluster = try SentinelCluster(replicas: 1)
        for server in cluster.servers {
            try server.cli("CONFIG", "SET", "masterauth", "pw")
            try server.cli("CONFIG", "SET", "requirepass", "pw")
        }
        for port in cluster.sentinelPorts {
            _ = try cluster.sentinel(port, "SENTINEL", "SET", SentinelCluster.master, "auth-pass", "pw")
            _ = try cluster.sentinel(port, "ACL", "SETUSER", "default", "on", ">pw")
        }
        let target = try #require(RedisTarget(parsing: cluster.url))
        let conn = RedisConnection(target: target, credentials: RedisCredentials(user: nil, password: "pw"))
        defer { conn.close() }
        #expect(try conn.command(["SET", "k", "v"]) == .status("OK"))
        #expect(try conn.command(["ROLE"]).array?.first == .string("master"))
        // Without them, no sentinel answers who the primary is, and the error says why.
        let without = RedisConnection(target: target)
        do {
            _ = try without.command(["PING"])
            Issue.record("a password-protected sentinel answered without a password")
        } catch let e as RedisError {
            #expect(e.message.contains("NOAUTH"), "\(e)")
        }
    }
}
