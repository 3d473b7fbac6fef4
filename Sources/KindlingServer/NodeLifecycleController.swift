import Foundation
import KindlingAPI

/// kube-controller-manager's node lifecycle controller, in part: a node whose agent has not posted status
/// for `gracePeriod` gets Ready=Unknown ("Kubelet stopped posting node status."), and its pods are marked
/// not ready, so services stop sending them traffic and LoadBalancer IPs move to other nodes. The node's
/// own agent sets everything back when it posts again. A node still not ready has its pods deleted once their
/// tolerations of its NoExecute taint run out (Kubernetes' taint-based eviction; `evictionTimeout` for pods
/// tolerating nothing, the 300 s every pod is given by default; never for DaemonSet pods): they stay Terminating
/// until the node's agent confirms, and their controllers make new ones elsewhere.
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
            let notReady = NodeLifecycleController.notReady(nodes, now: now)
            guard !notReady.isEmpty else { return }
            for pod in try registry.list(Pod.self).items where pod.metadata.deletionTimestamp == nil && !Scheduler.isFinished(pod) {
                guard let (seconds, taint) = notReady[pod.spec.nodeName ?? ""],
                      NodeLifecycleController.evicts(pod, notReadyFor: seconds, taint: taint, defaultSeconds: evictionTimeout) else { continue }
                if (try? registry.delete(Pod.self, namespace: pod.namespace, name: pod.name)) != nil {
                    NodeLifecycleController.events.record(registry, pod, reason: "TaintManagerEviction",
                                                          message: "Marking for deletion Pod \(pod.namespace)/\(pod.name)")
                }
            }
        }
    }

    /// The NoExecute taints of a node that is not ready: unreachable when its agent went silent, not-ready when it
    /// said so itself.
    static let unreachable = Node.Taint(key: "node.kubernetes.io/unreachable", effect: "NoExecute")
    static let notReadyTaint = Node.Taint(key: "node.kubernetes.io/not-ready", effect: "NoExecute")

    /// Whether a pod on a node not ready for `seconds` goes, as the taint manager decides: a toleration of the
    /// node's taint without seconds keeps it for ever (a DaemonSet's pods), one with seconds that long; a pod
    /// tolerating nothing has the 300 s Kubernetes' admission gives every pod (`defaultSeconds`). Pure.
    static func evicts(_ pod: Pod, notReadyFor seconds: TimeInterval, taint: Node.Taint, defaultSeconds: TimeInterval) -> Bool {
        let matching = (pod.spec.tolerations ?? []).filter { $0.tolerates(taint) }
        if matching.isEmpty { return seconds > defaultSeconds }
        guard let limit = matching.compactMap(\.tolerationSeconds).min(), !matching.contains(where: { $0.tolerationSeconds == nil }) else { return false }
        return seconds > Double(max(0, limit))
    }

    /// Nodes not ready (Unknown or False): for how long, and the taint that stands for it. Pure.
    static func notReady(_ nodes: [Node], now: Date) -> [String: (seconds: TimeInterval, taint: Node.Taint)] {
        var result: [String: (seconds: TimeInterval, taint: Node.Taint)] = [:]
        for node in nodes {
            guard let ready = node.status?.conditions?["Ready"], ready.status != "True",
                  let since = ready.lastTransitionTime.flatMap(Timestamp.date) else { continue }
            result[node.name] = (now.timeIntervalSince(since), ready.status == "Unknown" ? unreachable : notReadyTaint)
        }
        return result
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
        let notReady = notReady(nodes, now: now)
        return nodes.map(\.name).filter { (notReady[$0]?.seconds ?? 0) > timeout }
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
