import Foundation
import KindlingAPI

/// kube-controller-manager's DaemonSet controller: a pod of the template for every node the DaemonSet is meant
/// for, pinned there by node affinity on the node's name (the scheduler binds it), with the tolerations every
/// daemon pod gets; pods on nodes no longer meant for it deleted; a changed template rolled out node by node
/// within `maxUnavailable` (or ahead of the old pod within `maxSurge`), or on deletion only with `OnDelete`.
/// What to do is `DaemonSetPlan.make`, pure; this type carries it out.
struct DaemonSetController: Controller {
    let name = "daemonset"
    static let events = EventRecorder(component: "daemonset-controller")

    func run(_ registry: Registry) async throws {
        try await reconcileOnChange(registry, watching: [DaemonSet.self, Pod.self, Node.self], resync: .seconds(1)) {
            let pods = try registry.list(Pod.self).items
            let nodes = try registry.list(Node.self).items
            for set in try registry.list(DaemonSet.self).items where set.metadata.deletionTimestamp == nil {
                let owned = pods.filter { $0.namespace == set.namespace && Scheduler.owner($0) == set.metadata.uid }
                try sync(set, pods: owned, nodes: nodes, registry)
            }
        }
    }

    func sync(_ set: DaemonSet, pods: [Pod], nodes: [Node], _ registry: Registry, now: Date = Date()) throws {
        let plan = DaemonSetPlan.make(set, pods: pods, nodes: nodes, now: now)
        for pod in plan.delete {
            guard (try? registry.delete(Pod.self, namespace: pod.namespace, name: pod.name)) != nil else { continue }
            Self.events.record(registry, set, reason: "SuccessfulDelete", message: "Deleted pod: \(pod.name)")
        }
        for node in plan.create {
            let pod = try registry.create(DaemonSetPlan.pod(for: set, node: node))
            Self.events.record(registry, set, reason: "SuccessfulCreate", message: "Created pod: \(pod.name)")
        }
        try registry.writeStatus(of: set, \.status, plan.status)
    }
}

/// One pass's decision for a DaemonSet, pure: the nodes to make a pod for, the pods to delete, and its status.
struct DaemonSetPlan: Equatable {
    var create: [String] = []
    var delete: [Pod] = []
    var status: DaemonSet.Status

    static let hashLabel = "controller-revision-hash"
    static let generationLabel = "pod-template-generation"

    /// What every daemon pod tolerates (the controller's own additions), so a node's trouble does not evict it
    /// and a cordoned node still runs it.
    static let tolerations = [
        Toleration(key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute"),
        Toleration(key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute"),
        Toleration(key: "node.kubernetes.io/disk-pressure", operator: "Exists", effect: "NoSchedule"),
        Toleration(key: "node.kubernetes.io/memory-pressure", operator: "Exists", effect: "NoSchedule"),
        Toleration(key: "node.kubernetes.io/pid-pressure", operator: "Exists", effect: "NoSchedule"),
        Toleration(key: "node.kubernetes.io/unschedulable", operator: "Exists", effect: "NoSchedule"),
    ]

    static func make(_ set: DaemonSet, pods: [Pod], nodes: [Node], now: Date) -> DaemonSetPlan {
        var plan = DaemonSetPlan(status: set.status ?? DaemonSet.Status())
        let hash = DeploymentController.templateHash(set.spec.template)
        let spec = podSpec(set, node: "")
        let live = pods.filter { $0.metadata.deletionTimestamp == nil }
        var byNode: [String: [Pod]] = [:]
        for pod in live { if let node = targetNode(pod) { byNode[node, default: []].append(pod) } }
        let eligible = nodes.filter { spec.matchesNodeSelection($0) && spec.untoleratedTaint($0) == nil }.map(\.name).sorted()
        let wanted = Set(eligible)
        // Pods where they should not be: on nodes not meant for the set (or gone), failed ones, and extras.
        for (node, onNode) in byNode.sorted(by: { $0.key < $1.key }) where !wanted.contains(node) { plan.delete += onNode }
        var running: [String: [Pod]] = [:]
        for node in eligible {
            let onNode = byNode[node] ?? []
            plan.delete += onNode.filter { $0.phase == "Failed" }
            let kept = onNode.filter { $0.phase != "Failed" }.sorted { updated($0, hash) != updated($1, hash) ? updated($0, hash) : age($0) < age($1) }
            running[node] = kept
            if kept.isEmpty { plan.create.append(node) }
        }
        let minReady = set.spec.minReadySeconds ?? 0
        func available(_ pod: Pod) -> Bool { isAvailable(pod, minReadySeconds: minReady, now: now) }
        if set.spec.updateStrategy?.type ?? "RollingUpdate" == "RollingUpdate" {
            let (maxSurge, maxUnavailable) = limits(set.spec.updateStrategy?.rollingUpdate, desired: eligible.count)
            var unavailable = eligible.filter { !(running[$0] ?? []).contains(where: available) }.count
            var surging = eligible.filter { node in (running[node] ?? []).contains { updated($0, hash) } && (running[node] ?? []).contains { !updated($0, hash) } }.count
            for node in eligible {
                let onNode = running[node] ?? []
                let old = onNode.filter { !updated($0, hash) }, new = onNode.filter { updated($0, hash) }
                guard !old.isEmpty else { continue }
                if !new.isEmpty {
                    // Surging here: the old pod goes once the new one is available.
                    if new.contains(where: available) { plan.delete += old }
                } else if !old.contains(where: available) {
                    plan.delete += old
                } else if maxSurge > 0 {
                    if surging < maxSurge {
                        plan.create.append(node)
                        surging += 1
                    }
                } else if unavailable < maxUnavailable {
                    plan.delete += old
                    unavailable += 1
                }
            }
            for node in eligible { plan.delete += (running[node] ?? []).filter { updated($0, hash) }.dropFirst() }
        } else {
            for node in eligible { plan.delete += (running[node] ?? []).dropFirst() }
        }
        plan.status = status(set, eligible: eligible, running: running, misscheduled: byNode.keys.filter { !wanted.contains($0) }.count,
                             hash: hash, available: available)
        return plan
    }

    static func status(_ set: DaemonSet, eligible: [String], running: [String: [Pod]], misscheduled: Int, hash: String,
                       available: (Pod) -> Bool) -> DaemonSet.Status {
        var status = DaemonSet.Status()
        status.desiredNumberScheduled = eligible.count
        status.currentNumberScheduled = eligible.filter { !(running[$0] ?? []).isEmpty }.count
        status.numberMisscheduled = misscheduled
        status.numberReady = eligible.filter { (running[$0] ?? []).contains(where: \.isReady) }.count
        status.updatedNumberScheduled = eligible.filter { (running[$0] ?? []).contains { updated($0, hash) } }.count
        let availableCount = eligible.filter { (running[$0] ?? []).contains(where: available) }.count
        status.numberAvailable = availableCount
        status.numberUnavailable = eligible.count - availableCount
        status.observedGeneration = set.metadata.generation
        return status
    }

    /// maxSurge and maxUnavailable against the desired count, percentages rounded up; both zero would never
    /// progress, so maxUnavailable is 1 then.
    static func limits(_ rolling: DaemonSet.UpdateStrategy.RollingUpdate?, desired: Int) -> (maxSurge: Int, maxUnavailable: Int) {
        let surge = rolling?.maxSurge?.scaled(of: desired, roundUp: true) ?? 0
        let unavailable = rolling?.maxUnavailable?.scaled(of: desired, roundUp: true) ?? 1
        return (surge, surge == 0 && unavailable == 0 ? 1 : unavailable)
    }

    static func updated(_ pod: Pod, _ hash: String) -> Bool { pod.metadata.labels?[hashLabel] == hash }
    static func age(_ pod: Pod) -> String { pod.metadata.creationTimestamp ?? "" }

    /// Ready for at least `minReadySeconds`.
    static func isAvailable(_ pod: Pod, minReadySeconds: Int, now: Date) -> Bool {
        guard let ready = pod.status?.conditions?["Ready"], ready.status == "True" else { return false }
        guard minReadySeconds > 0 else { return true }
        return ready.lastTransitionTime.flatMap(Timestamp.date).map { now.timeIntervalSince($0) >= Double(minReadySeconds) } ?? false
    }

    /// The node a daemon pod is for: where it runs, or where its affinity pins it before it is bound.
    static func targetNode(_ pod: Pod) -> String? {
        if let node = pod.spec.nodeName, !node.isEmpty { return node }
        let terms = pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? []
        return terms.lazy.compactMap { $0.matchFields?.first { $0.key == "metadata.name" && $0.operator == "In" }?.values?.first }.first
    }

    /// The template's spec as a daemon pod for `node` has it: required node affinity replaced by the node's name,
    /// the daemon tolerations added.
    static func podSpec(_ set: DaemonSet, node: String) -> PodSpec {
        var spec = set.spec.template.spec
        var tolerations = spec.tolerations ?? []
        for toleration in Self.tolerations where !tolerations.contains(toleration) { tolerations.append(toleration) }
        spec.tolerations = tolerations
        guard !node.isEmpty else { return spec }
        var affinity = spec.affinity ?? Affinity(nodeAffinity: nil)
        var nodeAffinity = affinity.nodeAffinity ?? NodeAffinity(required: nil)
        nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution = NodeSelector(nodeSelectorTerms: [
            NodeSelectorTerm(matchFields: [NodeSelectorRequirement(key: "metadata.name", operator: "In", values: [node])]),
        ])
        affinity.nodeAffinity = nodeAffinity
        spec.affinity = affinity
        return spec
    }

    /// A daemon pod for `node`: `<set>-<random>`, the template's labels with its revision hash and generation.
    static func pod(for set: DaemonSet, node: String) -> Pod {
        var meta = ObjectMeta(namespace: set.namespace, labels: set.spec.template.metadata?.labels)
        meta.annotations = set.spec.template.metadata?.annotations
        meta.generateName = set.name + "-"
        meta.labels = (meta.labels ?? [:]).merging([hashLabel: DeploymentController.templateHash(set.spec.template),
                                                    generationLabel: String(set.metadata.generation ?? 1)]) { _, new in new }
        meta.ownerReferences = [OwnerReference(apiVersion: DaemonSet.apiVersion, kind: DaemonSet.kind, name: set.name, uid: set.metadata.uid ?? "",
                                               controller: true, blockOwnerDeletion: true)]
        return Pod(metadata: meta, spec: podSpec(set, node: node))
    }
}
