import ArgumentParser
import Control

/// Fault injection for tests of the service around flashd (flashd --enable-fault-injection).
struct DebugCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "debug", abstract: "Fault injection for tests (needs flashd --enable-fault-injection).",
        subcommands: [Wedge.self])

    struct Wedge: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Hang flashd's journal, so its health check fails and systemd's watchdog restarts it.")
        @OptionGroup var global: GlobalOptions

        func run() throws {
            struct Answer: Codable { var wedged: Bool }
            let answer: Answer = try global.perform { try $0.call("POST", "/v1/debug/wedge") }
            if global.json { return global.printJSON(answer) }
            print("flashd's journal is wedged: purchases will hang until the watchdog restarts flashd")
        }
    }
}
