import Foundation
import KindlingAPI
@testable import KindlingServer
import KindlingStore
import Testing

/// PodDisruptionBudgets as the disruption controller counts them, and the Eviction subresource spending them:
/// a pod goes while the budget allows, then kube-apiserver's 429 with the budget's cause, and nothing changes.
@Suite struct DisruptionTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    static func pod(_ name: String, ready: Bool = true, labels: [String: String] = ["app": "web"]) -> Pod {
        var pod = Pod(metadata: ObjectMeta(name: name, namespace: "dev", labels: labels), spec: PodSpec(containers: [Container(name: "c", image: "nginx")]))
        var status = PodStatus(phase: "Running")
        status.conditions = [Condition(type: "Ready", status: ready ? "True" : "False")]
        pod.status = status
        return pod
    }

    static func budget(_ spec: String) -> PodDisruptionBudget {
        var budget = try! KubeJSON.decoder.decode(PodDisruptionBudget.self, from: Data("""
            {"metadata": {"name": "web", "namespace": "dev", "generation": 1}, "spec": {"selector": {"matchLabels": {"app": "web"}}, \(spec)}}
            """.utf8))
        budget.applyDefaults()
        return budget
    }

    @Test(arguments: [
        // spec, (expected, healthy, desired, allowed)
        (#""minAvailable": 2"#, [3, 2, 2, 0]), (#""minAvailable": "50%""#, [3, 2, 2, 0]), (#""maxUnavailable": 1"#, [3, 2, 2, 0]),
        (#""maxUnavailable": "100%""#, [3, 2, 0, 2]), (#""minAvailable": 1"#, [3, 2, 1, 1]),
    ])
    func budgetsCountAsTheDisruptionControllerDoes(spec: String, expected: [Int]) {
        let pods = [Self.pod("a"), Self.pod("b"), Self.pod("c", ready: false), Self.pod("other", labels: ["app": "db"])]
        let status = DisruptionController.status(Self.budget(spec), pods: pods, now: Self.now)
        #expect([status.expectedPods, status.currentHealthy, status.desiredHealthy, status.disruptionsAllowed] == expected)
        #expect(status.conditions?["DisruptionAllowed"]?.reason == (expected[3] > 0 ? "SufficientPods" : "InsufficientPods"))
    }

    @Test func evictionsSpendTheBudgetThenAreRefused() async throws {
        let registry = Registry(store: try Store(path: nil))
        _ = try registry.create(Namespace(name: "dev"))
        let handler = APIHandler(registry: registry)
        for name in ["a", "b"] {
            var pod = Self.pod(name)
            pod.spec.nodeName = "w1"
            _ = try registry.create(pod)
            try registry.modifyUnchecked(Pod.self, namespace: "dev", name: name) { current in
                var next = current
                next.status = pod.status
                return next
            }
        }
        let budget = try registry.create(Self.budget(#""minAvailable": 1"#))
        try registry.writeStatus(of: budget, \.status, DisruptionController.status(budget, pods: try registry.list(Pod.self).items, now: Date()))
        func evict(_ name: String) async -> (Int, String) {
            let body = Data(#"{"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "\#(name)", "namespace": "dev"}}"#.utf8)
            guard case .json(let status, let data, _, _) = await handler.handle(APIRequest(
                method: "POST", path: "/api/v1/namespaces/dev/pods/\(name)/eviction", body: body, contentType: "application/json")) else { return (0, "") }
            return (status, String(decoding: data, as: UTF8.self))
        }
        let first = await evict("a")
        #expect(first.0 == 201, "\(first.1)")
        #expect(try registry.get(Pod.self, namespace: "dev", name: "a").metadata.deletionTimestamp != nil, "deleted gracefully")
        #expect(try registry.get(PodDisruptionBudget.self, namespace: "dev", name: "web").status?.disruptedPods?["a"] != nil)
        let before = registry.store.currentRevision
        let second = await evict("b")
        #expect(second.0 == 429)
        #expect(second.1.contains(#""message":"Cannot evict pod as it would violate the pod's disruption budget.""#))
        #expect(second.1.contains(#""reason":"DisruptionBudget","message":"The disruption budget web needs 1 healthy pods and has 1 currently""#)
                || second.1.contains("The disruption budget web needs 1 healthy pods and has 2 currently"), "\(second.1)")
        #expect(registry.store.currentRevision == before, "a refused eviction changes nothing")
        #expect(await evict("nope").0 == 404)
    }
}
