import Testing
@testable import flashd

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
        #expect(c.redisWaitReplicas == 1 && c.checkDelaySeconds == 2.5 && c.faultInjection && c.sqliteSync == "normal")
        #expect(c.metricsListen == "[::1]:9464" && DaemonConfig.hostPort("[::1]:9464")! == ("::1", 9464))
    }

    @Test(arguments: [
        ("colour = blue", "f.conf:2: unknown key colour"),
        ("redis-connections = 0", "f.conf:2: redis-connections must be an integer in 1...64"),
        ("check-delay = -1", "f.conf:2: check-delay must be seconds in (0, 3600]"),
        ("enable-fault-injection = maybe", "f.conf:2: enable-fault-injection must be yes or no"),
        ("redis = sentinel://", "f.conf:2: redis must be unix:/path, host:port or sentinel://"),
        ("just words", "f.conf:2: expected key = value"),
    ])
    func aBadLineIsRefusedWithItsNumber(line: String, message: String) {
        var c = DaemonConfig()
        do {
            try c.apply(configFile: "f.conf", text: "socket = /x\n" + line)
            Issue.record("accepted: \(line)")
        } catch {
            #expect("\(error)".hasPrefix(message), "\(error)")
        }
    }

    @Test func everyFileKeyIsSettableAndAReloadNamesWhatNeedsARestart() throws {
        // Each key takes some valid value: none is listed without a setter.
        let samples = ["socket": "/s", "redis": "127.0.0.1:1", "redis-prefix": "p:", "redis-connections": "3",
                       "redis-wait-replicas": "1", "redis-wait-timeout-ms": "50", "state-dir": "/d", "node-id": "n",
                       "check-delay": "1", "enable-fault-injection": "yes", "sqlite-sync": "normal", "log-level": "debug",
                       "max-body-bytes": "2048", "allow-evicting-redis": "yes", "metrics-listen": "127.0.0.1:1",
                       "admin-group": "g", "max-connections": "9", "max-inflight": "9", "request-timeout": "2", "idle-timeout": "3"]
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
}
