import ArgumentParser
import Control

@main
enum Entry {
    static func main() {
        let args = hoistGlobalOptions(Array(CommandLine.arguments.dropFirst()))
        do {
            var command = try FlashSaleCtl.parseAsRoot(args)
            try command.run()
        } catch {
            // A script that asked for JSON gets JSON for a usage error too (exit 64), not an
            // empty stdout and prose on stderr.
            let code = FlashSaleCtl.exitCode(for: error)
            if args.contains("--json"), code.rawValue == 64 {
                let message = FlashSaleCtl.message(for: error).split(separator: "\n").first.map(String.init) ?? "usage error"
                GlobalOptions.printJSONLine(API.ErrorBody(error: "usage", message: message))
                printError("flashsalectl: \(message)")
                FlashSaleCtl.exit(withError: ExitCode(64))
            }
            FlashSaleCtl.exit(withError: error)
        }
    }

    /// `flashsalectl --socket S --json [--utc] buy ...` is the documented form, but the parser wants each
    /// command's options after the command: move leading global options to the end.
    static func hoistGlobalOptions(_ args: [String]) -> [String] {
        var globals: [String] = []
        var i = 0
        while i < args.count {
            let a = args[i]
            if a == "--json" || a == "--utc" {
                globals.append(a)
                i += 1
            } else if a == "--socket", i + 1 < args.count {
                globals += [a, args[i + 1]]
                i += 2
            } else if a.hasPrefix("--socket=") {
                globals.append(a)
                i += 1
            } else {
                break
            }
        }
        let rest = Array(args[i...])
        // Help and version stay where the parser expects them.
        if rest.isEmpty || globals.isEmpty { return globals + rest }
        return rest + globals
    }
}

struct FlashSaleCtl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flashsalectl",
        abstract: "Run and inspect a flash sale served by flashd.",
        discussion: Exit.help,
        version: API.version,
        subcommands: [SaleCommand.self, BuyCommand.self, StatusCommand.self, OrdersCommand.self, TxnsCommand.self,
                      AuditCommand.self, SimulateCommand.self, BenchCommand.self, DebugCommand.self])
}
