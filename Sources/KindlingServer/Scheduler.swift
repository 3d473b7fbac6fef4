import Foundation
import KindlingAPI

/// Binds pods without a node to one, as the default scheduler does: only Ready, schedulable nodes whose
/// labels match the pod's nodeSelector and that run fewer than their pod capacity (110 by default); among
/// those the least loaded, so replicas spread over every node. Pods that fit nowhere get PodScheduled=False
/// with the scheduler's message and are retried when anything changes.
struct Scheduler: Controller {
    let name = "scheduler"

    func run(_ registry: Registry) async throws {
        try await reconcileOnChange(registry, watching: [Pod.self, Node.self]) { try schedulePending(registry) }
    }

    func schedulePending(_ registry: Registry) throws {
        let pods = try registry.list(Pod.self).items
        let pending = pods.filter { ($0.spec.nodeName ?? "").isEmpty && $0.metadata.deletionTimestamp == nil
            && ($0.spec.schedulerName ?? "default-scheduler") == "default-scheduler" }
        guard !pending.isEmpty else { return }
        let nodes = try registry.list(Node.self).items
        var load = Dictionary(grouping: pods.filter { !($0.spec.nodeName ?? "").isEmpty && !Scheduler.isFinished($0) },
                              by: { $0.spec.nodeName! }).mapValues(\.count)
        for pod in pending.sorted(by: { ($0.metadata.creationTimestamp ?? "", $0.name) < ($1.metadata.creationTimestamp ?? "", $1.name) }) {
            switch Scheduler.choose(for: pod, nodes: nodes, load: load) {
            case .success(let node):
                try registry.bind(pod, to: node)
                load[node, default: 0] += 1
            case .failure(let reason):
                try registry.markUnschedulable(pod, message: reason.message)
            }
        }
    }

    struct Unschedulable: Error { let message: String }

    /// The node for `pod`: pure, so the placement rules are unit-tested.
    static func choose(for pod: Pod, nodes: [Node], load: [String: Int]) -> Result<String, Unschedulable> {
        var reasons: [String: Int] = [:]
        var candidates: [Node] = []
        for node in nodes {
            let capacity = Int(node.status?.allocatable?["pods"] ?? "") ?? 110
            if !node.isReady {
                reasons["node(s) were not ready", default: 0] += 1
            } else if node.spec?.unschedulable == true {
                reasons["node(s) were unschedulable", default: 0] += 1
            } else if !(pod.spec.nodeSelector ?? [:]).allSatisfy({ node.metadata.labels?[$0.key] == $0.value }) {
                reasons["node(s) didn't match Pod's node affinity/selector", default: 0] += 1
            } else if load[node.name, default: 0] >= capacity {
                reasons["Too many pods", default: 0] += 1
            } else {
                candidates.append(node)
            }
        }
        guard let best = candidates.min(by: { (load[$0.name, default: 0], $0.name) < (load[$1.name, default: 0], $1.name) }) else {
            let detail = reasons.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
            return .failure(Unschedulable(message: "0/\(nodes.count) nodes are available\(detail.isEmpty ? "" : ": " + detail)."))
        }
        return .success(best.name)
    }

    static func isFinished(_ pod: Pod) -> Bool { pod.phase == "Succeeded" || pod.phase == "Failed" }
}

extension Registry {
    /// Sets a pod's node (the Binding subresource's effect): the one change to a pod's spec the API allows
    /// after creation, and only once.
    func bind(_ pod: Pod, to node: String) throws {
        try modifyUnchecked(Pod.self, namespace: pod.namespace, name: pod.name) { current in
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
    }

    func markUnschedulable(_ pod: Pod, message: String) throws {
        try modifyUnchecked(Pod.self, namespace: pod.namespace, name: pod.name) { current in
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
    }
}
