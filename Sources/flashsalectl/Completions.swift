import ArgumentParser
import Control
import FoundationEssentials

/// What the shells complete for values (bash, zsh and fish scripts from
/// `flashsalectl --generate-completion-script`). Item names come from the running daemon, so a
/// tab after `flashsalectl buy` offers the sales it has; everything else is a fixed list.
enum Completions {
    /// The daemon's sales: the socket the command line names (`--socket`, the last one), or
    /// FLASHD_SOCKET, or the default. Nothing when no daemon answers within a second: a tab
    /// must never hang the shell.
    static let items = CompletionKind.custom { words, _, prefix in
        var socket = ProcessInfo.processInfo.environment["FLASHD_SOCKET"] ?? "/run/flashd/flashd.sock"
        for (i, word) in words.enumerated() {
            if word == "--socket", i + 1 < words.count { socket = words[i + 1] }
            if word.hasPrefix("--socket=") { socket = String(word.dropFirst("--socket=".count)) }
        }
        guard let sales: API.Sales = try? ControlClient(socketPath: socket, timeoutSeconds: 1).call("GET", "/v1/sales") else {
            return []
        }
        return sales.sales.map(\.item).filter { $0.hasPrefix(prefix) }.sorted()
    }

    static let transactionStates = CompletionKind.list(["prepared", "succeeded", "failed"])
    static let holdStates = CompletionKind.list(["held", "confirming", "releasing", "confirmed", "released"])
    static let faultPoints = CompletionKind.list(["after-journal", "after-stock", "before-order"])
    static let faultModes = CompletionKind.list(["abandon", "exit"])
    static let holdFaultPoints = CompletionKind.list(["after-intent", "after-decision"])
    /// A socket is a file to the shell.
    static let socket = CompletionKind.file()
}
