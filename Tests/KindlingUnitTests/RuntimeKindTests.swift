import Foundation
import KindlingAPI
import KindlingServer
import KindlingStore
import Testing

/// A kind added while the server runs goes through the same registry and handler code as a built-in one:
/// routing, discovery, OpenAPI, every write, Tables, watches, deletion with finalizers.
@Suite struct RuntimeKindTests {
    static let crontab = ServedKind(group: "stable.example.com", version: "v1", kind: "CronTab", resource: "crontabs", namespaced: true,
                                    shortNames: ["ct"], subresources: [Self.status])
    static let status = ServedKind.Subresource("status", responseKind: GroupVersionKind(group: "stable.example.com", version: "v1", kind: "CronTab"),
                                               verbs: ["get", "patch", "update"])
    static let base = "/apis/stable.example.com/v1/namespaces/dev/crontabs"
    static let object = #"{"apiVersion":"stable.example.com/v1","kind":"CronTab","metadata":{"name":"nightly"},"spec":{"cronSpec":"0 3 * * *","replicas":2,"nested":{"list":[1,"two",true,null]}}}"#

    let registry: Registry
    let handler: APIHandler

    init() throws {
        registry = Registry(store: try Store(path: nil))
        _ = try registry.create(Namespace(name: "dev"))
        handler = APIHandler(registry: registry)
    }

    func call(_ method: String, _ path: String, _ body: String = "", query: [String: String] = [:], contentType: String = "application/json",
              accept: String? = nil) async -> (Int, [String: Any]) {
        let request = APIRequest(method: method, path: path, query: query, body: Data(body.utf8), contentType: contentType, accept: accept)
        guard case .json(let status, let data, _, _) = await handler.handle(request) else { return (0, [:]) }
        return (status, (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:])
    }

    static func spec(_ object: [String: Any]) -> [String: Any] { object["spec"] as? [String: Any] ?? [:] }

    @Test func notServedUntilAdded() async throws {
        #expect(await call("GET", Self.base).0 == 404)
        #expect(await call("GET", "/apis/stable.example.com/v1").0 == 404)
        try registry.kinds.add(CustomKind(Self.crontab))
        #expect(await call("GET", Self.base).0 == 200)
        registry.kinds.remove(groupVersion: "stable.example.com/v1", resource: "crontabs")
        #expect(await call("GET", Self.base).0 == 404)
        registry.kinds.remove(groupVersion: "v1", resource: "pods")
        #expect(await call("GET", "/api/v1/namespaces/dev/pods").0 == 200, "built-in kinds stay")
    }

    @Test func aKindOrPathServedTwiceIsRefused() throws {
        try registry.kinds.add(CustomKind(Self.crontab))
        #expect(throws: KindTable.Conflict.self) { try registry.kinds.add(CustomKind(Self.crontab)) }
        var renamed = Self.crontab
        renamed.resource = "crontabz"
        #expect(throws: KindTable.Conflict.self) { try registry.kinds.add(CustomKind(renamed)) }
        var pods = Self.crontab
        (pods.group, pods.resource, pods.kind) = ("", "pods", "Other")
        #expect(throws: KindTable.Conflict.self) { try registry.kinds.add(CustomKind(pods)) }
    }

    @Test func writesKeepEveryFieldAndTheBookkeeping() async throws {
        try registry.kinds.add(CustomKind(Self.crontab))
        let (created, object) = await call("POST", Self.base, Self.object)
        #expect(created == 201)
        let meta = try #require(object["metadata"] as? [String: Any])
        #expect(meta["namespace"] as? String == "dev" && meta["uid"] != nil && meta["generation"] as? Int == 1)
        #expect((Self.spec(object)["nested"] as? [String: Any])?["list"] as? NSArray == [1, "two", true, NSNull()] as NSArray)
        #expect(await call("POST", Self.base, Self.object).0 == 409)

        let (got, read) = await call("GET", Self.base + "/nightly")
        #expect(got == 200 && Self.spec(read)["cronSpec"] as? String == "0 3 * * *")
        let (_, list) = await call("GET", Self.base)
        #expect(list["kind"] as? String == "CronTabList" && list["apiVersion"] as? String == "stable.example.com/v1")
        #expect((list["items"] as? [Any])?.count == 1)
        let (_, everywhere) = await call("GET", "/apis/stable.example.com/v1/crontabs")
        #expect((everywhere["items"] as? [Any])?.count == 1)

        let (merged, patched) = await call("PATCH", Self.base + "/nightly", #"{"spec":{"replicas":3}}"#, contentType: "application/merge-patch+json")
        #expect(merged == 200 && Self.spec(patched)["replicas"] as? Int == 3 && Self.spec(patched)["cronSpec"] != nil)
        #expect((patched["metadata"] as? [String: Any])?["generation"] as? Int == 2)
        let (jsonPatched, afterJSON) = await call("PATCH", Self.base + "/nightly", #"[{"op":"replace","path":"/spec/replicas","value":4}]"#,
                                                 contentType: "application/json-patch+json")
        #expect(jsonPatched == 200 && Self.spec(afterJSON)["replicas"] as? Int == 4)
        // Kubernetes has no merge strategies for fields it does not know: a strategic merge patch is refused.
        let (strategic, refusal) = await call("PATCH", Self.base + "/nightly", #"{"spec":{"replicas":5}}"#,
                                              contentType: "application/strategic-merge-patch+json")
        #expect(strategic == 415 && (refusal["message"] as? String)?.contains("strategic") == false)

        let apply = #"{"apiVersion":"stable.example.com/v1","kind":"CronTab","metadata":{"name":"weekly"},"spec":{"cronSpec":"0 0 * * 0"}}"#
        let (applied, made) = await call("PATCH", Self.base + "/weekly", apply, query: ["fieldManager": "kubectl"], contentType: "application/apply-patch+yaml")
        #expect(applied == 200 && Self.spec(made)["cronSpec"] as? String == "0 0 * * 0")
        #expect(((made["metadata"] as? [String: Any])?["managedFields"] as? [[String: Any]])?.first?["manager"] as? String == "kubectl")
    }

    /// With a status subresource, writes to the object keep its status and writes to `status` keep the rest.
    @Test func statusIsWrittenApart() async throws {
        try registry.kinds.add(CustomKind(Self.crontab))
        _ = await call("POST", Self.base, Self.object)
        let (_, current) = await call("GET", Self.base + "/nightly")
        var withStatus = current
        withStatus["status"] = ["lastRun": "yesterday"]
        let body = String(decoding: try JSONSerialization.data(withJSONObject: withStatus), as: UTF8.self)
        let (put, main) = await call("PUT", Self.base + "/nightly", body)
        #expect(put == 200 && main["status"] == nil)
        var statusWrite = main
        statusWrite["status"] = ["lastRun": "yesterday"]
        statusWrite["spec"] = ["cronSpec": "changed"]
        let statusBody = String(decoding: try JSONSerialization.data(withJSONObject: statusWrite), as: UTF8.self)
        let (putStatus, written) = await call("PUT", Self.base + "/nightly/status", statusBody)
        #expect(putStatus == 200 && (written["status"] as? [String: Any])?["lastRun"] as? String == "yesterday")
        #expect(Self.spec(written)["cronSpec"] as? String == "0 3 * * *")
    }

    @Test func deletionWaitsForFinalizers() async throws {
        try registry.kinds.add(CustomKind(Self.crontab))
        let held = #"{"apiVersion":"stable.example.com/v1","kind":"CronTab","metadata":{"name":"held","finalizers":["example.com/keep"]}}"#
        #expect(await call("POST", Self.base, held).0 == 201)
        let (deleted, marked) = await call("DELETE", Self.base + "/held")
        #expect(deleted == 200 && (marked["metadata"] as? [String: Any])?["deletionTimestamp"] != nil)
        let (released, _) = await call("PATCH", Self.base + "/held", #"{"metadata":{"finalizers":null}}"#, contentType: "application/merge-patch+json")
        #expect(released == 200)
        #expect(await call("GET", Self.base + "/held").0 == 404)
    }

    @Test func tablesAndWatches() async throws {
        try registry.kinds.add(CustomKind(Self.crontab))
        _ = await call("POST", Self.base, Self.object)
        let (_, table) = await call("GET", Self.base, accept: "application/json;as=Table;v=v1;g=meta.k8s.io")
        #expect((table["columnDefinitions"] as? [[String: Any]])?.compactMap { $0["name"] as? String } == ["Name", "Age"])
        #expect(((table["rows"] as? [[String: Any]])?.first?["cells"] as? [Any])?.first as? String == "nightly")

        let response = await handler.handle(APIRequest(method: "GET", path: Self.base, query: ["watch": "true", "resourceVersion": "0"]))
        guard case .stream(let lines, _) = response else { Issue.record("not a stream"); return }
        var iterator = lines.makeAsyncIterator()
        let first = try #require(await iterator.next())
        let event = try #require(try JSONSerialization.jsonObject(with: first) as? [String: Any])
        #expect(event["type"] as? String == "ADDED")
        #expect((event["object"] as? [String: Any])?["kind"] as? String == "CronTab")
    }

    @Test func discoveryAndOpenAPIFollowTheTable() async throws {
        func openAPIPaths() async throws -> Set<String> {
            guard case .json(_, let index, _, _) = await handler.handle(APIRequest(method: "GET", path: "/openapi/v3")) else { return [] }
            return Set(((try JSONSerialization.jsonObject(with: index) as? [String: Any])?["paths"] as? [String: Any] ?? [:]).keys)
        }
        #expect(try await !openAPIPaths().contains("apis/stable.example.com/v1"))
        try registry.kinds.add(CustomKind(Self.crontab))
        #expect(try await openAPIPaths().contains("apis/stable.example.com/v1"))

        let (_, groups) = await call("GET", "/apis")
        let group = try #require((groups["groups"] as? [[String: Any]])?.first { $0["name"] as? String == "stable.example.com" })
        #expect((group["preferredVersion"] as? [String: Any])?["groupVersion"] as? String == "stable.example.com/v1")
        let (_, resources) = await call("GET", "/apis/stable.example.com/v1")
        #expect((resources["resources"] as? [[String: Any]])?.compactMap { $0["name"] as? String } == ["crontabs", "crontabs/status"])
        let (_, aggregated) = await call("GET", "/apis", accept: "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList")
        let item = try #require((aggregated["items"] as? [[String: Any]])?.first { ($0["metadata"] as? [String: Any])?["name"] as? String == "stable.example.com" })
        let listed = try #require((item["versions"] as? [[String: Any]])?.first?["resources"] as? [[String: Any]])
        #expect(listed.first?["shortNames"] as? [String] == ["ct"])
    }

    /// A group serving several versions lists the preferred one first, in Kubernetes' order.
    @Test func versionsInKubernetesOrder() {
        let versions = ["v1alpha1", "v2beta1", "v1", "v10", "v2", "v1beta2", "v1beta1", "foo", "v2alpha1", "bar"]
        #expect(versions.sorted(by: ServedKind.versionPrecedes) == ["v10", "v2", "v1", "v2beta1", "v1beta2", "v1beta1", "v2alpha1", "v1alpha1", "bar", "foo"])
    }

    @Test func unstructuredObjectsRoundTrip() throws {
        let decoded = try KubeJSON.decoder.decode(UnstructuredObject.self, from: Data(Self.object.utf8))
        #expect(decoded.metadata.name == "nightly" && decoded.kind == "CronTab")
        #expect(decoded.content["spec"] == .object(["cronSpec": .string("0 3 * * *"), "replicas": .int(2),
                                                   "nested": .object(["list": .array([.int(1), .string("two"), .bool(true), .null])])]))
        let again = try KubeJSON.decoder.decode(UnstructuredObject.self, from: KubeJSON.encoder.encode(decoded))
        #expect(again == decoded)
    }
}
