import ArgumentParser
import Control

@main
struct FlashSaleCtl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flashsalectl",
        abstract: "Run and inspect a flash sale served by flashd.",
        discussion: Exit.help,
        version: API.version,
        subcommands: [SaleCommand.self, BuyCommand.self, StatusCommand.self, OrdersCommand.self, TxnsCommand.self,
                      AuditCommand.self, SimulateCommand.self])
}
