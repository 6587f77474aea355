import Control
import Foundation
import FlashCore
import Logging
import NIOHTTP1
import Testing
import TestSupport
@testable import FlashHTTP

/// The route table is the one list of the API's resources: every route answers its method,
/// and every other method on the same path gets 405 with exactly the table's methods in Allow.
@Suite struct RouteTableTests {
    @Test func everyResourceRefusesOtherMethodsWithTheTablesAllow() async throws {
        let coordinator = Coordinator(
            config: CoordinatorConfig(node: "rt"), stock: MemoryStockStore(), journal: MemoryJournal(),
            logger: Logger(label: "rt", factory: { _ in SwiftLogNoOpLogHandler() }), wallClockMs: { 0 }, fatalFault: { _ in })
        let info = Router.DaemonInfo(redisTarget: "memory", journalPath: "memory", faultInjection: false, metrics: { "" }, wedge: {})
        let router = Router(coordinator: coordinator, info: info, logger: Logger(label: "rt", factory: { _ in SwiftLogNoOpLogHandler() }))
        let byPath = Dictionary(grouping: Router.routes, by: \.path)
        #expect(byPath.values.allSatisfy { Set($0.map(\.method.rawValue)).count == $0.count }, "a method twice on one path")
        for (path, routes) in byPath {
            let uri = "/" + path.map { $0 == "*" ? "sku" : $0 }.joined(separator: "/")
            let allowed = routes.map(\.method.rawValue).joined(separator: ", ")
            for method in [HTTPMethod.GET, .POST, .PUT, .DELETE] where !routes.contains(where: { $0.method == method }) {
                let r = await router.handle(Request(method: method, uri: uri, body: [], peer: .remote))
                #expect(r.status == .methodNotAllowed, "\(method) \(uri)")
                #expect(r.headers.first { $0.0 == "Allow" }?.1 == allowed, "\(method) \(uri)")
            }
        }
        let unknown = await router.handle(Request(method: .GET, uri: "/v1/nothing", body: [], peer: .remote))
        #expect(unknown.status == .notFound)
    }

    /// The OpenAPI document names exactly the routes of the table, each with its method.
    @Test func theOpenAPIDocumentHasEveryRouteAndNoOther() throws {
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(OpenAPI.document.utf8)) as? [String: Any])
        let paths = try #require(doc["paths"] as? [String: [String: Any]])
        var documented: Set<String> = []
        for (template, operations) in paths {
            let path = template.split(separator: "/").map { $0.hasPrefix("{") ? "*" : String($0) }.joined(separator: "/")
            for method in operations.keys { documented.insert("\(method.uppercased()) /\(path)") }
        }
        let routed = Set(Router.routes.map { "\($0.method.rawValue) /\($0.path.joined(separator: "/"))" })
        #expect(routed.subtracting(documented).isEmpty, "routes the document lacks: \(routed.subtracting(documented).sorted())")
        #expect(documented.subtracting(routed).isEmpty, "documented but not routed: \(documented.subtracting(routed).sorted())")
    }
}
