import Foundation
import KindlingAPI
import KindlingServer
import KindlingStore
import NIOCore
import Testing
import WSCore

/// Answers as kube-apiserver gives them: the status a create returns, deletecollection, quantities and QoS
/// classes, and exec input in text frames.
@Suite struct APIAnswersTests {
    let handler: APIHandler

    init() throws {
        let registry = Registry(store: try Store(path: nil))
        for name in ["default", "dev"] { _ = try registry.create(Namespace(name: name)) }
        handler = APIHandler(registry: registry)
    }

    func call(_ method: String, _ path: String, _ body: String = "", query: [String: String] = [:]) async -> (Int, [String: Any]) {
        let response = await handler.handle(APIRequest(method: method, path: path, query: query, body: Data(body.utf8), contentType: "application/json"))
        guard case .json(let status, let data, _, _) = response else { return (0, [:]) }
        return (status, (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:])
    }

    static func pod(_ name: String, labels: String = #"{"app":"web"}"#, resources: String = "{}") -> String {
        #"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"\#(name)","labels":\#(labels)},"#
            + #""spec":{"containers":[{"name":"c","image":"nginx","resources":\#(resources)}]},"status":{"phase":"Running","podIP":"1.2.3.4"}}"#
    }

    @Test func createdPodsAndServicesCarryTheirFirstStatus() async throws {
        let (code, pod) = await call("POST", "/api/v1/namespaces/dev/pods", Self.pod("web"))
        #expect(code == 201)
        #expect(pod["status"] as? [String: String] == ["phase": "Pending", "qosClass": "BestEffort"], "what the client sent is dropped")
        let guaranteed = #"{"limits":{"cpu":"500m","memory":"128Mi"}}"#
        let (_, limited) = await call("POST", "/api/v1/namespaces/dev/pods", Self.pod("limited", resources: guaranteed))
        #expect((limited["status"] as? [String: Any])?["qosClass"] as? String == "Guaranteed")
        let requests = ((limited["spec"] as? [String: Any])?["containers"] as? [[String: Any]])?.first?["resources"] as? [String: Any]
        #expect(requests?["requests"] as? [String: String] == ["cpu": "500m", "memory": "128Mi"], "requests default to limits")
        let service = #"{"apiVersion":"v1","kind":"Service","metadata":{"name":"web"},"spec":{"ports":[{"port":80}]},"status":{"loadBalancer":{"ingress":[{"ip":"9.9.9.9"}]}}}"#
        let (_, created) = await call("POST", "/api/v1/namespaces/dev/services", service)
        #expect(created["status"] as? [String: [String: String]] == ["loadBalancer": [:]])
        let (refused, status) = await call("POST", "/api/v1/namespaces/dev/pods",
                                           Self.pod("greedy", resources: #"{"limits":{"cpu":"1"},"requests":{"cpu":"2"}}"#))
        #expect(refused == 422 && (status["message"] as? String)?.contains(
            #"spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1"#) == true)
        let (bad, _) = await call("POST", "/api/v1/namespaces/dev/pods", Self.pod("typo", resources: #"{"limits":{"cpu":"lots"}}"#))
        #expect(bad == 400)
    }

    @Test(arguments: [
        ("500m", "0.5", true), ("1Gi", "1024Mi", true), ("1k", "1000", true), ("1e3", "1k", true), ("128974848", "129e6", false),
        ("100m", "0.1", true), ("1Ki", "1k", false),
    ])
    func quantitiesCompareByValue(_ a: String, _ b: String, _ equal: Bool) throws {
        #expect((try #require(Quantity(a)) == (try #require(Quantity(b)))) == equal)
    }

    @Test func malformedQuantitiesAreRefused() {
        for text in ["", "m", "1.2.3", "1Xi", "--1", "1e", "abc"] { #expect(Quantity(text) == nil, "\(text)") }
        #expect(Quantity("-1")?.value == -1)
        #expect(Quantity("+2.5M")?.value == 2_500_000)
    }

    @Test func qosClassesFollowCPUAndMemory() throws {
        func container(_ requests: [String: String]?, _ limits: [String: String]?) -> Container {
            var container = Container(name: "c", image: "i")
            container.resources = ResourceRequirements(limits: limits?.mapValues { Quantity($0)! }, requests: requests?.mapValues { Quantity($0)! })
            return container
        }
        #expect(QOSClass.of([container(nil, nil)]) == "BestEffort")
        #expect(QOSClass.of([container(["ephemeral-storage": "1Gi"], nil)]) == "BestEffort", "only cpu and memory count")
        #expect(QOSClass.of([container(["cpu": "1", "memory": "1Gi"], ["cpu": "1", "memory": "1Gi"])]) == "Guaranteed")
        #expect(QOSClass.of([container(["cpu": "1000m", "memory": "1Gi"], ["cpu": "1", "memory": "1024Mi"])]) == "Guaranteed")
        #expect(QOSClass.of([container(["cpu": "1"], ["cpu": "1"])]) == "Burstable", "no memory limit")
        #expect(QOSClass.of([container(["cpu": "1", "memory": "1Gi"], ["cpu": "1", "memory": "1Gi"]), container(nil, nil)]) == "Burstable")
        #expect(QOSClass.of([container(["cpu": "500m", "memory": "1Gi"], ["cpu": "1", "memory": "1Gi"])]) == "Burstable")
    }

    @Test func deleteCollectionDeletesWhatTheSelectorsMatch() async throws {
        for (name, app) in [("a", "web"), ("b", "web"), ("c", "db")] {
            let configMap = #"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"\#(name)","labels":{"app":"\#(app)"}}}"#
            #expect(await call("POST", "/api/v1/namespaces/dev/configmaps", configMap).0 == 201)
        }
        #expect(await call("POST", "/api/v1/namespaces/default/configmaps", #"{"metadata":{"name":"a","labels":{"app":"web"}}}"#).0 == 201)
        let (dry, planned) = await call("DELETE", "/api/v1/namespaces/dev/configmaps", query: ["labelSelector": "app=web", "dryRun": "All"])
        #expect(dry == 200 && (planned["items"] as? [Any])?.count == 2)
        #expect((await call("GET", "/api/v1/namespaces/dev/configmaps").1["items"] as? [Any])?.count == 3, "a dry run deletes nothing")
        let (code, deleted) = await call("DELETE", "/api/v1/namespaces/dev/configmaps", query: ["labelSelector": "app=web"])
        #expect(code == 200 && deleted["kind"] as? String == "ConfigMapList")
        #expect((deleted["items"] as? [[String: Any]])?.compactMap { ($0["metadata"] as? [String: Any])?["name"] as? String }.sorted() == ["a", "b"])
        let left = await call("GET", "/api/v1/namespaces/dev/configmaps").1["items"] as? [[String: Any]]
        #expect(left?.compactMap { ($0["metadata"] as? [String: Any])?["name"] as? String } == ["c"])
        #expect((await call("GET", "/api/v1/namespaces/default/configmaps").1["items"] as? [Any])?.count == 1, "another namespace is untouched")
        #expect(await call("DELETE", "/api/v1/configmaps").0 == 405, "not across namespaces")
        #expect(await call("DELETE", "/api/v1/namespaces").0 == 405, "namespaces are not deleted as a collection")
        let (_, resources) = await call("GET", "/api/v1")
        let configMaps = (resources["resources"] as? [[String: Any]])?.first { $0["name"] as? String == "configmaps" }
        #expect((configMaps?["verbs"] as? [String])?.contains("deletecollection") == true)
    }

    @Test func execInputInTextFramesCounts() {
        let binary = PodExec.channelFrame(.binary(ByteBuffer(bytes: [0, 0x68, 0x69])))
        #expect(binary?.stream == 0 && binary?.payload == Data("hi".utf8))
        let text = PodExec.channelFrame(.text("\u{0}hi"))
        #expect(text?.stream == 0 && text?.payload == Data("hi".utf8))
        #expect(PodExec.channelFrame(.text("")) == nil)
    }
}
