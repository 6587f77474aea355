import Control
import Foundation

/// Checks answers against flashd's OpenAPI document (`Control.OpenAPI`), with the part of JSON
/// Schema the document uses: `$ref` into its components, `type` (one or a list), `properties`,
/// `required`, `additionalProperties` (false or a schema), `items`, `minItems`/`maxItems`,
/// `enum`, `const`, `oneOf`, `minimum`/`maximum`. `FlashdProcess.request` runs every answer of
/// the end-to-end tests through it, so the document can't drift from what flashd answers.
public struct OpenAPIContract: Sendable {
    public static let shared = OpenAPIContract()

    /// The parsed document, as JSONSerialization gives it.
    private let document: [String: any Sendable]

    init() {
        let parsed = try? JSONSerialization.jsonObject(with: Data(OpenAPI.document.utf8))
        document = Self.sendable(parsed) as? [String: any Sendable] ?? [:]
    }

    /// Everything wrong with answering `method path` (query ignored) with `status` and `body`;
    /// empty when the answer is one the document allows. A path or method the document lacks
    /// may only be answered with an error, which must be an `Error`.
    public func violations(method: String, path: String, status: Int, body: [UInt8]) -> [String] {
        let route = String(path.split(separator: "?", maxSplits: 1).first ?? "")
        guard let operation = self.operation(method.lowercased(), route) else {
            guard status >= 400 else { return ["\(method) \(route) answered \(status) but the document has no such operation"] }
            return validate(body, against: ["$ref": "#/components/schemas/Error"], at: "\(method) \(route) \(status)")
        }
        let responses = operation["responses"] as? [String: any Sendable] ?? [:]
        guard var response = (responses[String(status)] ?? responses["default"]) as? [String: any Sendable] else {
            return ["\(method) \(route): status \(status) is not documented"]
        }
        // A shared response (the Error every operation answers by default) is a $ref into components.
        if let ref = response["$ref"] as? String, ref.hasPrefix("#/components/responses/") {
            let shared = (document["components"] as? [String: any Sendable])?["responses"] as? [String: any Sendable]
            guard let resolved = shared?[String(ref.dropFirst("#/components/responses/".count))] as? [String: any Sendable] else {
                return ["\(method) \(route): \(ref) is not in the document"]
            }
            response = resolved
        }
        let content = response["content"] as? [String: any Sendable] ?? [:]
        guard let json = content["application/json"] as? [String: any Sendable] else { return [] }
        guard let schema = json["schema"] else { return [] }
        return validate(body, against: schema, at: "\(method) \(route) \(status)")
    }

    private func validate(_ body: [UInt8], against schema: any Sendable, at place: String) -> [String] {
        guard let value = try? JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed]) else {
            return ["\(place): the body is not JSON: \(String(decoding: body.prefix(200), as: UTF8.self))"]
        }
        var problems: [String] = []
        check(Self.sendable(value), schema, "\(place) $", &problems)
        return problems
    }

    /// The operation for a concrete path: `/v1/sales/sku/restock` matches `/v1/sales/{item}/restock`.
    private func operation(_ method: String, _ route: String) -> [String: any Sendable]? {
        let segments = route.split(separator: "/", omittingEmptySubsequences: false)
        for (template, item) in document["paths"] as? [String: any Sendable] ?? [:] {
            let parts = template.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == segments.count,
                  zip(parts, segments).allSatisfy({ $0.hasPrefix("{") && !$1.isEmpty || $0 == $1 }) else { continue }
            return (item as? [String: any Sendable])?[method] as? [String: any Sendable]
        }
        return nil
    }

    private func resolve(_ schema: any Sendable) -> [String: any Sendable] {
        guard let s = schema as? [String: any Sendable] else { return [:] }
        guard let ref = s["$ref"] as? String, ref.hasPrefix("#/components/schemas/") else { return s }
        let name = String(ref.dropFirst("#/components/schemas/".count))
        let schemas = (document["components"] as? [String: any Sendable])?["schemas"] as? [String: any Sendable]
        return resolve(schemas?[name] ?? [String: any Sendable]())
    }

    private func check(_ value: any Sendable, _ raw: any Sendable, _ at: String, _ problems: inout [String]) {
        let schema = resolve(raw)
        if let options = schema["oneOf"] as? [any Sendable] {
            let matching = options.filter { option in
                var inner: [String] = []
                check(value, option, at, &inner)
                return inner.isEmpty
            }
            if matching.count != 1 { problems.append("\(at): matches \(matching.count) of oneOf's \(options.count) schemas") }
            return
        }
        if let constant = schema["const"], !Self.same(value, constant) {
            problems.append("\(at): \(value) is not \(constant)")
        }
        if let allowed = schema["enum"] as? [any Sendable], !allowed.contains(where: { Self.same(value, $0) }) {
            problems.append("\(at): \(value) is not one of \(allowed)")
        }
        if let type = schema["type"] {
            let types = (type as? [String]) ?? [type as? String ?? ""]
            guard types.contains(where: { Self.isOf($0, value) }) else {
                problems.append("\(at): \(value) is not of type \(types.joined(separator: " or "))")
                return
            }
        }
        if let n = value as? NSNumber, !Self.isBool(n) {
            if let min = schema["minimum"] as? NSNumber, n.doubleValue < min.doubleValue { problems.append("\(at): \(n) < \(min)") }
            if let max = schema["maximum"] as? NSNumber, n.doubleValue > max.doubleValue { problems.append("\(at): \(n) > \(max)") }
        }
        if let object = value as? [String: any Sendable] {
            let properties = schema["properties"] as? [String: any Sendable] ?? [:]
            for name in schema["required"] as? [String] ?? [] where object[name] == nil {
                problems.append("\(at): required property \(name) is missing")
            }
            for (name, v) in object {
                if let p = properties[name] {
                    check(v, p, "\(at).\(name)", &problems)
                } else if let extra = schema["additionalProperties"] {
                    if let allowed = extra as? Bool {
                        if !allowed { problems.append("\(at): property \(name) is not in the document") }
                    } else {
                        check(v, extra, "\(at).\(name)", &problems)
                    }
                }
            }
        }
        if let array = value as? [any Sendable] {
            if let min = schema["minItems"] as? Int, array.count < min { problems.append("\(at): fewer than \(min) items") }
            if let max = schema["maxItems"] as? Int, array.count > max { problems.append("\(at): more than \(max) items") }
            if let items = schema["items"] {
                for (i, v) in array.enumerated() { check(v, items, "\(at)[\(i)]", &problems) }
            }
        }
    }

    private static func isOf(_ type: String, _ value: any Sendable) -> Bool {
        switch type {
        case "object": return value is [String: any Sendable]
        case "array": return value is [any Sendable]
        case "string": return value is String
        case "boolean": return (value as? NSNumber).map(isBool) ?? false
        case "integer":
            guard let n = value as? NSNumber, !isBool(n) else { return false }
            return n.doubleValue.rounded() == n.doubleValue
        case "number": return (value as? NSNumber).map { !isBool($0) } ?? false
        case "null": return value is NSNull
        default: return false
        }
    }

    /// JSONSerialization's booleans are NSNumbers too, of C type `char` (its numbers never are).
    private static func isBool(_ n: NSNumber) -> Bool {
        String(cString: n.objCType) == "c"
    }

    private static func same(_ a: any Sendable, _ b: any Sendable) -> Bool {
        if let x = a as? String, let y = b as? String { return x == y }
        if let x = a as? NSNumber, let y = b as? NSNumber { return isBool(x) == isBool(y) && x == y }
        return false
    }

    /// JSONSerialization's tree, typed as Sendable values (its leaves are value types already).
    private static func sendable(_ value: Any?) -> any Sendable {
        switch value {
        case let d as [String: Any]: return d.mapValues { sendable($0) } as [String: any Sendable]
        case let a as [Any]: return a.map { sendable($0) } as [any Sendable]
        case let s as String: return s
        case let n as NSNumber: return n
        default: return NSNull()
        }
    }
}
