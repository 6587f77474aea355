import Testing
@testable import FlashDaemon
import FlashStorage
import Foundation
import Logging
import TestSupport

/// flashd.conf as an operator writes it: every key a flag has, a typo or a bad value refused
/// with its line number, and a reload told which changes need a restart.
@Suite struct DaemonConfigTests {
    @Test func aFileSetsEveryKeyItNames() throws {
        var c = DaemonConfig()
        try c.apply(configFile: "f.conf", text: """
            # a comment
            socket = /run/x.sock
            redis = sentinel://10.0.0.1:26379/sale   # trailing comment
            redis-wait-replicas = 1
            check-delay = 2.5
            enable-fault-injection = yes
            sqlite-sync = normal
            metrics-listen = [::1]:9464
            """)
        #expect(c.socketPath == "/run/x.sock" && c.redis == "sentinel://10.0.0.1:26379/sale")
        #expect(c.redisWaitReplicas == 1 && c.checkDelay == .milliseconds(2500) && c.faultInjection && c.sqliteSync == .normal)
        #expect(c.metricsListen == "[::1]:9464" && hostPort("[::1]:9464")! == ("::1", 9464))
    }

    @Test(arguments: [
        ("colour = blue", "f.conf:2: unknown key colour"),
        ("redis-connections = 0", "f.conf:2: redis-connections must be an integer in 1...64"),
        ("check-delay = -1", "f.conf:2: check-delay must be seconds in (0, 3600]"),
        ("enable-fault-injection = maybe", "f.conf:2: enable-fault-injection must be yes or no"),
        ("redis = sentinel://", "f.conf:2: redis must be unix:/path, host:port or sentinel://"),
        ("just words", "f.conf:2: expected key = value"),
        ("orders-to = postgresql://shop:pw@db/orders", "f.conf:2: orders-to is not usable: a password in the URL"),
        ("orders-table = Orders", "f.conf:2: orders-table must be lower case letters"),
    ])
    func aBadLineIsRefusedWithItsNumber(line: String, message: String) {
        var c = DaemonConfig()
        do {
            try c.apply(configFile: "f.conf", text: "socket = /x\n" + line)
            Issue.record("accepted: \(line)")
        } catch {
            // The file is at fault: flashd exits with EX_CONFIG (78) for it.
            #expect("\(error)".hasPrefix(message) && error.inConfigFile, "\(error)")
        }
    }

    @Test func everyFileKeyIsSettableAndAReloadNamesWhatNeedsARestart() throws {
        // Each key takes some valid value: none is listed without a setter.
        let samples = ["socket": "/s", "redis": "127.0.0.1:1", "redis-prefix": "p:", "redis-connections": "3",
                       "redis-wait-replicas": "1", "redis-wait-timeout-ms": "50", "state-dir": "/d", "node-id": "n",
                       "check-delay": "1", "enable-fault-injection": "yes", "sqlite-sync": "normal", "log-level": "debug",
                       "max-body-bytes": "2048", "allow-evicting-redis": "yes", "metrics-listen": "127.0.0.1:1",
                       "admin-group": "g", "max-connections": "9", "max-inflight": "9", "request-timeout": "2", "idle-timeout": "3",
                       "redis-user": "u", "redis-password-file": "/p", "socket-mode": "0600", "socket-group": "g",
                       "orders-to": "postgresql://u@/d?host=/run/postgresql", "orders-to-password-file": "/p", "orders-table": "s.t"]
        #expect(Set(samples.keys) == DaemonConfig.fileKeys)
        let base = DaemonConfig()
        for (key, value) in samples {
            var c = base
            try c.set(key, value)
            let restart = c.restartOnlyDifferences(from: base)
            // log-level and check-delay apply at once; every other key at the next start.
            let live = ["log-level", "check-delay"].contains(key)
            #expect(restart == (live ? [] : [key]), "\(key): \(restart)")
        }
    }

    @Test func flagsComeFromTheTableAndWinOverTheFile() throws {
        let dir = try TempDir.make(prefix: "cf")
        let file = dir + "/flashd.conf"
        try "socket = /from-file\ncheck-delay = 9\nnode-id = filed\n".write(toFile: file, atomically: true, encoding: .utf8)
        let c = try DaemonConfig.resolve(configFile: file, flags: [
            "--socket", "/from-flag", "--check-delay=0.25", "--allow-evicting-redis", "--log-level", "debug",
            "--enable-fault-injection=no", "--metrics-listen", "off",
        ], environment: ["STATE_DIRECTORY": "/var/lib/a:/var/lib/b"])
        #expect(c.socketPath == "/from-flag" && c.checkDelay == .milliseconds(250) && c.nodeID == "filed")
        #expect(c.allowEvictingRedis && !c.faultInjection && c.logLevel == Logger.Level.debug && c.metricsListen == nil)
        #expect(c.stateDir == "/var/lib/a" && c.configFile == file)
    }

    @Test(arguments: [
        (["--colour", "blue"], ConfigError.Code.unknownKey, "unknown option '--colour'"),
        (["stray"], .unknownKey, "unexpected argument 'stray'"),
        (["--socket"], .missingValue, "missing value for '--socket <path>'"),
        (["--redis-prefix", "--socket", "/x"], .missingValue, "missing value for '--redis-prefix <prefix>'"),
        (["--check-delay", "0"], .badValue, "check-delay must be seconds in (0, 3600]"),
        (["--allow-evicting-redis=perhaps"], .badValue, "allow-evicting-redis must be yes or no"),
        (["--sqlite-sync", "fast"], .badValue, "sqlite-sync must be full or normal"),
    ])
    func aBadFlagIsRefusedWithItsCode(flags: [String], code: ConfigError.Code, message: String) {
        do {
            _ = try DaemonConfig.resolve(configFile: "/dev/null", flags: flags, environment: [:])
            Issue.record("accepted: \(flags)")
        } catch {
            // A flag is at fault: a usage error (64), not the config file's.
            #expect(error.code == code && error.message == message && !error.inConfigFile, "\(error)")
        }
    }

    @Test func durationsReadAndShowAsSeconds() throws {
        var c = DaemonConfig()
        try c.set("request-timeout", "1.5")
        try c.set("idle-timeout", "86400")
        #expect(c.requestTimeout == .milliseconds(1500) && c.idleTimeout == .seconds(86400))
        #expect(Setting.named["request-timeout"]!.show(c) == "1.5" && Setting.named["idle-timeout"]!.show(c) == "86400")
        #expect(Setting.named["check-delay"]!.defaultText == "3")
    }

    @Test func aReloadReportsTheLiveSettingsItChanged() throws {
        var fresh = DaemonConfig()
        try fresh.set("log-level", "warning")
        try fresh.set("socket", "/elsewhere")
        #expect(fresh.liveDifferences(from: DaemonConfig()) == ["log-level": "warning"])
        #expect(fresh.restartOnlyDifferences(from: DaemonConfig()) == ["socket"])
    }

    @Test func helpListsEverySettingWithItsDefault() {
        let help = ManPage.helpText
        for s in Setting.all {
            #expect(help.contains(s.isSwitch ? "  \(s.flag)" : "  \(s.flag) <\(s.valueName ?? "")>"), "\(s.key) missing from --help")
        }
        let words = help.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(words.contains("(default: 127.0.0.1:6379)") && words.contains("(default: the host name)"))
        #expect(help.split(separator: "\n").dropFirst().allSatisfy { $0.count < 80 || !$0.contains(" ") })
    }

    /// packaging/man/flashd.1 is what the table writes today: a setting added or reworded
    /// without `make man` fails here, not in an operator's terminal.
    @Test func theShippedManPageIsTheTables() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let shipped = try String(contentsOf: root.appendingPathComponent("packaging/man/flashd.1"), encoding: .utf8)
        let dateLine = try #require(shipped.split(separator: "\n").first { $0.hasPrefix(".Dd ") })
        #expect(shipped == ManPage.render(date: String(dateLine.dropFirst(4))), "packaging/man/flashd.1 is stale: run make man")
        for s in Setting.all { #expect(shipped.contains(".It Fl -\(s.key)")) }
        let conf = try String(contentsOf: root.appendingPathComponent("packaging/man/flashd.conf.5"), encoding: .utf8)
        let confDate = try #require(conf.split(separator: "\n").first { $0.hasPrefix(".Dd ") })
        #expect(conf == ManPage.renderConf(date: String(confDate.dropFirst(4))), "packaging/man/flashd.conf.5 is stale: run make man")
        for s in Setting.all { #expect(conf.contains(".It Cm \(s.key) ")) }
        // flashsalectl(1) comes from its parser, with the sections the parser can't write added.
        let ctl = try String(contentsOf: root.appendingPathComponent("packaging/man/flashsalectl.1"), encoding: .utf8)
        let extra = try String(contentsOf: root.appendingPathComponent("packaging/man/flashsalectl-sections.mdoc"), encoding: .utf8)
        #expect(ctl.contains(extra), "packaging/man/flashsalectl.1 lacks its extra sections: run make man")
        for section in [".Sh ENVIRONMENT", ".Sh FILES", ".Sh EXAMPLES", ".Sh \"SEE ALSO\"", ".Sh \"EXIT STATUS\""] {
            #expect(ctl.contains(section) || ctl.contains(section.replacingOccurrences(of: "\"", with: "")), "\(section)")
        }
    }
}
