import ArgumentParser
import Control
import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

/// Options every command takes.
struct GlobalOptions: ParsableArguments {
    @Option(help: ArgumentHelp("flashd's socket (env FLASHD_SOCKET; default /run/flashd/flashd.sock). "
                               + "`audit` and `sale repair` take it once per node, for several nodes sharing one Redis; "
                               + "other commands use the last one given.", valueName: "path"), completion: Completions.socket)
    var socket: [String] = []

    @Flag(help: "Print the daemon's JSON answer instead of text, for scripts.")
    var json = false

    @Flag(help: "Print times in UTC (default: the local time zone, with its offset).")
    var utc = false

    var socketPath: String {
        socket.last ?? ProcessInfo.processInfo.environment["FLASHD_SOCKET"] ?? "/run/flashd/flashd.sock"
    }

    /// Every socket given, or the one `socketPath` names.
    var socketPaths: [String] { socket.isEmpty ? [socketPath] : socket }

    func client() -> ControlClient { ControlClient(socketPath: socketPath) }

    /// Runs a request; on an error, prints it (JSON on stdout with --json, a line on stderr
    /// otherwise) and exits with the matching code.
    func perform<T>(_ body: (ControlClient) throws -> T) throws -> T {
        let c = client()
        do {
            return try body(c)
        } catch let e as ControlError {
            throw fail(e)
        }
    }

    func fail(_ e: ControlError) -> ExitCode {
        if let api = e.apiError {
            if json {
                printJSON(api.body)
            } else {
                printError("flashsalectl: \(api.body.message) (\(api.body.error)\(api.body.gid.map { ", gid \($0)" } ?? ""))")
                if api.status == 503, let id = api.body.requestID {
                    // The purchase may have taken its unit: only the same request id is sure not to take a second.
                    printError("flashsalectl: retry with --request-id \(id): the same request id never buys twice")
                }
            }
            switch (api.status, api.body.code) {
            case (_, .soldOut): return ExitCode(Exit.soldOut)
            case (_, .limitReached): return ExitCode(Exit.limitReached)
            case (_, .rolledBack), (_, .saleReset), (_, .faultInjected), (_, .notOpen), (_, .closed), (_, .paused),
                 (_, .released), (_, .confirmed), (_, .final):
                return ExitCode(Exit.refused)
            case (503, _): return ExitCode(Exit.unavailable)
            default: return ExitCode(Exit.failure)
            }
        }
        if json {
            printJSON(API.ErrorBody(error: e.code == .daemonNotRunning ? "daemon_not_running" : "client_error", message: e.message))
        } else {
            printError("flashsalectl: \(e.message)")
        }
        // Unreachable, or the connection broke mid-request (flashd died or restarted): both are
        // worth a retry with the same request id, which scripts tell apart from a refusal.
        return ExitCode(e.code == .daemonNotRunning || e.code == .io ? Exit.unavailable : Exit.failure)
    }

    func printJSON<T: Encodable>(_ value: T) { Self.printJSONLine(value) }

    /// One JSON object on a line of stdout, keys sorted.
    static func printJSONLine<T: Encodable>(_ value: T) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        if let data = try? encoder.encode(value) { print(String(decoding: data, as: UTF8.self)) }
    }
}

func printError(_ line: String) {
    // write(2) on fd 2 rather than fputs(stderr): the C global isn't concurrency-safe in Swift 6.
    let bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}
