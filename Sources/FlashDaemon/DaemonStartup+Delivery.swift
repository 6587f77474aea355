import FlashCore
import FlashDelivery
import FoundationEssentials
import Logging
import NIOCore

/// Delivery of orders to the shop's PostgreSQL (`--orders-to`), set up before READY: a URL that
/// can't work, a password PostgreSQL refuses or a missing right stops the start with the
/// reason. A PostgreSQL that is down does not: purchases go on and delivery catches up.
extension DaemonStartup {
    /// The credential name a unit drop-in passes with `LoadCredential=orders-to-password:PATH`.
    static let ordersPasswordCredential = "orders-to-password"

    func deliverer(journal: any Journal, eventLoop: any EventLoop,
                   environment: [String: String] = ProcessInfo.processInfo.environment) async throws -> OrderDeliverer? {
        guard !config.ordersTo.isEmpty else { return nil }
        let password = try secretPath(config.ordersToPasswordFile, credential: Self.ordersPasswordCredential, environment: environment)
            .map { try readSecret($0, what: "PostgreSQL") }
        let target: PostgresTarget
        do {
            target = try PostgresTarget(url: config.ordersTo, password: password, table: config.ordersTable)
        } catch let e as DeliveryError {
            // Never the URL itself: it may hold the password this refuses.
            throw DaemonError("--orders-to: \(e.message)")
        }
        let sink = PostgresOrderSink(target, eventLoop: eventLoop, logger: logger)
        do {
            try await sink.prepare()
            logger.notice("delivering orders", metadata: ["target": "\(target.display)"])
        } catch let e as DeliveryError where e.code == .refused || e.code == .badTarget {
            await sink.close()
            throw DaemonError("--orders-to \(target.display): \(e.message)")
        } catch {
            logger.warning("PostgreSQL can't be reached now; orders wait in the journal and are delivered once it can",
                           metadata: ["target": "\(target.display)", "error": "\(error)"])
        }
        return OrderDeliverer(outbox: journal, sink: sink, logger: logger, wallClockMs: { Self.wallClockMs() })
    }
}
