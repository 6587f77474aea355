import Control
import Foundation
import Testing
import TestSupport

/// The OpenAPI document: served as built, and a checker that refuses what it must (the rest of
/// the end-to-end suites run every answer they get through it, `FlashdProcess.request`).
@Suite(.serialized) struct OpenAPITests {
    let contract = OpenAPIContract.shared

    func bytes(_ json: String) -> [UInt8] { Array(json.utf8) }

    @Test func flashdServesTheDocumentItWasBuiltWith() throws {
        let redis = try RedisServer()
        let flashd = try FlashdProcess(redis: redis)
        let r = try flashd.client().send("GET", "/v1/openapi.json")
        #expect(r.status == 200 && r.body == Array(OpenAPI.document.utf8))
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(r.body)) as? [String: Any])
        #expect(doc["openapi"] as? String == "3.1.0")
        #expect((doc["info"] as? [String: Any])?["version"] as? String == API.version)
        // The same file as the package ships.
        let shipped = try Shell.run(FlashdProcess.binDir + "/flashd", ["--print-openapi"])
        #expect(shipped == OpenAPI.document)
    }

    @Test func theCheckerRefusesWhatTheDocumentDoesNotAllow() {
        let sale = #"{"item":"sku","round":1,"limit_per_user":1,"stock_total":5,"stock_remaining":5,"stock_taken":0,"orders":0,"pending":0}"#
        #expect(contract.violations(method: "GET", path: "/v1/sales/sku", status: 200, body: bytes(sale)).isEmpty)
        let missing = contract.violations(method: "GET", path: "/v1/sales/sku", status: 200,
                                          body: bytes(sale.replacingOccurrences(of: #""stock_total":5,"#, with: "")))
        #expect(missing.contains { $0.contains("required property stock_total is missing") }, "\(missing)")
        let extra = contract.violations(method: "GET", path: "/v1/sales/sku?x=1", status: 200,
                                        body: bytes(sale.replacingOccurrences(of: "}", with: #","surprise":1}"#)))
        #expect(extra.contains { $0.contains("property surprise is not in the document") }, "\(extra)")
        let type = contract.violations(method: "GET", path: "/v1/sales/sku", status: 200,
                                       body: bytes(sale.replacingOccurrences(of: #""round":1"#, with: #""round":"1""#)))
        #expect(type.contains { $0.contains("is not of type integer") }, "\(type)")
        let state = contract.violations(method: "GET", path: "/v1/sales/sku", status: 200,
                                        body: bytes(sale.replacingOccurrences(of: "}", with: #","state":"soon"}"#)))
        #expect(state.contains { $0.contains("is not one of") }, "\(state)")
        // A boolean is not an integer, nor the other way round.
        let flag = contract.violations(method: "GET", path: "/v1/ping", status: 200, body: bytes(#"{"ok":1}"#))
        #expect(!flag.isEmpty)
        #expect(contract.violations(method: "GET", path: "/v1/ping", status: 200, body: bytes(#"{"ok":true}"#)).isEmpty)
        // Errors: any status the operation doesn't list is an Error; so is any answer of a path it lacks.
        let error = #"{"error":"sold_out","message":"sold out"}"#
        #expect(contract.violations(method: "POST", path: "/v1/purchases", status: 409, body: bytes(error)).isEmpty)
        #expect(!contract.violations(method: "POST", path: "/v1/purchases", status: 409, body: bytes(#"{"error":"nope","message":""}"#)).isEmpty)
        #expect(contract.violations(method: "GET", path: "/v1/nothing", status: 404, body: bytes(#"{"error":"not_found","message":"x"}"#)).isEmpty)
        #expect(!contract.violations(method: "GET", path: "/v1/nothing", status: 200, body: bytes("{}")).isEmpty)
        // /v1/orders answers a page of orders or, with after, of the feed: one of them, exactly.
        #expect(contract.violations(method: "GET", path: "/v1/orders", status: 200, body: bytes(#"{"orders":[]}"#)).isEmpty)
        #expect(contract.violations(method: "GET", path: "/v1/orders?after=0", status: 200, body: bytes(#"{"changes":[],"next":"0"}"#)).isEmpty)
        #expect(!contract.violations(method: "GET", path: "/v1/orders", status: 200, body: bytes(#"{"changes":[]}"#)).isEmpty)
    }
}
