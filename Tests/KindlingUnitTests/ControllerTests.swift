import Foundation
import KindlingAPI
@testable import KindlingServer
import KindlingStore
import Testing

@Suite struct SchedulerTests {
    func node(_ name: String, ready: Bool = true, labels: [String: String] = [:], pods: String = "110") -> Node {
        var node = Node(name: name, labels: labels)
        var status = Node.Status()
        status.conditions = [Condition(type: "Ready", status: ready ? "True" : "False")]
        status.allocatable = ["pods": pods]
        node.status = status
        return node
    }

    let pod = Pod(metadata: ObjectMeta(name: "p", namespace: "dev"), spec: PodSpec(containers: [Container(name: "c", image: "nginx")]))

    @Test func picksTheLeastLoadedReadyNode() throws {
        let nodes = [node("a"), node("b"), node("c", ready: false)]
        #expect(try Scheduler.choose(for: pod, nodes: nodes, load: ["a": 2, "b": 1]).get() == "b")
        #expect(try Scheduler.choose(for: pod, nodes: nodes, load: [:]).get() == "a")
        // Fewer pods of the same owner wins over fewer pods overall (a ReplicaSet spreads whatever else runs).
        #expect(try Scheduler.choose(for: pod, nodes: nodes, load: ["a": 5, "b": 1], siblings: ["b": 1]).get() == "a")
    }

    @Test func honoursNodeSelectorAndCapacity() throws {
        var selective = pod
        selective.spec.nodeSelector = ["disk": "ssd"]
        let nodes = [node("a"), node("b", labels: ["disk": "ssd"], pods: "1")]
        #expect(try Scheduler.choose(for: selective, nodes: nodes, load: [:]).get() == "b")
        switch Scheduler.choose(for: selective, nodes: nodes + [node("c", ready: false)], load: ["b": 1]) {
        case .success(let name): Issue.record("scheduled on \(name)")
        case .failure(let reason):
            #expect(reason.message == "0/3 nodes are available: 1 Too many pods, 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) were not ready.")
        }
    }
    @Test func taintsKeepPodsAwayUnlessTolerated() throws {
        var tainted = node("cp")
        tainted.spec?.taints = [.controlPlane]
        let nodes = [tainted, node("w")]
        #expect(try Scheduler.choose(for: pod, nodes: nodes, load: ["w": 50]).get() == "w")
        switch Scheduler.choose(for: pod, nodes: [tainted], load: [:]) {
        case .success(let name): Issue.record("scheduled on \(name)")
        case .failure(let reason):
            #expect(reason.message == "0/1 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }.")
        }
        var tolerant = pod
        tolerant.spec.tolerations = [Toleration(key: "node-role.kubernetes.io/control-plane", operator: "Exists", effect: "NoSchedule")]
        #expect(try Scheduler.choose(for: tolerant, nodes: nodes, load: ["w": 50]).get() == "cp")
        var cordoned = node("c")
        cordoned.spec?.unschedulable = true
        #expect(throws: Scheduler.Unschedulable.self) { try Scheduler.choose(for: pod, nodes: [cordoned], load: [:]).get() }
        tolerant.spec.tolerations = [Toleration(key: "node.kubernetes.io/unschedulable", operator: "Exists", effect: "NoSchedule")]
        #expect(try Scheduler.choose(for: tolerant, nodes: [cordoned], load: [:]).get() == "c", "as a DaemonSet's pods")
    }

    @Test(arguments: [
        // toleration (key, operator, value, effect) against taint key=v:NoSchedule
        ("key", "Equal", "v", "NoSchedule", true), ("key", nil, "v", nil, true), ("key", "Equal", "w", "NoSchedule", false),
        ("key", "Exists", nil, "NoSchedule", true), ("key", "Exists", nil, "NoExecute", false), ("other", "Exists", nil, nil, false),
        (nil, "Exists", nil, nil, true), ("", "Exists", nil, "NoSchedule", true),
    ] as [(String?, String?, String?, String?, Bool)])
    func tolerationsMatchAsKubernetesMatchesThem(key: String?, op: String?, value: String?, effect: String?, tolerated: Bool) {
        let toleration = Toleration(key: key, operator: op, value: value, effect: effect)
        #expect(toleration.tolerates(Node.Taint(key: "key", value: "v", effect: "NoSchedule")) == tolerated)
    }

    @Test func nodeAffinityRequiresAndPrefers() throws {
        let nodes = [node("a", labels: ["zone": "x", "gen": "3"]), node("b", labels: ["zone": "y", "gen": "5"]), node("c", labels: ["gen": "7"])]
        var picky = pod
        picky.spec.affinity = Affinity(nodeAffinity: NodeAffinity(required: NodeSelector(nodeSelectorTerms: [
            NodeSelectorTerm(matchExpressions: [NodeSelectorRequirement(key: "zone", operator: "In", values: ["x", "y"]),
                                                NodeSelectorRequirement(key: "gen", operator: "Gt", values: ["4"])]),
            NodeSelectorTerm(matchFields: [NodeSelectorRequirement(key: "metadata.name", operator: "In", values: ["a"])]),
        ])))
        #expect(try Scheduler.choose(for: picky, nodes: nodes, load: ["a": 0, "b": 9]).get() == "a", "either term will do")
        #expect(try Scheduler.choose(for: picky, nodes: Array(nodes.dropFirst()), load: [:]).get() == "b")
        var preferring = pod
        preferring.spec.affinity = Affinity(nodeAffinity: NodeAffinity(required: nil))
        preferring.spec.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution = [
            .init(weight: 10, preference: NodeSelectorTerm(matchExpressions: [NodeSelectorRequirement(key: "zone", operator: "DoesNotExist", values: nil)])),
        ]
        #expect(try Scheduler.choose(for: preferring, nodes: nodes, load: ["c": 20]).get() == "c", "preferred over the least loaded")
    }
}


@Suite struct DeploymentPlanTests {
    let rolling = Deployment.Strategy(type: "RollingUpdate", rollingUpdate: nil)

    @Test func limitsRoundAsKubernetesDoes() {
        #expect(DeploymentController.limits(replicas: 10, strategy: rolling) == .init(maxSurge: 3, maxUnavailable: 2))
        #expect(DeploymentController.limits(replicas: 1, strategy: rolling) == .init(maxSurge: 1, maxUnavailable: 0))
        let zero = Deployment.Strategy(type: "RollingUpdate", rollingUpdate: .init(maxUnavailable: .int(0), maxSurge: .int(0)))
        #expect(DeploymentController.limits(replicas: 4, strategy: zero) == .init(maxSurge: 0, maxUnavailable: 1))
    }

    @Test func firstRolloutGoesStraightToReplicas() {
        #expect(DeploymentController.plan(replicas: 6, strategy: rolling, new: (0, 0), olds: []) == .init(new: 6, olds: []))
    }

    @Test func rollingUpdateStaysWithinSurgeAndUnavailability() {
        // 4 replicas: surge 1, unavailable 1. Old RS has 4 available; new one has none yet.
        let first = DeploymentController.plan(replicas: 4, strategy: rolling, new: (0, 0), olds: [(4, 4, 4)])
        #expect(first == .init(new: 1, olds: [3]))
        // New pod became available: one more up, one more down.
        let second = DeploymentController.plan(replicas: 4, strategy: rolling, new: (1, 1), olds: [(3, 3, 3)])
        #expect(second == .init(new: 2, olds: [2]))
        // Done when the new RS has everything available.
        let last = DeploymentController.plan(replicas: 4, strategy: rolling, new: (4, 4), olds: [(0, 0, 0)])
        #expect(last == .init(new: 4, olds: [0]))
    }

    @Test func recreateWaitsForOldPodsToGo() {
        let recreate = Deployment.Strategy(type: "Recreate", rollingUpdate: nil)
        #expect(DeploymentController.plan(replicas: 3, strategy: recreate, new: (0, 0), olds: [(3, 3, 3)]) == .init(new: 0, olds: [0]))
        #expect(DeploymentController.plan(replicas: 3, strategy: recreate, new: (0, 0), olds: [(0, 0, 0)]) == .init(new: 3, olds: [0]))
    }

    @Test func templateHashIsStableAndSpelledLikeKubernetes() {
        let template = PodTemplateSpec(metadata: ObjectMeta(labels: ["app": "web"]), spec: PodSpec(containers: [Container(name: "c", image: "nginx")]))
        let hash = DeploymentController.templateHash(template)
        #expect(hash == DeploymentController.templateHash(template))
        #expect(hash.allSatisfy { "bcdfghjklmnpqrstvwxz2456789".contains($0) } && (1...10).contains(hash.count))
        var other = template
        other.spec.containers[0].image = "nginx:1.27"
        #expect(DeploymentController.templateHash(other) != hash)
    }
}

/// The controllers running together on an in-memory store, as in the server: pods from templates,
/// spread over nodes, rollouts, scaling, cascading deletion.
@Suite struct ControlLoopTests {
    let registry: Registry

    init() throws {
        registry = Registry(store: try Store(path: nil))
        for name in ["default", "dev"] { _ = try registry.create(Namespace(name: name)) }
        for name in ["n1", "n2", "n3"] {
            var node = Node(name: name)
            var status = Node.Status()
            status.conditions = [Condition(type: "Ready", status: "True")]
            node.status = status
            _ = try registry.create(node)
        }
    }

    func running<T>(_ body: () async throws -> T) async throws -> T {
        let controllers: [any Controller] = [Scheduler(), ReplicaController.replicaSets, ReplicaController.replicationControllers, DeploymentController(),
                                            GarbageCollector()]
        let tasks = controllers.map { controller in
            Task { [registry] in await controller.runForever(registry, logger: .init(label: "test")) }
        }
        defer { tasks.forEach { $0.cancel() } }
        return try await body()
    }

    func eventually(_ condition: () throws -> Bool) async throws -> Bool {
        for _ in 0..<250 {
            if try condition() { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return false
    }

    static let template = PodTemplateSpec(metadata: ObjectMeta(labels: ["app": "nginx"]),
                                          spec: PodSpec(containers: [Container(name: "nginx", image: "nginx")]))

    @Test func replicaSetPodsSpreadOverEveryNodeAndGoWithIt() async throws {
        try await running {
            let set = ReplicaSet(metadata: ObjectMeta(name: "nginx-replicaset", namespace: "dev"),
                                 spec: .init(replicas: 6, selector: LabelSelector(matchLabels: ["app": "nginx"]), template: Self.template))
            _ = try registry.create(set)
            let spread = try await eventually {
                let pods = try registry.list(Pod.self, namespace: "dev").items
                let perNode = Dictionary(grouping: pods, by: { $0.spec.nodeName ?? "" }).mapValues(\.count)
                return pods.count == 6 && perNode == ["n1": 2, "n2": 2, "n3": 2]
            }
            #expect(spread)
            let pods = try registry.list(Pod.self, namespace: "dev").items
            #expect(pods.allSatisfy { $0.name.hasPrefix("nginx-replicaset-") && $0.metadata.ownerReferences?.first?.kind == "ReplicaSet" })

            _ = try registry.modify(ReplicaSet.self, namespace: "dev", name: "nginx-replicaset") { current in
                var s = current
                s.desiredReplicas = 2
                return s
            }
            #expect(try await eventually { try registry.list(Pod.self, namespace: "dev").items.filter { $0.metadata.deletionTimestamp == nil }.count == 2 })
            #expect(try await eventually { try registry.get(ReplicaSet.self, namespace: "dev", name: "nginx-replicaset").status?.replicas == 2 })

            _ = try registry.delete(ReplicaSet.self, namespace: "dev", name: "nginx-replicaset")
            #expect(try await eventually { try registry.list(Pod.self, namespace: "dev").items.allSatisfy { $0.metadata.deletionTimestamp != nil } })
        }
    }

    func livePods() throws -> [Pod] { try registry.list(Pod.self, namespace: "dev").items.filter { $0.metadata.deletionTimestamp == nil } }

    /// A ReplicationController is a ReplicaSet with a label-map selector, defaulted from its template: the same
    /// controller keeps its pods, `scale` resizes it, and its pods go with it.
    @Test func replicationControllersKeepTheirPods() async throws {
        let api = APIHandler(registry: registry)
        func call(_ method: String, _ path: String, _ body: String) async -> (Int, [String: Any]) {
            let request = APIRequest(method: method, path: path, body: Data(body.utf8), contentType: "application/json")
            guard case .json(let status, let data, _, _) = await api.handle(request) else { return (0, [:]) }
            return (status, (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:])
        }
        let rc = #"{"apiVersion":"v1","kind":"ReplicationController","metadata":{"name":"nginx"},"spec":{"replicas":3,"#
            + #""template":{"metadata":{"labels":{"app":"nginx"}},"spec":{"containers":[{"name":"nginx","image":"nginx"}]}}}}"#
        try await running { () async throws in
            let (created, object) = await call("POST", "/api/v1/namespaces/dev/replicationcontrollers", rc)
            #expect(created == 201 && (object["spec"] as? [String: Any])?["selector"] as? [String: String] == ["app": "nginx"])
            #expect((object["metadata"] as? [String: Any])?["labels"] as? [String: String] == ["app": "nginx"])
            #expect(try await eventually { try livePods().count == 3 })
            #expect(try livePods().allSatisfy { $0.name.hasPrefix("nginx-") && $0.metadata.ownerReferences?.first?.kind == "ReplicationController" })
            #expect(try await eventually { try registry.get(ReplicationController.self, namespace: "dev", name: "nginx").status?.replicas == 3 })
            let scale = #"{"apiVersion":"autoscaling/v1","kind":"Scale","metadata":{"name":"nginx","namespace":"dev"},"spec":{"replicas":1}}"#
            #expect(await call("PUT", "/api/v1/namespaces/dev/replicationcontrollers/nginx/scale", scale).0 == 200)
            #expect(try await eventually { try livePods().count == 1 })
            let (refused, status) = await call("POST", "/api/v1/namespaces/dev/replicationcontrollers",
                                               rc.replacingOccurrences(of: #""replicas":3,"#, with: #""replicas":3,"selector":{"app":"other"},"#))
            #expect(refused == 422 && (status["message"] as? String)?.contains("`selector` does not match template `labels`") == true)
            #expect(await call("DELETE", "/api/v1/namespaces/dev/replicationcontrollers/nginx", "").0 == 200)
            #expect(try await eventually { try livePods().isEmpty })
        }
    }

    /// DELETE's propagationPolicy: Orphan leaves the pods without their owner; Foreground keeps the owner,
    /// marked, until its pods are gone; Background (the default) deletes the owner at once.
    @Test func deletionPropagatesAsAsked() async throws {
        let api = APIHandler(registry: registry)
        func delete(_ name: String, _ policy: String) async -> Int {
            let body = Data(#"{"kind":"DeleteOptions","apiVersion":"v1","propagationPolicy":"\#(policy)"}"#.utf8)
            guard case .json(let status, _, _, _) = await api.handle(APIRequest(method: "DELETE", path: "/apis/apps/v1/namespaces/dev/replicasets/\(name)",
                                                                                body: body, contentType: "application/json")) else { return 0 }
            return status
        }
        func pods(of name: String) throws -> [Pod] {
            try registry.list(Pod.self, namespace: "dev").items.filter { $0.name.hasPrefix(name + "-") && $0.metadata.deletionTimestamp == nil }
        }
        try await running {
            for name in ["kept", "fore"] {
                var template = Self.template
                template.metadata?.labels = ["app": name]
                _ = try registry.create(ReplicaSet(metadata: ObjectMeta(name: name, namespace: "dev"),
                                                   spec: .init(replicas: 2, selector: LabelSelector(matchLabels: ["app": name]), template: template)))
            }
            #expect(try await eventually { try pods(of: "kept").count == 2 && pods(of: "fore").count == 2 })
            #expect(await delete("kept", "Orphan") == 200)
            #expect((try? registry.get(ReplicaSet.self, namespace: "dev", name: "kept")) == nil)
            try await Task.sleep(for: .milliseconds(200))
            #expect(try pods(of: "kept").count == 2 && pods(of: "kept").allSatisfy { $0.metadata.ownerReferences == nil })

            #expect(await delete("fore", "Foreground") == 200)
            let marked = try registry.get(ReplicaSet.self, namespace: "dev", name: "fore")
            #expect(marked.metadata.deletionTimestamp != nil && marked.metadata.finalizers == ["foregroundDeletion"])
            #expect(try await eventually { try pods(of: "fore").isEmpty })
            // The pods are marked; their nodes' agents (none here) would remove them: the owner waits for that.
            #expect((try? registry.get(ReplicaSet.self, namespace: "dev", name: "fore")) != nil)
            for pod in try registry.list(Pod.self, namespace: "dev").items where pod.name.hasPrefix("fore-") {
                _ = try registry.remove(Pod.self, namespace: "dev", name: pod.name)
            }
            #expect(try await eventually { (try? registry.get(ReplicaSet.self, namespace: "dev", name: "fore")) == nil })
            #expect(await delete("missing", "Sideways") == 400)
        }
    }

    /// A Deployment deleted in the foreground waits for its ReplicaSet, which waits for its pods.
    @Test func foregroundDeletionWaitsForGrandchildren() async throws {
        let api = APIHandler(registry: registry)
        try await running {
            _ = try registry.create(Deployment(metadata: ObjectMeta(name: "deep", namespace: "dev"),
                                               spec: .init(replicas: 2, selector: LabelSelector(matchLabels: ["app": "nginx"]), template: Self.template)))
            // Bound to nodes, so their deletion is graceful (an unbound pod goes at once).
            #expect(try await eventually {
                let pods = try registry.list(Pod.self, namespace: "dev").items
                return pods.count == 2 && pods.allSatisfy { $0.spec.nodeName != nil }
            })
            let body = Data(#"{"kind":"DeleteOptions","apiVersion":"v1","propagationPolicy":"Foreground"}"#.utf8)
            _ = await api.handle(APIRequest(method: "DELETE", path: "/apis/apps/v1/namespaces/dev/deployments/deep", body: body, contentType: "application/json"))
            #expect(try await eventually {
                let sets = try registry.list(ReplicaSet.self, namespace: "dev").items
                let pods = try registry.list(Pod.self, namespace: "dev").items
                return sets.allSatisfy { $0.metadata.finalizers == ["foregroundDeletion"] && $0.metadata.deletionTimestamp != nil }
                    && pods.allSatisfy { $0.metadata.deletionTimestamp != nil }
            })
            // The pods are marked, not gone (no agents here): both owners wait.
            try await Task.sleep(for: .milliseconds(200))
            #expect((try? registry.get(Deployment.self, namespace: "dev", name: "deep")) != nil)
            for pod in try registry.list(Pod.self, namespace: "dev").items { _ = try registry.remove(Pod.self, namespace: "dev", name: pod.name) }
            #expect(try await eventually {
                let gone = (try? registry.get(Deployment.self, namespace: "dev", name: "deep")) == nil
                return try gone && registry.list(ReplicaSet.self, namespace: "dev").items.isEmpty
            })
        }
    }

    @Test func deploymentCreatesAHashedReplicaSetAndRollsToANewOne() async throws {
        try await running {
            let deployment = Deployment(metadata: ObjectMeta(name: "web", namespace: "dev"),
                                        spec: .init(replicas: 3, selector: LabelSelector(matchLabels: ["app": "nginx"]), template: Self.template))
            _ = try registry.create(deployment)
            #expect(try await eventually {
                let sets = try registry.list(ReplicaSet.self, namespace: "dev").items
                return sets.count == 1 && sets[0].desiredReplicas == 3 && sets[0].name.hasPrefix("web-")
                    && sets[0].metadata.annotations?["deployment.kubernetes.io/revision"] == "1"
            })
            #expect(try await eventually { try registry.list(Pod.self, namespace: "dev").items.count == 3 })
            let first = try registry.list(ReplicaSet.self, namespace: "dev").items[0]
            #expect(first.spec.selector?.matchLabels?["pod-template-hash"] != nil)

            _ = try registry.modify(Deployment.self, namespace: "dev", name: "web") { current in
                var d = current
                d.spec.template?.spec.containers[0].image = "nginx:1.27"
                return d
            }
            // Pods never become available here (no agents), so the rollout surges by one and waits, as Kubernetes would.
            #expect(try await eventually {
                let sets = try registry.list(ReplicaSet.self, namespace: "dev").items
                let new = sets.first { $0.name != first.name }
                return sets.count == 2 && new?.desiredReplicas == 1
                    && new?.metadata.annotations?["deployment.kubernetes.io/revision"] == "2"
            })
            #expect(try await eventually {
                try registry.get(Deployment.self, namespace: "dev", name: "web").status?.updatedReplicas == 1
            })
        }
    }
}
