import Foundation
import TestSupport
import Testing

/// A Redis with a password, and with an ACL user limited to what flashd needs: flashd gives
/// the password on every connection, and refused credentials stop the start with the reason
/// instead of a loop of 503s.
@Suite(.serialized) struct RedisAuthTests {
    /// The ACL line the README gives, for the key prefix the tests use (`e2e:`).
    static let aclRules = ["on", ">shop-pw", "~e2e:*", "resetchannels", "-@all", "+evalsha", "+eval", "+script|load", "+ping",
                           "+time", "+wait", "+role", "+hmget", "+hget", "+hset", "+hdel", "+hexists", "+hgetall", "+hincrby",
                           "+hlen", "+hscan", "+hsetnx", "+exists", "+get", "+set", "+del", "+sadd", "+smembers", "+scard", "+pttl"]

    func passwordFile(_ text: String) throws -> String {
        let path = try TempDir.make(prefix: "pw") + "/redis-password"
        FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600])
        return path
    }

    /// Starting flashd is expected to fail: the error carries flashd's log.
    func refusedStart(_ redis: RedisServer, _ args: [String]) -> String {
        let started = Date()
        do {
            let p = try FlashdProcess(redis: redis, extraArgs: args)
            p.kill9()
            return "started"
        } catch {
            #expect(Date().timeIntervalSince(started) < 10, "refused at once, not after retries")
            return "\(error)"
        }
    }

    func sellsAndAudits(_ node: FlashdProcess) throws {
        try node.createSale("sku", stock: 2)
        #expect(try node.request("POST", "/v1/purchases", json: #"{"item":"sku","user":"alice","request_id":"r1"}"#).status == 201)
        #expect(try node.request("POST", "/v1/purchases", json: #"{"item":"sku","user":"bob","request_id":"r2"}"#).status == 201)
        #expect(try node.request("POST", "/v1/purchases", json: #"{"item":"sku","user":"carol","request_id":"r3"}"#).status == 409)
        #expect(try node.ctl("sale", "restock", "sku", "--add", "1").status == 0)
        #expect(try node.ctl("sale", "reset", "sku", "--stock", "3").status == 0)
        try Wait.until(timeout: 10, "a consistent audit") { try node.settled() }
    }

    @Test func aPasswordIsGivenAndARefusedOneStopsTheStart() throws {
        let redis = try RedisServer()
        try redis.cli("CONFIG", "SET", "requirepass", "s3cret")
        let none = refusedStart(redis, [])
        #expect(none.contains("Redis refused flashd") && none.contains("NOAUTH") && none.contains("--redis-password-file"), "\(none)")
        let wrong = refusedStart(redis, ["--redis-password-file", try passwordFile("guess\n")])
        #expect(wrong.contains("Redis refused flashd") && wrong.contains("WRONGPASS") && !wrong.contains("guess"), "\(wrong)")
        #expect(refusedStart(redis, ["--redis-password-file", "/nonexistent/pw"]).contains("cannot read the Redis password"))

        // The right one, with the newline `echo` leaves: flashd sells, restocks, resets, audits.
        let node = try FlashdProcess(redis: redis, extraArgs: ["--redis-password-file", try passwordFile("s3cret\n")])
        try sellsAndAudits(node)
        #expect(node.log().contains("redis_auth=user default with a password") && !node.log().contains("s3cret"))
        node.kill9()

        // The same password as a systemd credential ($CREDENTIALS_DIRECTORY/redis-password).
        let credentials = try TempDir.make(prefix: "cr")
        FileManager.default.createFile(atPath: credentials + "/redis-password", contents: Data("s3cret".utf8),
                                       attributes: [.posixPermissions: 0o400])
        // Another node id: the killed node's lease on its id outlives it by its TTL.
        let viaSystemd = try FlashdProcess(redis: redis, extraArgs: ["--node-id", "t2"], environment: ["CREDENTIALS_DIRECTORY": credentials])
        #expect(try viaSystemd.request("GET", "/v1/sales/sku").status == 200)
        #expect(try viaSystemd.request("POST", "/v1/purchases", json: #"{"item":"sku","user":"dave"}"#).status == 201)
    }

    @Test func anACLUserLimitedToFlashdsCommandsAndKeysIsEnough() throws {
        let redis = try RedisServer()
        try redis.cli(["ACL", "SETUSER", "flashd"] + Self.aclRules)
        let node = try FlashdProcess(redis: redis, extraArgs: ["--redis-user", "flashd", "--redis-password-file", try passwordFile("shop-pw")])
        // The user can't read Redis' settings (no CONFIG, which would show passwords): flashd
        // says what to check by hand, and that refusal is the only one.
        #expect(node.log().contains("could not read Redis' settings"), "\(node.log())")
        try redis.cli("ACL", "LOG", "RESET")
        try sellsAndAudits(node)
        try node.ctl("sale", "pause", "sku")
        try node.ctl("sale", "resume", "sku")
        // Nothing flashd did while selling was refused by the ACL.
        let denied = try redis.cli("ACL", "LOG")
        #expect(denied.isEmpty, "\(denied)")
        let user = refusedStart(redis, ["--redis-user", "flashd"])
        #expect(user.contains("needs a password"), "\(user)")
    }
}
