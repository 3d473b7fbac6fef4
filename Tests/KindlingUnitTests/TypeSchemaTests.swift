import Foundation
import KindlingAPI
import KindlingMachinery
@testable import KindlingServer
import KindlingStore
import Testing

/// Built-in kinds' OpenAPI schemas, read from kindling's types: the fields kept, their JSON types, and what
/// `kubectl explain` needs to find them (the kind's group-version-kind, metadata by reference).
@Suite struct TypeSchemaTests {
    static var metadata: [String: Any] { ["$ref": "#/components/schemas/meta"] }

    func at(_ schema: [String: Any], _ path: String...) -> [String: Any]? {
        var node: [String: Any]? = schema
        for step in path {
            switch step {
            case "[]": node = node?["items"] as? [String: Any]
            case "{}": node = node?["additionalProperties"] as? [String: Any]
            default: node = (node?["properties"] as? [String: Any])?[step] as? [String: Any]
            }
        }
        return node
    }

    @Test func aPodsSchemaIsItsFields() throws {
        let pod = TypeSchema.of(Pod.self, metadataSchema: Self.metadata)
        #expect(at(pod, "metadata")?["$ref"] as? String == "#/components/schemas/meta")
        #expect(at(pod, "spec", "containers")?["type"] as? String == "array")
        #expect(at(pod, "spec", "containers", "[]", "name")?["type"] as? String == "string")
        #expect(at(pod, "spec", "containers", "[]", "ports", "[]", "containerPort")?["format"] as? String == "int64")
        #expect(at(pod, "spec", "containers", "[]", "stdin")?["type"] as? String == "boolean")
        #expect(at(pod, "spec", "containers", "[]", "resources", "limits", "{}")?["x-kubernetes-int-or-string"] as? Bool == true)
        #expect(at(pod, "spec", "nodeSelector", "{}")?["type"] as? String == "string")
        #expect(at(pod, "status", "phase")?["type"] as? String == "string")
        #expect(at(pod, "spec", "tolerations", "[]", "tolerationSeconds")?["format"] as? String == "int64")
        #expect(at(pod, "spec", "hostNetwork") == nil, "a field kindling drops is not shown")
        let deployment = TypeSchema.of(Deployment.self, metadataSchema: Self.metadata)
        #expect(at(deployment, "spec", "template", "metadata")?["$ref"] != nil, "a pod template's metadata refers to ObjectMeta too")
        #expect(at(deployment, "spec", "strategy", "rollingUpdate", "maxSurge")?["x-kubernetes-int-or-string"] as? Bool == true)
        let crd = TypeSchema.of(CustomResourceDefinition.self, metadataSchema: Self.metadata)
        #expect(at(crd, "spec", "versions", "[]", "name")?["type"] as? String == "string")
        #expect(try JSONSerialization.data(withJSONObject: crd).count > 100, "a recursive schema type ends")
    }

    @Test func everyBuiltinKindIsInItsGroupVersionsDocument() async throws {
        let handler = APIHandler(registry: Registry(store: try Store(path: nil)))
        for groupVersion in KindTable.builtin.groupVersions {
            let path = groupVersion.contains("/") ? "/openapi/v3/apis/\(groupVersion)" : "/openapi/v3/api/\(groupVersion)"
            guard case .json(200, let data, _, _) = await handler.handle(APIRequest(method: "GET", path: path)) else {
                Issue.record("no document at \(path)")
                continue
            }
            let document = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            let schemas = try #require((document["components"] as? [String: Any])?["schemas"] as? [String: Any])
            for served in KindTable.builtin.served(groupVersion: groupVersion) {
                let found = schemas.values.compactMap { $0 as? [String: Any] }.first { schema in
                    (schema["x-kubernetes-group-version-kind"] as? [[String: String]])?.first?["kind"] == served.kind
                }
                #expect(found?["description"] != nil && (found?["properties"] as? [String: Any])?["metadata"] != nil, "\(served.kind)")
            }
        }
        let core = try #require(OpenAPI.documents(KindTable.builtin)["api/v1"])
        let schemas = (try JSONSerialization.jsonObject(with: core) as? [String: Any])?["components"] as? [String: Any]
        #expect((schemas?["schemas"] as? [String: Any])?["io.k8s.api.core.v1.Pod"] != nil)
    }

    /// `/openapi/v2`: Swagger 2.0 with no definitions, as gnostic's protobuf for client-go and as JSON otherwise.
    @Test func version2IsAnEmptySwaggerDocument() async throws {
        let handler = APIHandler(registry: Registry(store: try Store(path: nil)))
        let accept = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
        guard case .json(200, let proto, _, let type) = await handler.handle(APIRequest(method: "GET", path: "/openapi/v2", accept: accept)) else {
            Issue.record("no v2 document")
            return
        }
        #expect(type.contains("protobuf") && Array(proto.prefix(5)) == [0x0a, 3] + Array("2.0".utf8) && Array(proto.suffix(2)) == [0x42, 0])
        guard case .json(200, let json, _, _) = await handler.handle(APIRequest(method: "GET", path: "/openapi/v2")) else { return }
        let document = try JSONSerialization.jsonObject(with: json) as? [String: Any]
        #expect(document?["swagger"] as? String == "2.0" && document?["definitions"] == nil)
    }
}
