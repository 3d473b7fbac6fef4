import Foundation
import KindlingAPI

/// Binds pods without a node to one, as the default scheduler does: only Ready, schedulable nodes whose
/// labels match the pod's nodeSelector and required node affinity, whose NoSchedule and NoExecute taints it
/// tolerates, and that run fewer than their pod capacity (110 by default); among those the one its preferred
/// affinity weighs most, then the one with the fewest pods of the same owner (the default topology spreading of
/// a ReplicaSet's pods over hostnames), then the least loaded. Pods that fit nowhere get PodScheduled=False
/// with the scheduler's message and are retried when anything changes.
struct Scheduler: Controller {
    let name = "scheduler"
    static let events = EventRecorder(component: "default-scheduler")

    func run(_ registry: Registry) async throws {
        try await reconcileOnChange(registry, watching: [Pod.self, Node.self, PersistentVolumeClaim.self]) { try schedulePending(registry) }
    }

    func schedulePending(_ registry: Registry) throws {
        let pods = try registry.list(Pod.self).items
        let pending = pods.filter { ($0.spec.nodeName ?? "").isEmpty && $0.metadata.deletionTimestamp == nil
            && ($0.spec.schedulerName ?? "default-scheduler") == "default-scheduler" }
        guard !pending.isEmpty else { return }
        let nodes = try registry.list(Node.self).items
        let placed = pods.filter { !($0.spec.nodeName ?? "").isEmpty && !Scheduler.isFinished($0) }
        var load = Dictionary(grouping: placed, by: { $0.spec.nodeName! }).mapValues(\.count)
        // Per owner, how many of its pods each node runs.
        var siblings: [String: [String: Int]] = [:]
        for pod in placed { if let owner = Scheduler.owner(pod) { siblings[owner, default: [:]][pod.spec.nodeName!, default: 0] += 1 } }
        let storage = pending.contains { !Scheduler.claims(of: $0).isEmpty } ? try VolumeConstraints(registry) : VolumeConstraints()
        for pod in pending.sorted(by: { ($0.metadata.creationTimestamp ?? "", $0.name) < ($1.metadata.creationTimestamp ?? "", $1.name) }) {
            let owner = Scheduler.owner(pod)
            if let missing = storage.problem(for: pod) {
                try registry.markUnschedulable(pod, message: "0/\(nodes.count) nodes are available: \(missing).")
                continue
            }
            switch Scheduler.choose(for: pod, nodes: nodes, load: load, siblings: owner.flatMap { siblings[$0] } ?? [:], volumes: storage) {
            case .success(let node):
                try storage.select(node, for: pod, registry)
                try registry.bind(pod, to: node)
                load[node, default: 0] += 1
                if let owner { siblings[owner, default: [:]][node, default: 0] += 1 }
            case .failure(let reason):
                try registry.markUnschedulable(pod, message: reason.message)
            }
        }
    }

    struct Unschedulable: Error { let message: String }

    /// The node for `pod`: pure, so the placement rules are unit-tested.
    static func choose(for pod: Pod, nodes: [Node], load: [String: Int], siblings: [String: Int] = [:],
                       volumes: VolumeConstraints = VolumeConstraints()) -> Result<String, Unschedulable> {
        var reasons: [String: Int] = [:]
        var candidates: [Node] = []
        for node in nodes {
            let capacity = Int(node.status?.allocatable?["pods"] ?? "") ?? 110
            if !node.isReady {
                reasons["node(s) were not ready", default: 0] += 1
            } else if node.spec?.unschedulable == true, !(pod.spec.tolerations ?? []).contains(where: { $0.tolerates(unschedulable) }) {
                reasons["node(s) were unschedulable", default: 0] += 1
            } else if !pod.spec.matchesNodeSelection(node) {
                reasons["node(s) didn't match Pod's node affinity/selector", default: 0] += 1
            } else if !volumes.allows(pod, on: node) {
                reasons["node(s) had volume node affinity conflict", default: 0] += 1
            } else if let taint = pod.spec.untoleratedTaint(node) {
                reasons["node(s) had untolerated taint {\(taint.key): \(taint.value ?? "")}", default: 0] += 1
            } else if load[node.name, default: 0] >= capacity {
                reasons["Too many pods", default: 0] += 1
            } else {
                candidates.append(node)
            }
        }
        // Preferred node affinity first (the sum of the weights of the terms a node matches), then spreading.
        let preferred = pod.spec.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []
        func preference(_ node: Node) -> Int { -preferred.filter { $0.preference.matches(node) }.reduce(0) { $0 + $1.weight } }
        func rank(_ node: Node) -> (Int, Int, Int, String) { (preference(node), siblings[node.name, default: 0], load[node.name, default: 0], node.name) }
        guard let best = candidates.min(by: { rank($0) < rank($1) }) else {
            let detail = reasons.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
            return .failure(Unschedulable(message: "0/\(nodes.count) nodes are available\(detail.isEmpty ? "" : ": " + detail)."))
        }
        return .success(best.name)
    }

    /// What a cordoned node is tainted with; a pod tolerating it (a DaemonSet's) is placed there all the same.
    static let unschedulable = Node.Taint(key: "node.kubernetes.io/unschedulable", effect: "NoSchedule")

    /// The claims a pod's volumes name.
    static func claims(of pod: Pod) -> [String] { (pod.spec.volumes ?? []).compactMap { $0.persistentVolumeClaim?.claimName } }

    /// The uid of the pod's controlling owner (its ReplicaSet), if any.
    static func owner(_ pod: Pod) -> String? { pod.metadata.ownerReferences?.first { $0.controller == true }?.uid }

    static func isFinished(_ pod: Pod) -> Bool { pod.phase == "Succeeded" || pod.phase == "Failed" }
}

extension Registry {
    /// Sets a pod's node (the Binding subresource's effect): the one change to a pod's spec the API allows
    /// after creation, and only once.
    func bind(_ pod: Pod, to node: String) throws {
        let bound = try modifyUnchecked(Pod.self, namespace: pod.namespace, name: pod.name) { current in
            guard (current.spec.nodeName ?? "").isEmpty else { return nil }
            var bound = current
            bound.spec.nodeName = node
            var status = bound.status ?? PodStatus(phase: "Pending")
            var conditions = status.conditions ?? []
            conditions.set(Condition(type: "PodScheduled", status: "True"), now: now)
            status.conditions = conditions
            status.phase = status.phase ?? "Pending"
            bound.status = status
            return bound
        }
        if let bound {
            Scheduler.events.record(self, bound, reason: "Scheduled", message: "Successfully assigned \(pod.namespace)/\(pod.name) to \(node)")
        }
    }

    func markUnschedulable(_ pod: Pod, message: String) throws {
        let marked = try modifyUnchecked(Pod.self, namespace: pod.namespace, name: pod.name) { current in
            guard (current.spec.nodeName ?? "").isEmpty else { return nil }
            var status = current.status ?? PodStatus(phase: "Pending")
            var conditions = status.conditions ?? []
            if conditions["PodScheduled"]?.message == message { return nil }
            conditions.set(Condition(type: "PodScheduled", status: "False", reason: "Unschedulable", message: message), now: now)
            status.conditions = conditions
            status.phase = "Pending"
            var updated = current
            updated.status = status
            return updated
        }
        if let marked { Scheduler.events.record(self, marked, type: "Warning", reason: "FailedScheduling", message: message) }
    }
}

/// The scheduler's volume binding, in part: a pod's claims must exist; a bound claim's volume must be reachable
/// from the node (its node affinity); an unbound claim of a class that waits for a first consumer gets the chosen
/// node as `volume.kubernetes.io/selected-node`, for the provisioner; one that binds at once must be bound first.
struct VolumeConstraints {
    var claims: [String: PersistentVolumeClaim] = [:]
    var volumes: [String: PersistentVolume] = [:]
    var classes: [String: StorageClass] = [:]

    init() {}

    init(_ registry: Registry) throws {
        claims = Dictionary(try registry.list(PersistentVolumeClaim.self).items.map { ("\($0.namespace)/\($0.name)", $0) }, uniquingKeysWith: { a, _ in a })
        volumes = Dictionary(try registry.list(PersistentVolume.self).items.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        classes = Dictionary(try registry.list(StorageClass.self).items.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    }

    /// Why the pod cannot be placed anywhere yet, in the scheduler's words; nil when its claims allow it.
    func problem(for pod: Pod) -> String? {
        for name in Scheduler.claims(of: pod) {
            guard let claim = claims["\(pod.namespace)/\(name)"], claim.metadata.deletionTimestamp == nil else {
                return "persistentvolumeclaim \"\(name)\" not found"
            }
            let waits = claim.spec.storageClassName.flatMap { classes[$0] }?.volumeBindingMode == "WaitForFirstConsumer"
            if claim.spec.volumeName == nil && !waits { return "pod has unbound immediate PersistentVolumeClaims" }
        }
        return nil
    }

    func allows(_ pod: Pod, on node: Node) -> Bool {
        Scheduler.claims(of: pod).allSatisfy { name in
            guard let volume = claims["\(pod.namespace)/\(name)"]?.spec.volumeName.flatMap({ volumes[$0] }),
                  let required = volume.spec.nodeAffinity?.required else { return true }
            return required.matches(node)
        }
    }

    func select(_ node: String, for pod: Pod, _ registry: Registry) throws {
        for name in Scheduler.claims(of: pod) {
            guard let claim = claims["\(pod.namespace)/\(name)"], claim.spec.volumeName == nil,
                  claim.metadata.annotations?[PersistentVolumeClaim.selectedNodeAnnotation] == nil else { continue }
            try registry.modifyUnchecked(PersistentVolumeClaim.self, namespace: claim.namespace, name: claim.name) { current in
                guard current.spec.volumeName == nil, current.metadata.annotations?[PersistentVolumeClaim.selectedNodeAnnotation] == nil else { return nil }
                var next = current
                next.metadata.annotations = (current.metadata.annotations ?? [:]).merging([PersistentVolumeClaim.selectedNodeAnnotation: node]) { _, new in new }
                return next
            }
        }
    }
}
