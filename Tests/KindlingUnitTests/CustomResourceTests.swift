import Foundation
import KindlingAPI
@testable import KindlingServer
import KindlingStore
import Testing

/// CustomResourceDefinitions: their validation in apiextensions' words, schemas (structure, defaults, pruning,
/// every value check), and the controller serving their kinds through the handler.
@Suite struct CustomResourceSchemaTests {
    static func schema(_ json: String) throws -> CustomResourceSchema {
        CustomResourceSchema(try KubeJSON.decoder.decode(JSONValue.self, from: Data(json.utf8)))
    }

    static func tree(_ json: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
    }

    static let crontab = """
        {"type":"object","properties":{"spec":{"type":"object","required":["cronSpec"],"properties":{
          "cronSpec":{"type":"string","pattern":"^(\\\\S+ ){4}\\\\S+$"},
          "image":{"type":"string","minLength":3,"maxLength":5},
          "replicas":{"type":"integer","minimum":1,"maximum":10,"default":1},
          "mode":{"type":"string","enum":["a","b"]},
          "port":{"x-kubernetes-int-or-string":true},
          "tags":{"type":"array","maxItems":2,"minItems":1,"items":{"type":"string"}},
          "labels":{"type":"object","additionalProperties":{"type":"string"}},
          "free":{"type":"object","x-kubernetes-preserve-unknown-fields":true},
          "ratio":{"type":"number","exclusiveMaximum":true,"maximum":1},
          "on":{"type":"boolean","nullable":true}}},
          "status":{"type":"object","properties":{"count":{"type":"integer"}}}}}
        """

    @Test(arguments: [
        (#"{"spec":{"cronSpec":"* * * * *","replicas":"three"}}"#, #"spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string""#),
        (#"{"spec":{}}"#, "spec.cronSpec: Required value"),
        (#"{"spec":{"cronSpec":"bad"}}"#, #"spec.cronSpec: Invalid value: "bad": spec.cronSpec in body should match '^(\S+ ){4}\S+$'"#),
        (#"{"spec":{"cronSpec":"* * * * *","replicas":11}}"#, "spec.replicas: Invalid value: 11: spec.replicas in body should be less than or equal to 10"),
        (#"{"spec":{"cronSpec":"* * * * *","replicas":0}}"#, "spec.replicas: Invalid value: 0: spec.replicas in body should be greater than or equal to 1"),
        (#"{"spec":{"cronSpec":"* * * * *","mode":"c"}}"#, #"spec.mode: Unsupported value: "c": supported values: "a", "b""#),
        (#"{"spec":{"cronSpec":"* * * * *","image":"toolong"}}"#, "spec.image: Too long: may not be more than 5 bytes"),
        (#"{"spec":{"cronSpec":"* * * * *","image":"ab"}}"#, #"spec.image: Invalid value: "ab": spec.image in body should be at least 3 chars long"#),
        (#"{"spec":{"cronSpec":"* * * * *","tags":["a","b","c"]}}"#, "spec.tags: Too many: 3: must have at most 2 items"),
        (#"{"spec":{"cronSpec":"* * * * *","tags":[]}}"#, "spec.tags: Invalid value: 0: spec.tags in body should have at least 1 items"),
        (#"{"spec":{"cronSpec":"* * * * *","tags":[1]}}"#, #"spec.tags[0]: Invalid value: "integer": spec.tags[0] in body must be of type string: "integer""#),
        (#"{"spec":{"cronSpec":"* * * * *","labels":{"a":true}}}"#, #"spec.labels.a: Invalid value: "boolean": spec.labels.a in body must be of type string: "boolean""#),
        (#"{"spec":{"cronSpec":"* * * * *","port":1.5}}"#, #"spec.port: Invalid value: "number": spec.port in body must be of type integer,string: "number""#),
        (#"{"spec":{"cronSpec":"* * * * *","ratio":1}}"#, "spec.ratio: Invalid value: 1: spec.ratio in body should be less than 1"),
        (#"{"spec":{"cronSpec":"* * * * *","replicas":null}}"#, #"spec.replicas: Invalid value: "null": spec.replicas in body must be of type integer: "null""#),
    ])
    func valuesAreCheckedInKubernetesWords(object: String, message: String) throws {
        let errors = try Self.schema(Self.crontab).errors(in: try Self.tree(object))
        #expect(errors.map(\.description) == [message])
    }

    @Test func validObjectsPass() throws {
        let object = #"{"apiVersion":"x/v1","kind":"K","metadata":{"name":"n"},"spec":{"cronSpec":"* * * * *","port":"http","on":null,"ratio":0.5,"free":{"any":[1]}}}"#
        #expect(try Self.schema(Self.crontab).errors(in: try Self.tree(object)).isEmpty)
        #expect(try Self.schema(Self.crontab).errors(in: try Self.tree(#"{"spec":{"cronSpec":"* * * * *","port":8080}}"#)).isEmpty)
    }

    /// Unknown fields go, except under x-kubernetes-preserve-unknown-fields; defaults fill what is absent.
    @Test func defaultsAndPruning() throws {
        let object = #"{"apiVersion":"x/v1","kind":"K","metadata":{"name":"n","labels":{"a":"b"}},"extra":1,"spec":{"cronSpec":"* * * * *","unknown":2,"free":{"kept":{"deep":true}},"labels":{"x":"y"}},"status":{"count":1,"gone":true}}"#
        let result = try Self.schema(Self.crontab).defaultAndPrune(try Self.tree(object))
        let expected = try Self.tree(#"{"apiVersion":"x/v1","kind":"K","metadata":{"name":"n","labels":{"a":"b"}},"spec":{"cronSpec":"* * * * *","replicas":1,"free":{"kept":{"deep":true}},"labels":{"x":"y"}},"status":{"count":1}}"#)
        #expect(NSDictionary(dictionary: result) == NSDictionary(dictionary: expected))
    }

    @Test(arguments: [
        (#"{"type":"string"}"#, "s.type: Invalid value: \"string\": must be object at the root"),
        (#"{"properties":{"a":{"type":"string"}}}"#, "s.type: Required value: must not be empty at the root"),
        (#"{"type":"object","properties":{"a":{}}}"#, "s.properties[a].type: Required value: must not be empty for specified object fields"),
        (#"{"type":"object","properties":{"a":{"type":"array"}}}"#, "s.properties[a].items: Required value: must be specified"),
        (#"{"type":"object","properties":{"a":{"type":"null"}}}"#, #"s.properties[a].type: Unsupported value: "null": supported values: "array", "boolean", "integer", "number", "object", "string""#),
        (##"{"type":"object","$ref":"#/x"}"##, "s.$ref: Forbidden: $ref is not supported"),
        (#"{"type":"object","x-kubernetes-preserve-unknown-fields":false}"#, "s.x-kubernetes-preserve-unknown-fields: Invalid value: \"false\": must be true or undefined"),
    ])
    func nonStructuralSchemasAreRefused(schema: String, message: String) throws {
        #expect(try Self.schema(schema).structuralErrors(path: "s").map(\.description) == [message])
    }
}

@Suite struct CustomResourceDefinitionTests {
    static let crd = """
        {"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition","metadata":{"name":"crontabs.stable.example.com"},
         "spec":{"group":"stable.example.com","scope":"Namespaced","names":{"plural":"crontabs","singular":"crontab","kind":"CronTab","shortNames":["ct"]},
          "versions":[{"name":"v1","served":true,"storage":true,"subresources":{"status":{}},
            "schema":{"openAPIV3Schema":{"type":"object","properties":{"spec":{"type":"object","properties":{
              "cronSpec":{"type":"string"},"replicas":{"type":"integer","default":1,"maximum":10}}},"status":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}}}]}}
        """
    static let base = "/apis/stable.example.com/v1/namespaces/dev/crontabs"

    let registry: Registry
    let handler: APIHandler
    let controller = CustomResourceController()

    init() throws {
        registry = Registry(store: try Store(path: nil))
        _ = try registry.create(Namespace(name: "dev"))
        handler = APIHandler(registry: registry)
    }

    func call(_ method: String, _ path: String, _ body: String = "", query: [String: String] = [:],
              contentType: String = "application/json") async -> (Int, [String: Any]) {
        let request = APIRequest(method: method, path: path, query: query, body: Data(body.utf8), contentType: contentType)
        guard case .json(let status, let data, _, _) = await handler.handle(request) else { return (0, [:]) }
        return (status, (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:])
    }

    func define(_ body: String = Self.crd) async throws {
        let (created, answer) = await call("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", body)
        try #require(created == 201, "\(answer)")
        try controller.sync(registry)
    }

    @Test func anEstablishedDefinitionServesItsKind() async throws {
        let (created, _) = await call("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", Self.crd)
        #expect(created == 201)
        #expect(await call("GET", Self.base).0 == 404, "not before it is established")
        try controller.sync(registry)
        let crd = try registry.get(CustomResourceDefinition.self, name: "crontabs.stable.example.com")
        #expect(crd.status?.conditions?["Established"]?.reason == "InitialNamesAccepted")
        #expect(crd.status?.conditions?["NamesAccepted"]?.message == "no conflicts found")
        #expect(crd.status?.storedVersions == ["v1"] && crd.spec.names.listKind == "CronTabList")

        let (made, object) = await call("POST", Self.base, #"{"apiVersion":"stable.example.com/v1","kind":"CronTab","metadata":{"name":"a"},"spec":{"cronSpec":"* * * * *","unknown":1}}"#)
        #expect(made == 201)
        #expect(object["spec"] as? NSDictionary == ["cronSpec": "* * * * *", "replicas": 1] as NSDictionary, "defaulted and pruned")
        let (refused, status) = await call("POST", Self.base, #"{"apiVersion":"stable.example.com/v1","kind":"CronTab","metadata":{"name":"b"},"spec":{"replicas":"x"}}"#)
        #expect(refused == 422)
        #expect(status["message"] as? String == #"CronTab.stable.example.com "b" is invalid: spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string""#)
        let (strict, strictStatus) = await call("POST", Self.base, #"{"apiVersion":"stable.example.com/v1","kind":"CronTab","metadata":{"name":"c"},"spec":{"nope":1}}"#,
                                               query: ["fieldValidation": "Strict"])
        #expect(strict == 400 && (strictStatus["message"] as? String)?.contains(#"unknown field "spec.nope""#) == true)

        // Deleting the definition deletes its objects, then the definition itself.
        let (deleted, marked) = await call("DELETE", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/crontabs.stable.example.com")
        #expect(deleted == 200 && ((marked["metadata"] as? [String: Any])?["finalizers"] as? [String]) == [CustomResourceDefinition.cleanupFinalizer])
        try controller.sync(registry)
        #expect(await call("GET", Self.base).0 == 404)
        #expect(throws: Status.self) { try registry.get(CustomResourceDefinition.self, name: "crontabs.stable.example.com") }
        #expect(registry.store.list("crontabs.stable.example.com", namespace: nil).0.isEmpty)
    }

    /// The controller's own status writes, and label changes, leave the served kinds in place: a request
    /// never finds them gone for a moment.
    @Test func writesThatChangeNoNamesLeaveTheKindServed() async throws {
        try await define()
        let revision = registry.kinds.snapshot.revision
        try registry.modify(CustomResourceDefinition.self, name: "crontabs.stable.example.com") { current in
            var next = current
            next.metadata.labels = ["team": "a"]
            return next
        }
        try controller.sync(registry)
        try controller.sync(registry)
        #expect(registry.kinds.snapshot.revision == revision)
        try registry.modify(CustomResourceDefinition.self, name: "crontabs.stable.example.com") { current in
            var next = current
            next.spec.names.shortNames = ["ct", "cron"]
            return next
        }
        try controller.sync(registry)
        #expect(registry.kinds.snapshot.entry(groupVersion: "stable.example.com/v1", resource: "crontabs")?.served.shortNames == ["ct", "cron"])
    }

    @Test func aSecondDefinitionWithTakenNamesIsNotAccepted() async throws {
        try await define()
        let twin = Self.crd.replacingOccurrences(of: "crontabs", with: "crontabz").replacingOccurrences(of: "\"singular\":\"crontab\"", with: "\"singular\":\"crontabz\"")
        try await define(twin)
        let crd = try registry.get(CustomResourceDefinition.self, name: "crontabz.stable.example.com")
        // Each taken name is checked in turn (plural, singular, short names, kind, list kind); the last one tells.
        #expect(crd.status?.conditions?["NamesAccepted"]?.reason == "ListKindConflict")
        #expect(crd.status?.conditions?["NamesAccepted"]?.message == "\"CronTabList\" is already in use")
        #expect(crd.status?.conditions?["Established"]?.status == "False")
        #expect(await call("GET", "/apis/stable.example.com/v1/namespaces/dev/crontabz").0 == 404)
    }

    @Test(arguments: [
        ("\"name\":\"crontabs.stable.example.com\"", "\"name\":\"other.stable.example.com\"", #"metadata.name: Invalid value: "other.stable.example.com": must be spec.names.plural+"."+spec.group"#),
        ("\"group\":\"stable.example.com\"", "\"group\":\"stable\"", #"spec.group: Invalid value: "stable": should be a domain with at least one dot"#),
        ("\"scope\":\"Namespaced\"", "\"scope\":\"Global\"", #"spec.scope: Unsupported value: "Global": supported values: "Cluster", "Namespaced""#),
        ("\"storage\":true", "\"storage\":false", #"spec.versions: Invalid value: ["v1"]: must have exactly one version marked as storage version"#),
        ("\"kind\":\"CronTab\"", "\"kind\":\"Cron_Tab\"", "spec.names.kind: Invalid value: \"Cron_Tab\": may have mixed case, but should otherwise match: a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"),
    ])
    func badDefinitionsAreRefusedInKubernetesWords(original: String, replacement: String, cause: String) async throws {
        let body = Self.crd.replacingOccurrences(of: original, with: replacement)
        let (status, answer) = await call("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", body)
        #expect(status == 422)
        #expect((answer["message"] as? String)?.contains(cause) == true, "\(answer["message"] ?? "")")
    }
}
