import Foundation
import KindlingAPI
@testable import KindlingPrinters
@testable import KindlingServer
import KindlingStore
import Testing

/// What a definition declares beyond its schema, served through the handler: printer columns, the scale
/// subresource, versions sharing their objects, deletion that waits for objects' finalizers, API approval.
@Suite struct CustomResourceServingTests {
    static let crd = """
        {"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition","metadata":{"name":"widgets.example.com"},
         "spec":{"group":"example.com","scope":"Namespaced","names":{"plural":"widgets","singular":"widget","kind":"Widget"},
          "versions":[
           {"name":"v1beta1","served":true,"storage":false,"schema":{"openAPIV3Schema":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}},
           {"name":"v1","served":true,"storage":true,
            "subresources":{"status":{},"scale":{"specReplicasPath":".spec.replicas","statusReplicasPath":".status.replicas","labelSelectorPath":".status.selector"}},
            "additionalPrinterColumns":[
              {"name":"Replicas","type":"integer","jsonPath":".spec.replicas"},
              {"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\\"Ready\\")].status"},
              {"name":"Paused","type":"boolean","jsonPath":".spec.paused","priority":1},
              {"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}],
            "schema":{"openAPIV3Schema":{"type":"object","properties":{
              "spec":{"type":"object","properties":{"replicas":{"type":"integer","maximum":5},"paused":{"type":"boolean"}}},
              "status":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}}}]}}
        """
    static let widgets = "/apis/example.com/v1/namespaces/dev/widgets"
    static let widget = #"{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w"},"spec":{"replicas":2}}"#

    let base = try! CustomResourceDefinitionTests()

    func call(_ method: String, _ path: String, _ body: String = "", query: [String: String] = [:],
              contentType: String = "application/json", accept: String? = nil) async -> (Int, [String: Any]) {
        let request = APIRequest(method: method, path: path, query: query, body: Data(body.utf8), contentType: contentType, accept: accept)
        guard case .json(let status, let data, _, _) = await base.handler.handle(request) else { return (0, [:]) }
        return (status, (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:])
    }

    @Test func printerColumnsMakeTheTable() async throws {
        try await base.define(Self.crd)
        _ = await call("POST", Self.widgets, Self.widget)
        _ = await call("PUT", Self.widgets + "/w/status", #"""
            {"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w"},"status":{"conditions":[{"type":"Ready","status":"True"}]}}
            """#)
        let (status, table) = await call("GET", Self.widgets, accept: "application/json;as=Table;v=v1;g=meta.k8s.io")
        #expect(status == 200)
        let columns = (table["columnDefinitions"] as? [[String: Any]] ?? []).map { "\($0["name"]!):\($0["type"]!):\($0["priority"]!)" }
        #expect(columns == ["Name:string:0", "Replicas:integer:0", "Ready:string:0", "Paused:boolean:1", "Age:date:0"])
        let cells = (table["rows"] as? [[String: Any]])?.first?["cells"] as? [Any] ?? []
        #expect(cells.count == 5)
        #expect(cells.prefix(3).map { "\($0)" } == ["w", "2", "True"] && cells[3] is NSNull, "\(cells)")
        #expect((cells[4] as? String)?.hasSuffix("s") == true, "an age: \(cells)")
    }

    @Test func theOpenAPIDocumentCarriesTheSchema() async throws {
        try await base.define(Self.crd)
        let (status, document) = await call("GET", "/openapi/v3/apis/example.com/v1")
        #expect(status == 200)
        let schemas = (document["components"] as? [String: Any])?["schemas"] as? [String: Any] ?? [:]
        #expect(schemas.keys.sorted() == ["com.example.v1.Widget", "com.example.v1.WidgetList", OpenAPI.listMetaName, OpenAPI.objectMetaName])
        let widget = schemas["com.example.v1.Widget"] as? [String: Any] ?? [:]
        #expect(widget["x-kubernetes-group-version-kind"] as? [[String: String]] == [["group": "example.com", "version": "v1", "kind": "Widget"]])
        let properties = widget["properties"] as? [String: Any] ?? [:]
        #expect(properties.keys.sorted() == ["apiVersion", "kind", "metadata", "spec", "status"])
        #expect(((properties["spec"] as? [String: Any])?["properties"] as? [String: Any])?.keys.sorted() == ["paused", "replicas"])
        let (_, older) = await call("GET", "/openapi/v3/apis/example.com/v1beta1")
        #expect(((older["components"] as? [String: Any])?["schemas"] as? [String: Any])?["com.example.v1beta1.Widget"] != nil)
    }

    @Test func aDefinitionWithoutColumnsShowsAge() throws {
        let version = CustomResourceDefinition.Version(name: "v1")
        #expect(CustomResourceDefinition.columns(version).map(\.name) == ["Age"])
        let table = Printing.declaredTable([UnstructuredObject(metadata: ObjectMeta(name: "x"), content: ["spec": .object(["size": .double(2.5)])])],
                                           columns: [.init(name: "Size", type: "number", jsonPath: ".spec.size"),
                                                     .init(name: "AsText", type: "string", jsonPath: ".spec"),
                                                     .init(name: "Bad", type: "date", jsonPath: ".spec.size")],
                                           resourceVersion: "1", now: 100, parseTime: { _ in nil })
        #expect(table.rows.first?.cells == [.string("x"), .double(2.5), .string(#"{"size":2.5}"#), .null])
    }

    @Test func scaleReadsAndWritesTheDeclaredPaths() async throws {
        try await base.define(Self.crd)
        _ = await call("POST", Self.widgets, Self.widget)
        _ = await call("PUT", Self.widgets + "/w/status", #"""
            {"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w"},"status":{"replicas":1,"selector":"app=w"}}
            """#)
        let (read, scale) = await call("GET", Self.widgets + "/w/scale")
        #expect(read == 200 && scale["kind"] as? String == "Scale")
        #expect((scale["spec"] as? [String: Any])?["replicas"] as? Int == 2)
        #expect((scale["status"] as? NSDictionary) == ["replicas": 1, "selector": "app=w"] as NSDictionary)
        let (patched, _) = await call("PATCH", Self.widgets + "/w/scale", #"{"spec":{"replicas":4}}"#, contentType: "application/merge-patch+json")
        #expect(patched == 200)
        let (_, object) = await call("GET", Self.widgets + "/w")
        #expect((object["spec"] as? [String: Any])?["replicas"] as? Int == 4)
        let (refused, status) = await call("PATCH", Self.widgets + "/w/scale", #"{"spec":{"replicas":6}}"#, contentType: "application/merge-patch+json")
        #expect(refused == 422 && (status["message"] as? String)?.contains("spec.replicas in body should be less than or equal to 5") == true,
                "the object's schema holds: \(status)")
        #expect(await call("GET", "/apis/example.com/v1beta1/namespaces/dev/widgets/w/scale").0 == 404, "v1beta1 serves no scale")
    }

    @Test func versionsShareObjectsAndEachReadsAsItself() async throws {
        try await base.define(Self.crd)
        let (made, _) = await call("POST", "/apis/example.com/v1beta1/namespaces/dev/widgets",
                                   #"{"apiVersion":"example.com/v1beta1","kind":"Widget","metadata":{"name":"old"},"spec":{"replicas":1,"extra":"kept"}}"#)
        #expect(made == 201)
        let (_, v1) = await call("GET", Self.widgets + "/old")
        #expect(v1["apiVersion"] as? String == "example.com/v1")
        #expect((v1["spec"] as? NSDictionary) == ["replicas": 1] as NSDictionary, "v1's schema prunes what v1beta1 kept")
        let (_, list) = await call("GET", "/apis/example.com/v1beta1/namespaces/dev/widgets")
        #expect(((list["items"] as? [[String: Any]])?.first?["apiVersion"] as? String) == "example.com/v1beta1")
    }

    @Test func aDeletedDefinitionWaitsForItsObjectsAndTakesNoNewOnes() async throws {
        try await base.define(Self.crd)
        let held = Self.widget.replacingOccurrences(of: #""name":"w""#, with: #""name":"w","finalizers":["example.com/hold"]"#)
        #expect(await call("POST", Self.widgets, held).0 == 201)
        #expect(await call("DELETE", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com").0 == 200)
        try base.controller.sync(base.registry)
        let crd = try base.registry.get(CustomResourceDefinition.self, name: "widgets.example.com")
        #expect(crd.status?.conditions?["Terminating"]?.reason == "InstanceDeletionInProgress")
        let (refused, status) = await call("POST", Self.widgets, Self.widget.replacingOccurrences(of: #""name":"w""#, with: #""name":"v""#))
        #expect(refused == 405 && status["message"] as? String == "create not allowed while custom resource definition is terminating")
        let (_, object) = await call("GET", Self.widgets + "/w")
        #expect((object["metadata"] as? [String: Any])?["deletionTimestamp"] != nil, "still served, and being deleted")
        #expect(await call("PATCH", Self.widgets + "/w", #"{"metadata":{"finalizers":null}}"#, contentType: "application/merge-patch+json").0 == 200)
        try base.controller.sync(base.registry)
        #expect(throws: Status.self) { try base.registry.get(CustomResourceDefinition.self, name: "widgets.example.com") }
        #expect(await call("GET", Self.widgets).0 == 404)
    }

    @Test(arguments: [
        ("", #"metadata.annotations[api-approved.kubernetes.io]: Required value: protected groups must have approval annotation "api-approved.kubernetes.io", see https://github.com/kubernetes/enhancements/pull/1111"#),
        ("nope", #"metadata.annotations[api-approved.kubernetes.io]: Invalid value: "nope": protected groups must have approval annotation "api-approved.kubernetes.io" with either a URL or a reason starting with "unapproved", see https://github.com/kubernetes/enhancements/pull/1111"#),
        ("unapproved, testing", nil),
        ("https://github.com/kubernetes/enhancements/pull/1111", nil),
    ] as [(String, String?)])
    func protectedGroupsNeedApproval(annotation: String, refusal: String?) async throws {
        var body = Self.crd.replacingOccurrences(of: "example.com", with: "sample.k8s.io")
        if !annotation.isEmpty {
            body = body.replacingOccurrences(of: #""metadata":{"name""#, with: #""metadata":{"annotations":{"api-approved.kubernetes.io":"\#(annotation)"},"name""#)
        }
        let (status, answer) = await call("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", body)
        if let refusal {
            #expect(status == 422 && (answer["message"] as? String)?.hasSuffix(refusal) == true, "\(answer)")
            return
        }
        #expect(status == 201, "\(answer)")
        try base.controller.sync(base.registry)
        let crd = try base.registry.get(CustomResourceDefinition.self, name: "widgets.sample.k8s.io")
        let condition = crd.status?.conditions?["KubernetesAPIApprovalPolicyConformant"]
        #expect(condition?.status == (annotation.hasPrefix("https") ? "True" : "False"))
        #expect(condition?.reason == (annotation.hasPrefix("https") ? "ApprovedAnnotation" : "UnapprovedAnnotation"))
    }
}
