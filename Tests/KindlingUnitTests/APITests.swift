import Foundation
import KindlingAPI
import KindlingServer
import KindlingStore
import Testing

/// The API as HTTP clients see it, through the handler (no socket): paths, codes, Status bodies.
@Suite struct APITests {
    let handler: APIHandler

    init() throws {
        let registry = Registry(store: try Store(path: nil))
        for name in ["default", "dev"] { _ = try registry.create(Namespace(name: name)) }
        handler = APIHandler(registry: registry)
    }

    func call(_ method: String, _ path: String, _ body: String = "", query: [String: String] = [:],
              contentType: String = "application/json") async -> (Int, [String: Any]) {
        let (status, object, _) = await callWithWarnings(method, path, body, query: query, contentType: contentType)
        return (status, object)
    }

    /// `call`, with the warnings the answer carries.
    func callWithWarnings(_ method: String, _ path: String, _ body: String = "", query: [String: String] = [:],
                          contentType: String = "application/json") async -> (Int, [String: Any], [String]) {
        let response = await handler.handle(APIRequest(method: method, path: path, query: query, body: Data(body.utf8), contentType: contentType))
        guard case .json(let status, let data, let warnings, _) = response else { return (0, [:], []) }
        return (status, (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:], warnings)
    }

    static let replicaSet = """
        {"apiVersion":"apps/v1","kind":"ReplicaSet","metadata":{"name":"web","labels":{"app":"web"}},
         "spec":{"replicas":2,"selector":{"matchLabels":{"app":"web"}},
                 "template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"nginx","image":"nginx"}]}}}}
        """

    @Test func createGetListAndDefaults() async throws {
        let (created, object) = await call("POST", "/apis/apps/v1/namespaces/dev/replicasets", Self.replicaSet)
        #expect(created == 201)
        let meta = object["metadata"] as? [String: Any]
        #expect(meta?["namespace"] as? String == "dev")
        #expect(meta?["uid"] as? String != nil)
        #expect(meta?["resourceVersion"] as? String != nil)
        let template = ((object["spec"] as? [String: Any])?["template"] as? [String: Any])?["spec"] as? [String: Any]
        #expect(template?["restartPolicy"] as? String == "Always")

        let (status, got) = await call("GET", "/apis/apps/v1/namespaces/dev/replicasets/web")
        #expect(status == 200 && (got["kind"] as? String) == "ReplicaSet")
        let (_, list) = await call("GET", "/apis/apps/v1/replicasets", query: ["labelSelector": "app=web"])
        #expect((list["kind"] as? String) == "ReplicaSetList")
        #expect((list["items"] as? [Any])?.count == 1)
        let (_, none) = await call("GET", "/apis/apps/v1/replicasets", query: ["labelSelector": "app in (db)"])
        #expect((none["items"] as? [Any])?.count == 0)
        let (duplicate, conflict) = await call("POST", "/apis/apps/v1/namespaces/dev/replicasets", Self.replicaSet)
        #expect(duplicate == 409)
        #expect(conflict["message"] as? String == "replicasets.apps \"web\" already exists")
    }

    @Test func errorsAreStatusObjectsNamingTheField() async {
        let (missing, notFound) = await call("GET", "/api/v1/namespaces/dev/pods/nope")
        #expect(missing == 404)
        #expect(notFound["kind"] as? String == "Status")
        #expect(notFound["reason"] as? String == "NotFound")
        #expect(notFound["message"] as? String == "pods \"nope\" not found")

        let bad = Self.replicaSet.replacingOccurrences(of: "\"replicas\":2", with: "\"replicas\":-3")
        let (invalid, status) = await call("POST", "/apis/apps/v1/namespaces/dev/replicasets", bad)
        #expect(invalid == 422)
        #expect(status["message"] as? String == "ReplicaSet.apps \"web\" is invalid: spec.replicas: Invalid value: -3: must be greater than or equal to 0")
        let causes = (status["details"] as? [String: Any])?["causes"] as? [[String: Any]]
        #expect(causes?.first?["field"] as? String == "spec.replicas")

        let (noNamespace, nsStatus) = await call("POST", "/apis/apps/v1/namespaces/nowhere/replicasets", Self.replicaSet)
        #expect(noNamespace == 404 && nsStatus["message"] as? String == "namespaces \"nowhere\" not found")
        let (garbage, _) = await call("POST", "/api/v1/namespaces/dev/pods", "{not json")
        #expect(garbage == 400)
        let (wrongKind, _) = await call("POST", "/api/v1/namespaces/dev/pods", Self.replicaSet)
        #expect(wrongKind == 400)
        let (unknown, _) = await call("GET", "/api/v1/widgets")
        #expect(unknown == 404)
        let (selector, _) = await call("GET", "/api/v1/pods", query: ["labelSelector": "a in (b"])
        #expect(selector == 400)
        // Nothing half-written: the failed creates left no object.
        let (_, list) = await call("GET", "/apis/apps/v1/replicasets")
        #expect((list["items"] as? [Any])?.count == 0)
    }

    @Test func updatesUseOptimisticConcurrencyAndScaleWorks() async throws {
        let (_, created) = await call("POST", "/apis/apps/v1/namespaces/dev/replicasets", Self.replicaSet)
        let rv = (created["metadata"] as? [String: Any])?["resourceVersion"] as? String ?? ""
        let stale = Self.replicaSet.replacingOccurrences(of: "\"name\":\"web\",", with: "\"name\":\"web\",\"resourceVersion\":\"1\",")
        let (conflict, _) = await call("PUT", "/apis/apps/v1/namespaces/dev/replicasets/web", stale)
        #expect(conflict == 409)
        let current = Self.replicaSet.replacingOccurrences(of: "\"name\":\"web\",", with: "\"name\":\"web\",\"resourceVersion\":\"\(rv)\",")
            .replacingOccurrences(of: "\"replicas\":2", with: "\"replicas\":4")
        let (ok, updated) = await call("PUT", "/apis/apps/v1/namespaces/dev/replicasets/web", current)
        #expect(ok == 200)
        #expect((updated["metadata"] as? [String: Any])?["generation"] as? Int == 2)

        let (scaled, scale) = await call("PATCH", "/apis/apps/v1/namespaces/dev/replicasets/web/scale", "{\"spec\":{\"replicas\":7}}",
                                         contentType: "application/merge-patch+json")
        #expect(scaled == 200 && scale["kind"] as? String == "Scale")
        let (_, after) = await call("GET", "/apis/apps/v1/namespaces/dev/replicasets/web/scale")
        #expect((after["spec"] as? [String: Any])?["replicas"] as? Int == 7)
        #expect((after["status"] as? [String: Any])?["selector"] as? String == "app=web")

        let (patched, labelled) = await call("PATCH", "/apis/apps/v1/namespaces/dev/replicasets/web", "{\"metadata\":{\"labels\":{\"tier\":\"front\"}}}",
                                             contentType: "application/merge-patch+json")
        #expect(patched == 200)
        #expect(((labelled["metadata"] as? [String: Any])?["labels"] as? [String: String])?["tier"] == "front")
    }

    @Test func podsBoundToANodeDeleteGracefully() async throws {
        let pod = """
            {"apiVersion":"v1","kind":"Pod","metadata":{"generateName":"web-"},
             "spec":{"nodeName":"n1","containers":[{"name":"c","image":"busybox"}]}}
            """
        let (_, created) = await call("POST", "/api/v1/namespaces/dev/pods", pod)
        let name = (created["metadata"] as? [String: Any])?["name"] as? String ?? ""
        #expect(name.hasPrefix("web-") && name.count == 9)
        let (_, deleting) = await call("DELETE", "/api/v1/namespaces/dev/pods/\(name)")
        #expect((deleting["metadata"] as? [String: Any])?["deletionTimestamp"] != nil)
        let (stillThere, _) = await call("GET", "/api/v1/namespaces/dev/pods/\(name)")
        #expect(stillThere == 200)
        let (_, _) = await call("DELETE", "/api/v1/namespaces/dev/pods/\(name)", query: ["gracePeriodSeconds": "0"])
        let (gone, _) = await call("GET", "/api/v1/namespaces/dev/pods/\(name)")
        #expect(gone == 404)
    }

    @Test func watchStreamsEventsAsLines() async throws {
        let response = await handler.handle(APIRequest(method: "GET", path: "/api/v1/namespaces", query: ["watch": "1"]))
        guard case .stream(let lines, _) = response else { Issue.record("not a stream"); return }
        var iterator = lines.makeAsyncIterator()
        let first = try #require(await iterator.next())
        let event = try #require(try JSONSerialization.jsonObject(with: first) as? [String: Any])
        #expect(event["type"] as? String == "ADDED")
        #expect(first.last == UInt8(ascii: "\n"))
    }

    @Test func discovery() async {
        let (_, api) = await call("GET", "/api")
        #expect(api["versions"] as? [String] == ["v1"])
        let (_, apps) = await call("GET", "/apis/apps/v1")
        let names = (apps["resources"] as? [[String: Any]])?.compactMap { $0["name"] as? String } ?? []
        #expect(names.contains("deployments") && names.contains("replicasets/scale"))
    }
}

extension APITests {
    @Test func configMapsAreServedAndValidatedAsKubernetesDoes() async {
        let map = #"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"settings"},"data":{"game.properties":"lives=3","ui_theme":"dark"}}"#
        let (created, object) = await call("POST", "/api/v1/namespaces/dev/configmaps", map)
        #expect(created == 201 && (object["data"] as? [String: String])?["ui_theme"] == "dark")
        let bad = map.replacingOccurrences(of: "ui_theme", with: "ui theme").replacingOccurrences(of: "settings", with: "other")
        let (invalid, status) = await call("POST", "/api/v1/namespaces/dev/configmaps", bad)
        #expect(invalid == 422)
        #expect((status["message"] as? String)?.hasPrefix(#"ConfigMap "other" is invalid: data[ui theme]: Invalid value: "ui theme": a valid config key must consist of alphanumeric characters"#) == true,
                "\(status["message"] ?? "")")
        // Immutable once marked so.
        let frozen = map.replacingOccurrences(of: "settings", with: "frozen").replacingOccurrences(of: #""data""#, with: #""immutable":true,"data""#)
        #expect(await call("POST", "/api/v1/namespaces/dev/configmaps", frozen).0 == 201)
        let (changed, _) = await call("PUT", "/api/v1/namespaces/dev/configmaps/frozen", frozen.replacingOccurrences(of: "lives=3", with: "lives=9"))
        #expect(changed == 422)
        let (_, list) = await call("GET", "/api/v1/namespaces/dev/configmaps")
        #expect((list["items"] as? [Any])?.count == 2)
    }
}
