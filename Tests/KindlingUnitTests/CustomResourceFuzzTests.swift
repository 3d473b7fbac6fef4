import Foundation
import KindlingAPI
import KindlingServer
import KindlingStore
import Testing

/// Custom objects against random structural schemas (a property-based fuzzer, seeded and bounded): an object
/// made to fit its schema passes it, defaulting and pruning settle in one pass, and through the handler a
/// mutated object is created or refused with a 4xx, never a crash or a 5xx, and a refusal stores nothing.
@Suite struct CustomResourceFuzzTests {
    typealias Random = APIFuzzTests.Random

    /// A random schema node, at most `depth` objects deep.
    static func schema(_ random: inout Random, depth: Int) -> [String: Any] {
        switch random.next(depth > 0 ? 8 : 5) {
        case 0:
            var node: [String: Any] = ["type": "string"]
            switch random.next(4) {
            case 0: node["enum"] = ["red", "green", "blue"]
            case 1: node["minLength"] = 2; node["maxLength"] = 6
            case 2: node["pattern"] = "^[a-z]+$"
            default: break
            }
            if random.next(3) == 0 { node["default"] = (node["enum"] as? [String])?.first ?? "abc" }
            return node
        case 1:
            var node: [String: Any] = ["type": "integer", "minimum": -5, "maximum": 50]
            if random.next(2) == 0 { node["default"] = 7 }
            return node
        case 2: return ["type": "number", "minimum": 0, "maximum": 1, "exclusiveMaximum": true]
        case 3: return ["type": "boolean"]
        case 4: return ["x-kubernetes-int-or-string": true]
        case 5: return ["type": "array", "maxItems": 3, "items": schema(&random, depth: depth - 1)]
        case 6: return ["type": "object", "additionalProperties": schema(&random, depth: depth - 1)]
        default:
            var properties: [String: Any] = [:]
            for index in 0..<(1 + random.next(4)) { properties["f\(index)"] = schema(&random, depth: depth - 1) }
            var node: [String: Any] = ["type": "object", "properties": properties]
            if random.next(2) == 0 { node["required"] = ["f0"] }
            if random.next(5) == 0 { node["x-kubernetes-preserve-unknown-fields"] = true }
            return node
        }
    }

    /// A value that fits `node`.
    static func value(fitting node: [String: Any], _ random: inout Random) -> Any {
        if node["x-kubernetes-int-or-string"] as? Bool == true { return random.next(2) == 0 ? 8080 as Any : "http" }
        switch node["type"] as? String {
        case "string":
            if let choices = node["enum"] as? [String] { return choices[random.next(choices.count)] }
            return ["abc", "kind", "xy"][random.next(3)]
        case "integer": return random.next(56) - 5
        case "number": return Double(random.next(100)) / 100
        case "boolean": return random.next(2) == 0
        case "array":
            let items = node["items"] as? [String: Any] ?? [:]
            return (0..<random.next(4)).map { _ in value(fitting: items, &random) }
        default:
            if let extra = node["additionalProperties"] as? [String: Any] {
                return Dictionary(uniqueKeysWithValues: (0..<random.next(3)).map { ("k\($0)", value(fitting: extra, &random)) })
            }
            var object: [String: Any] = [:]
            let required = Set(node["required"] as? [String] ?? [])
            for (key, child) in node["properties"] as? [String: Any] ?? [:] where required.contains(key) || random.next(2) == 0 {
                object[key] = value(fitting: child as? [String: Any] ?? [:], &random)
            }
            return object
        }
    }

    static func rules(_ spec: [String: Any]) throws -> CustomResourceSchema {
        let root: [String: Any] = ["type": "object", "properties": ["spec": spec]]
        return CustomResourceSchema(try KubeJSON.decoder.decode(JSONValue.self, from: try JSONSerialization.data(withJSONObject: root)))
    }

    @Test func objectsThatFitTheirSchemaPassAndSettle() throws {
        var random = Random(state: 17)
        for round in 0..<300 {
            var spec = Self.schema(&random, depth: 3)
            if spec["type"] as? String != "object" || spec["properties"] == nil { spec = ["type": "object", "properties": ["f0": spec]] }
            let rules = try Self.rules(spec)
            #expect(rules.structuralErrors(path: "spec.versions[0].schema.openAPIV3Schema").isEmpty, "round \(round)")
            let object: [String: Any] = ["apiVersion": "fuzz.example.com/v1", "kind": "Fuzz", "metadata": ["name": "x"],
                                         "spec": Self.value(fitting: spec, &random)]
            let settled = rules.defaultAndPrune(object)
            #expect(rules.errors(in: settled).isEmpty, "round \(round): \(rules.errors(in: settled)) for \(object)")
            let again = rules.defaultAndPrune(settled)
            #expect(NSDictionary(dictionary: again).isEqual(to: settled), "round \(round): defaulting and pruning settle in one pass")
        }
    }

    @Test func mutatedObjectsAreCreatedOrRefusedNeverBroken() async throws {
        let registry = Registry(store: try Store(path: nil))
        _ = try registry.create(Namespace(name: "dev"))
        let handler = APIHandler(registry: registry)
        var random = Random(state: 2026)
        var created = 0, refused = 0
        for round in 0..<20 {
            let spec = ["type": "object", "properties": ["f0": Self.schema(&random, depth: 3), "f1": Self.schema(&random, depth: 2)]] as [String: Any]
            let plural = "fuzz\(round)s"
            let served = ServedKind(group: "fuzz.example.com", version: "v1", kind: "Fuzz\(round)", resource: plural, namespaced: true)
            try registry.kinds.add(CustomKind(served, rules: try Self.rules(spec)))
            for attempt in 0..<40 {
                var object: [String: Any] = ["apiVersion": "fuzz.example.com/v1", "kind": "Fuzz\(round)",
                                             "metadata": ["name": "o\(attempt)"], "spec": Self.value(fitting: spec, &random)]
                if attempt % 4 != 0 { object = APIFuzzTests.mutate(object, &random) as? [String: Any] ?? object }
                let body = try JSONSerialization.data(withJSONObject: object)
                let path = "/apis/fuzz.example.com/v1/namespaces/dev/\(plural)"
                let before = registry.store.currentRevision
                let response = await handler.handle(APIRequest(method: "POST", path: path, body: body, contentType: "application/json"))
                guard case .json(let status, let data, _, _) = response else {
                    Issue.record("round \(round).\(attempt): not a JSON answer")
                    continue
                }
                #expect((200..<300).contains(status) || (400..<500).contains(status), "round \(round).\(attempt): \(status) \(String(decoding: data, as: UTF8.self))")
                if status == 201 {
                    created += 1
                } else {
                    refused += 1
                    #expect(registry.store.currentRevision == before, "round \(round).\(attempt): a refused create stored something")
                }
            }
        }
        #expect(created > 100 && refused > 100, "both outcomes were exercised: \(created) created, \(refused) refused")
    }
}
