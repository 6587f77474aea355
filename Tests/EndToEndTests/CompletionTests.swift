import Foundation
import Testing
import TestSupport

/// The shell completions the .deb ships, run in a real bash the way bash runs them
/// (COMP_WORDS, COMP_CWORD, COMP_LINE, COMP_POINT, then the completion function): flashd's
/// settings and their values, and flashsalectl's values, item names from the running daemon.
@Suite(.serialized) struct CompletionTests {
    /// What bash offers for `words` (the last one is the word being completed, maybe empty). As
    /// bash calls it: the command, the word and the one before it as arguments.
    func complete(_ script: String, _ function: String, _ words: [String], environment: [String: String]? = nil) throws -> [String] {
        let dir = try TempDir.make(prefix: "cpl")
        let path = dir + "/script.bash"
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        func quoted(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }
        let line = words.joined(separator: " ")
        let driver = """
            source \(quoted(path))
            COMP_WORDS=(\(words.map(quoted).joined(separator: " ")))
            COMP_CWORD=\(words.count - 1)
            COMP_LINE=\(quoted(line))
            COMP_POINT=\(line.utf8.count)
            \(function) "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
            printf '%s\\n' "${COMPREPLY[@]}"
            """
        let r = try Shell.runStatus(try Executables.find("bash"), ["-c", driver], environment: environment)
        #expect(r.status == 0, "\(r.stderr)")
        return r.stdout.split(separator: "\n").map(String.init)
    }

    @Test func flashdCompletesItsSettingsAndTheirValues() throws {
        let script = try Shell.run(FlashdProcess.binDir + "/flashd", ["--print-completion", "bash"])
        let flashd = FlashdProcess.binDir + "/flashd"
        #expect(try complete(script, "_flashd", [flashd, "--log-le"]) == ["--log-level"])
        #expect(try complete(script, "_flashd", [flashd, "--log-level", "w"]) == ["warning"])
        #expect(try complete(script, "_flashd", [flashd, "--sqlite-sync", ""]).sorted() == ["full", "normal"])
        #expect(try complete(script, "_flashd", [flashd, "--node-id", ""]).isEmpty, "a free value: no flags offered")
        let every = try complete(script, "_flashd", [flashd, "--"])
        #expect(every.contains("--orders-to") && every.contains("--config") && every.contains("--enable-fault-injection"))
        // --state-dir: directories only; --config: files.
        let dir = try TempDir.make(prefix: "cpd")
        try FileManager.default.createDirectory(atPath: dir + "/state", withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: dir + "/site.conf", contents: Data())
        #expect(try complete(script, "_flashd", [flashd, "--state-dir", dir + "/"]) == [dir + "/state"])
        #expect(try complete(script, "_flashd", [flashd, "--config", dir + "/si"]) == [dir + "/site.conf"])
        // The other shells' scripts name every setting too.
        for shell in ["zsh", "fish"] {
            let other = try Shell.run(FlashdProcess.binDir + "/flashd", ["--print-completion", shell])
            #expect(other.contains("orders-to") && other.contains("trace debug info"), "\(shell)")
        }
    }

    @Test func flashsalectlCompletesItemsFromTheDaemonAndFixedValues() throws {
        let redis = try RedisServer()
        let flashd = try FlashdProcess(redis: redis)
        try flashd.createSale("sku", stock: 5)
        try flashd.createSale("gift@shop", stock: 5)
        let ctl = FlashdProcess.binDir + "/flashsalectl"
        let script = try Shell.run(ctl, ["--generate-completion-script", "bash"])
        #expect(try complete(script, "_flashsalectl", [ctl, "buy", "--socket", flashd.socketPath, ""]).sorted() == ["gift@shop", "sku"])
        #expect(try complete(script, "_flashsalectl", [ctl, "sale", "show", "--socket", flashd.socketPath, "g"]) == ["gift@shop"])
        #expect(try complete(script, "_flashsalectl", [ctl, "orders", "list", "--socket", flashd.socketPath, "--item", "s"]) == ["sku"])
        // FLASHD_SOCKET, as the shell's environment has it.
        var environment = ProcessInfo.processInfo.environment
        environment["FLASHD_SOCKET"] = flashd.socketPath
        #expect(try complete(script, "_flashsalectl", [ctl, "sale", "pause", "s"], environment: environment) == ["sku"])
        #expect(try complete(script, "_flashsalectl", [ctl, "txns", "--state", "s"]) == ["succeeded"])
        #expect(try complete(script, "_flashsalectl", [ctl, "orders", "list", "--state", "con"]).sorted() == ["confirmed", "confirming"])
        #expect(try complete(script, "_flashsalectl", [ctl, "buy", "--crash-after", "after-"]).sorted() == ["after-journal", "after-stock"])
        // No daemon there: nothing offered, and at once (a tab must not hang the shell).
        let started = Date()
        #expect(try complete(script, "_flashsalectl", [ctl, "buy", "--socket", flashd.dir + "/none.sock", ""]).isEmpty)
        #expect(Date().timeIntervalSince(started) < 5)
    }
}
