import Foundation
import KindlingAPI
import Testing

/// kubectl's JSONPath dialect over one object, case by case as client-go's jsonpath tests read it.
@Suite struct JSONPathTests {
    static let object: JSONValue = try! KubeJSON.decoder.decode(JSONValue.self, from: Data("""
        {"metadata":{"name":"web","labels":{"app.kubernetes.io/name":"web","tier":"front"}},
         "spec":{"replicas":3,"ratio":1.5,"whole":2.0,"paused":false,"ports":[{"name":"http","port":80},{"name":"https","port":443}]},
         "status":{"conditions":[{"type":"Ready","status":"True"},{"type":"Synced","status":"False","count":2}]}}
        """.utf8))

    @Test(arguments: [
        (".metadata.name", ["web"]),
        ("{.metadata.name}", ["web"]),
        (".spec.replicas", ["3"]),
        (".spec.ratio", ["1.5"]),
        (".spec.whole", ["2"]),
        (".spec.paused", ["false"]),
        (".metadata.labels['app.kubernetes.io/name']", ["web"]),
        (".metadata.labels[\"tier\"]", ["front"]),
        (".spec.ports[0].port", ["80"]),
        (".spec.ports[-1].name", ["https"]),
        (".spec.ports[*].port", ["80", "443"]),
        (".spec.ports[0:1].name", ["http"]),
        (".spec.ports[1:].name", ["https"]),
        (".status.conditions[?(@.type==\"Ready\")].status", ["True"]),
        (".status.conditions[?(@.type != 'Ready')].type", ["Synced"]),
        (".status.conditions[?(@.count > 1)].type", ["Synced"]),
        (".status.conditions[?(@.count)].type", ["Synced"]),
        ("..port", ["80", "443"]),
        (".metadata.labels.*", ["web", "front"]),
        (".spec.ports[0]", ["{\"name\":\"http\",\"port\":80}"]),
        (".spec.missing", []),
        (".spec.ports[7].port", []),
        (".metadata.name.deeper", []),
    ])
    func pathsFindWhatKubectlFinds(path: String, expected: [String]) throws {
        let results = try JSONPath(path).results(in: Self.object).compactMap(JSONPath.text)
        #expect(results == expected)
    }

    @Test(arguments: [".spec.ports[x]", ".spec.ports[0", ".status.conditions[?(@.type ~ 'x')]", ".status.conditions[?(@.type == 'x]"])
    func malformedPathsAreRefused(path: String) {
        #expect(throws: JSONPath.ParseError.self) { try JSONPath(path) }
    }
}
