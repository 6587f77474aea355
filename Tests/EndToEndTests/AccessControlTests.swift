import Foundation
import Testing
import TestSupport

/// Who may do what (DESIGN: admin verbs need root or the admin group, by SO_PEERCRED). The
/// unprivileged side runs the real flashsalectl as uid 65534 through setpriv.
@Suite(.serialized) struct AccessControlTests {
    /// flashsalectl as `nobody`, with `gid` as its group and no supplementary groups.
    func asNobody(_ flashd: FlashdProcess, gid: Int = 65534, _ args: String...) throws -> (status: Int32, stdout: String, stderr: String) {
        try Shell.runStatus(try Executables.find("setpriv"), [
            "--reuid=65534", "--regid=\(gid)", "--clear-groups", "--", FlashdProcess.binDir + "/flashsalectl",
            "--socket", flashd.socketPath,
        ] + args)
    }

    /// The test's directory and socket are root's; let the unprivileged user reach the socket.
    func openUp(_ flashd: FlashdProcess) {
        chmod(flashd.dir, 0o755)
        chmod(flashd.socketPath, 0o666)
    }

    @Test func adminVerbsNeedRootOrTheAdminGroup() throws {
        let redis = try RedisServer()
        // "daemon" (gid 1) stands in for the admin group: it exists on every Debian system.
        let flashd = try FlashdProcess(redis: redis, extraArgs: ["--admin-group", "daemon"])
        openUp(flashd)
        try flashd.createSale("sku", stock: 5)  // as root: allowed

        let create = try asNobody(flashd, "sale", "create", "other", "--stock", "1")
        #expect(create.status == 1)
        #expect(create.stderr.contains("(forbidden)"), "\(create)")
        #expect(try asNobody(flashd, "sale", "restock", "sku", "--add", "1").status == 1)
        #expect(try asNobody(flashd, "sale", "reset", "sku", "--stock", "1").status == 1)
        #expect(try asNobody(flashd, "debug", "wedge").status == 1)
        let crash = try asNobody(flashd, "buy", "sku", "--user", "eve", "--crash-after", "after-stock", "--crash-mode", "exit")
        #expect(crash.status == 1 && crash.stderr.contains("forbidden"))
        #expect(flashd.isRunning)

        // Buying and reading are for everyone who can reach the socket.
        #expect(try asNobody(flashd, "buy", "sku", "--user", "bob").status == 0)
        #expect(try asNobody(flashd, "status").status == 0)
        #expect(try asNobody(flashd, "audit").status == 0)
        #expect(try flashd.sql("SELECT COUNT(*) FROM txns WHERE user = 'eve'") == "0")
        #expect(try flashd.request("GET", "/v1/sales/sku").body["stock_total"] as? Int == 5)

        // The admin group's members may.
        #expect(try asNobody(flashd, gid: 1, "sale", "create", "other", "--stock", "1").status == 0)
        // By the process's own groups, not the group database's: nobody is listed in no group,
        // but a process of nobody's holding "daemon" as a supplementary group is an admin, and
        // the same user without it is not.
        let supplementary = try Shell.runStatus(try Executables.find("setpriv"), [
            "--reuid=65534", "--regid=65534", "--groups=1", "--", FlashdProcess.binDir + "/flashsalectl",
            "--socket", flashd.socketPath, "sale", "create", "third", "--stock", "1",
        ])
        #expect(supplementary.status == 0, "\(supplementary)")
        #expect(try asNobody(flashd, "sale", "create", "fourth", "--stock", "1").status == 1)
        // Every refusal leaves a log entry naming the peer.
        #expect(flashd.log().contains("admin verb refused"))
        #expect(flashd.log().contains("peer_uid=65534"))
    }

    /// The web tier, not an admin, confirms and cancels held orders (it forwards the shop's
    /// payment results); a crash point on a confirm stays an admin's, and creating a held sale too.
    @Test func theWebTierConfirmsAndCancelsButInjectsNoFault() throws {
        let redis = try RedisServer()
        let flashd = try FlashdProcess(redis: redis, extraArgs: ["--admin-group", "daemon"])
        openUp(flashd)
        #expect(try asNobody(flashd, "sale", "create", "sku", "--stock", "3", "--hold", "1h").status == 1)
        #expect(try flashd.ctl("sale", "create", "sku", "--stock", "3", "--hold", "1h").status == 0)
        let ids = try (1...2).map { i in
            try #require(try flashd.request("POST", "/v1/purchases", json: #"{"item":"sku","user":"u\#(i)"}"#).body["order_id"] as? String)
        }
        let crash = try asNobody(flashd, "orders", "confirm", ids[0], "--crash-after", "after-intent", "--crash-mode", "exit")
        #expect(crash.status == 1 && crash.stderr.contains("forbidden"), "\(crash)")
        #expect(flashd.isRunning)
        #expect(try asNobody(flashd, "orders", "confirm", ids[0]).status == 0)
        #expect(try asNobody(flashd, "orders", "cancel", ids[1]).status == 0)
        #expect(try flashd.sql("SELECT group_concat(hold) FROM (SELECT hold FROM txns ORDER BY hold)") == "confirmed,released")
    }
}
