import ArgumentParser
import Control
import FlashDaemon
import Foundation

/// The command line. Only --config is declared to ArgumentParser: every setting comes from
/// `Setting.all` (FlashDaemon), which also writes the settings part of --help and flashd(1).
@main
struct FlashdCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flashd",
        abstract: ManPage.abstract,
        usage: "flashd [--config <file>] [--<setting> <value> ...]",
        discussion: ManPage.helpText,
        version: API.version)

    @Option(help: ArgumentHelp(ManPage.configHelp, valueName: "file"))
    var config: String?

    @Argument(parsing: .allUnrecognized, help: .hidden)
    var settings: [String] = []

    /// `make man`: the pages, written from the settings table.
    @Option(help: .hidden)
    var printManPage: String?
    @Option(help: .hidden)
    var printConfManPage: String?
    /// The .deb's completion scripts (bash, zsh or fish), written from the settings table.
    @Option(help: .hidden)
    var printCompletion: String?
    /// The .deb's copy of the API's OpenAPI document.
    @Flag(help: .hidden)
    var printOpenapi = false

    mutating func run() async throws {
        if let date = printManPage {
            print(ManPage.render(date: date), terminator: "")
            return
        }
        if let date = printConfManPage {
            print(ManPage.renderConf(date: date), terminator: "")
            return
        }
        if printOpenapi {
            print(OpenAPI.document, terminator: "")
            return
        }
        if let shell = printCompletion {
            guard let script = ShellCompletion.render(shell: shell) else { throw ValidationError("no completion for \(shell): bash, zsh or fish") }
            print(script, terminator: "")
            return
        }
        let (configFile, flags) = (config, settings)
        let resolved: DaemonConfig
        do {
            resolved = try DaemonConfig.resolve(configFile: configFile, flags: flags)
        } catch where error.inConfigFile {
            // EX_CONFIG, as sysexits.h has it for "configuration error".
            FileHandle.standardError.write(Data("Error: \(error.message)\n".utf8))
            throw ExitCode(78)
        } catch {
            throw ValidationError(error.message)
        }
        try await Daemon(config: resolved, reload: { () throws(ConfigError) in try DaemonConfig.resolve(configFile: configFile, flags: flags) })
            .run()
    }
}
