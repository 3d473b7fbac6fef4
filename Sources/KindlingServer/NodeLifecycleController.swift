import Foundation
import KindlingAPI

/// kube-controller-manager's node lifecycle controller, in part: a node whose agent has not posted status
/// for `gracePeriod` gets Ready=Unknown ("Kubelet stopped posting node status."), and its pods are marked
/// not ready, so services stop sending them traffic and LoadBalancer IPs move to other nodes. The node's
/// own agent sets everything back when it posts again. A node still not ready after `evictionTimeout` has its
/// pods deleted (Kubernetes' taint-based eviction, with the default 300 s toleration of unreachable nodes):
/// they stay Terminating until the node's agent confirms, and their controllers make new ones elsewhere.
struct NodeLifecycleController: Controller {
    let name = "node-lifecycle"
    /// kube-controller-manager's --node-monitor-grace-period (40 s); KINDLING_NODE_MONITOR_GRACE_PERIOD
    /// (seconds) shortens it, for tests of node failure.
    let gracePeriod: TimeInterval
    let evictionTimeout: TimeInterval

    static let unknownMessage = "Kubelet stopped posting node status."
    static let events = EventRecorder(component: "node-controller")

    func run(_ registry: Registry) async throws {
        try await reconcileOnChange(registry, watching: [Node.self], resync: .seconds(1)) {
            let now = Date()
            let nodes = try registry.list(Node.self).items
            for node in NodeLifecycleController.silent(nodes, now: now, gracePeriod: gracePeriod) {
                try markUnknown(node, registry, now: Timestamp.string(now))
            }
            let evicting = Set(NodeLifecycleController.toEvict(nodes, now: now, timeout: evictionTimeout))
            guard !evicting.isEmpty else { return }
            for pod in try registry.list(Pod.self).items where evicting.contains(pod.spec.nodeName ?? "")
                && pod.metadata.deletionTimestamp == nil && !Scheduler.isFinished(pod) {
                if (try? registry.delete(Pod.self, namespace: pod.namespace, name: pod.name)) != nil {
                    NodeLifecycleController.events.record(registry, pod, reason: "TaintManagerEviction",
                                                          message: "Marking for deletion Pod \(pod.namespace)/\(pod.name)")
                }
            }
        }
    }

    /// Nodes not yet marked whose last heartbeat is older than the grace period. Pure.
    static func silent(_ nodes: [Node], now: Date, gracePeriod: TimeInterval) -> [String] {
        nodes.compactMap { node in
            guard let ready = node.status?.conditions?["Ready"], ready.status != "Unknown",
                  let beat = (ready.lastHeartbeatTime ?? ready.lastTransitionTime).flatMap(Timestamp.date),
                  now.timeIntervalSince(beat) > gracePeriod else { return nil }
            return node.name
        }
    }

    /// Nodes not ready (Unknown or False) for longer than `timeout`. Pure.
    static func toEvict(_ nodes: [Node], now: Date, timeout: TimeInterval) -> [String] {
        nodes.compactMap { node in
            guard let ready = node.status?.conditions?["Ready"], ready.status != "True",
                  let since = ready.lastTransitionTime.flatMap(Timestamp.date), now.timeIntervalSince(since) > timeout else { return nil }
            return node.name
        }
    }

    func markUnknown(_ name: String, _ registry: Registry, now: String) throws {
        let marked = try registry.modifyUnchecked(Node.self, name: name) { node in
            var node = node
            var conditions = node.status?.conditions ?? []
            for index in conditions.indices where conditions[index].status != "Unknown" {
                var condition = conditions[index]
                condition.status = "Unknown"
                condition.reason = "NodeStatusUnknown"
                condition.message = NodeLifecycleController.unknownMessage
                conditions.set(condition, now: now)
            }
            node.status?.conditions = conditions
            return node
        }
        if let marked {
            NodeLifecycleController.events.record(registry, marked, reason: "NodeNotReady", message: "Node \(name) status is now: NodeNotReady")
        }
        for pod in try registry.list(Pod.self).items where pod.spec.nodeName == name && pod.isReady {
            NodeLifecycleController.events.record(registry, pod, type: "Warning", reason: "NodeNotReady", message: "Node is not ready")
            try registry.modifyUnchecked(Pod.self, namespace: pod.namespace, name: pod.name) { pod in
                var pod = pod
                var conditions = pod.status?.conditions ?? []
                for type in ["Ready", "ContainersReady"] {
                    guard var condition = conditions[type] else { continue }
                    condition.status = "False"
                    condition.reason = nil
                    condition.message = nil
                    conditions.set(condition, now: now)
                }
                pod.status?.conditions = conditions
                return pod
            }
        }
    }
}
