import Foundation
import KindlingAPI
@testable import KindlingServer
import Testing

/// The DaemonSet controller's decisions as `DaemonSetPlan.make` takes them, pure: which nodes get a pod (selector,
/// taints and tolerations), what goes (pods on nodes no longer meant, failed ones, extras), a rolling update within
/// maxUnavailable or ahead with maxSurge, OnDelete, and the status; and DaemonSets refused in Kubernetes' words.
@Suite struct DaemonSetTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    static func set(_ extra: String = "") -> DaemonSet {
        var set = try! KubeJSON.decoder.decode(DaemonSet.self, from: Data("""
            {"metadata": {"name": "agent", "namespace": "kube-system", "uid": "ds1", "generation": 1},
             "spec": {"selector": {"matchLabels": {"app": "agent"}}, \(extra)
                      "template": {"metadata": {"labels": {"app": "agent"}}, "spec": {"containers": [{"name": "a", "image": "busybox"}]}}}}
            """.utf8))
        set.applyDefaults()
        return set
    }

    static func node(_ name: String, labels: [String: String] = [:], taints: [Node.Taint] = []) -> Node {
        Node(name: name, labels: labels, taints: taints)
    }

    /// A pod of `set` on `node`, ready or not, of the current template or an older one.
    static func pod(_ name: String, of set: DaemonSet, on node: String, ready: Bool = true, current: Bool = true, phase: String = "Running") -> Pod {
        var pod = DaemonSetPlan.pod(for: set, node: node)
        pod.metadata.name = name
        pod.metadata.creationTimestamp = Timestamp.string(now.addingTimeInterval(-100))
        if !current { pod.metadata.labels?[DaemonSetPlan.hashLabel] = "old" }
        pod.spec.nodeName = node
        var status = PodStatus(phase: phase)
        status.conditions = [Condition(type: "Ready", status: ready ? "True" : "False")]
        pod.status = status
        return pod
    }

    @Test func everyEligibleNodeGetsOnePodPinnedToIt() {
        let set = Self.set()
        let nodes = [Self.node("cp", taints: [.controlPlane]), Self.node("w1"), Self.node("w2")]
        let plan = DaemonSetPlan.make(set, pods: [], nodes: nodes, now: Self.now)
        #expect(plan.create == ["w1", "w2"], "the control plane's taint is not tolerated")
        #expect(plan.status.desiredNumberScheduled == 2 && plan.status.numberUnavailable == 2)
        let pod = DaemonSetPlan.pod(for: set, node: "w1")
        #expect(DaemonSetPlan.targetNode(pod) == "w1")
        #expect(pod.metadata.ownerReferences?.first?.controller == true && pod.metadata.generateName == "agent-")
        #expect(pod.spec.tolerations?.contains(Toleration(key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute")) == true)
        #expect(pod.metadata.labels?[DaemonSetPlan.hashLabel] == DeploymentController.templateHash(set.spec.template))
    }

    @Test func tolerationsAndSelectorsDecideTheNodes() {
        var set = Self.set()
        set.spec.template.spec.tolerations = [Toleration(key: "node-role.kubernetes.io/control-plane", operator: "Exists", effect: "NoSchedule")]
        set.spec.template.spec.nodeSelector = ["disk": "ssd"]
        let nodes = [Self.node("cp", labels: ["disk": "ssd"], taints: [.controlPlane]), Self.node("w1", labels: ["disk": "ssd"]), Self.node("w2")]
        let stray = Self.pod("agent-x", of: set, on: "w2")
        let plan = DaemonSetPlan.make(set, pods: [stray], nodes: nodes, now: Self.now)
        #expect(plan.create == ["cp", "w1"])
        #expect(plan.delete.map(\.name) == ["agent-x"], "w2 lacks the label")
        #expect(plan.status.numberMisscheduled == 1)
    }

    @Test func failedAndExtraPodsGo() {
        let set = Self.set()
        let nodes = [Self.node("w1"), Self.node("w2")]
        let pods = [Self.pod("agent-a", of: set, on: "w1", phase: "Failed"), Self.pod("agent-b", of: set, on: "w2"), Self.pod("agent-c", of: set, on: "w2")]
        let plan = DaemonSetPlan.make(set, pods: pods, nodes: nodes, now: Self.now)
        #expect(plan.create == ["w1"])
        #expect(plan.delete.map(\.name).sorted() == ["agent-a", "agent-c"])
        #expect(plan.status.currentNumberScheduled == 1 && plan.status.numberReady == 1 && plan.status.updatedNumberScheduled == 1)
    }

    @Test func aRollingUpdateReplacesWithinMaxUnavailable() {
        let set = Self.set(#""updateStrategy": {"rollingUpdate": {"maxUnavailable": 2}},"#)
        let nodes = (1...4).map { Self.node("w\($0)") }
        let old = (1...4).map { Self.pod("agent-\($0)", of: set, on: "w\($0)", current: false) }
        var plan = DaemonSetPlan.make(set, pods: old, nodes: nodes, now: Self.now)
        #expect(plan.delete.map(\.name) == ["agent-1", "agent-2"] && plan.create.isEmpty)
        // One replaced and ready, one new not ready yet: one more may go.
        let next = [Self.pod("agent-n1", of: set, on: "w1"), Self.pod("agent-n2", of: set, on: "w2", ready: false)] + old.dropFirst(2)
        plan = DaemonSetPlan.make(set, pods: next, nodes: nodes, now: Self.now)
        #expect(plan.delete.map(\.name) == ["agent-3"])
        #expect(plan.status.updatedNumberScheduled == 2 && plan.status.numberAvailable == 3)
    }

    @Test func maxSurgeStartsTheNewPodBeforeTheOldGoes() {
        let set = Self.set(#""updateStrategy": {"rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},"#)
        let nodes = [Self.node("w1"), Self.node("w2")]
        let old = [Self.pod("agent-1", of: set, on: "w1", current: false), Self.pod("agent-2", of: set, on: "w2", current: false)]
        var plan = DaemonSetPlan.make(set, pods: old, nodes: nodes, now: Self.now)
        #expect(plan.create == ["w1"] && plan.delete.isEmpty)
        plan = DaemonSetPlan.make(set, pods: old + [Self.pod("agent-n1", of: set, on: "w1", ready: false)], nodes: nodes, now: Self.now)
        #expect(plan.create.isEmpty && plan.delete.isEmpty, "the new pod is not available yet")
        plan = DaemonSetPlan.make(set, pods: old + [Self.pod("agent-n1", of: set, on: "w1")], nodes: nodes, now: Self.now)
        #expect(plan.delete.map(\.name) == ["agent-1"] && plan.create.isEmpty, "one surge at a time")
    }

    @Test func onDeleteLeavesOldPodsAlone() {
        let set = Self.set(#""updateStrategy": {"type": "OnDelete"},"#)
        let plan = DaemonSetPlan.make(set, pods: [Self.pod("agent-1", of: set, on: "w1", current: false)], nodes: [Self.node("w1")], now: Self.now)
        #expect(plan.create.isEmpty && plan.delete.isEmpty)
        #expect(plan.status.updatedNumberScheduled == 0 && plan.status.numberAvailable == 1)
    }

    @Test func taintManagerKeepsDaemonPodsAndEvictsOthersOnTime() {
        let set = Self.set()
        let daemon = DaemonSetPlan.pod(for: set, node: "w1")
        let plain = Pod(metadata: ObjectMeta(name: "p", namespace: "d"), spec: PodSpec(containers: [Container(name: "c", image: "nginx")]))
        var patient = plain
        patient.spec.tolerations = [Toleration(key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute", seconds: 30)]
        let taint = NodeLifecycleController.unreachable
        #expect(!NodeLifecycleController.evicts(daemon, notReadyFor: 10_000, taint: taint, defaultSeconds: 300))
        #expect(!NodeLifecycleController.evicts(plain, notReadyFor: 299, taint: taint, defaultSeconds: 300))
        #expect(NodeLifecycleController.evicts(plain, notReadyFor: 301, taint: taint, defaultSeconds: 300))
        #expect(NodeLifecycleController.evicts(patient, notReadyFor: 31, taint: taint, defaultSeconds: 300))
        #expect(!NodeLifecycleController.evicts(patient, notReadyFor: 31, taint: NodeLifecycleController.notReadyTaint, defaultSeconds: 300),
                "it tolerates unreachable only: not-ready gets the default")
    }

    @Test(arguments: [
        (#""updateStrategy": {"type": "Recreate"},"#, #"spec.updateStrategy.type: Unsupported value: "Recreate": supported values: "OnDelete", "RollingUpdate""#),
        (#""updateStrategy": {"rollingUpdate": {"maxUnavailable": 0, "maxSurge": 0}},"#,
         "spec.updateStrategy.rollingUpdate.maxUnavailable: Invalid value: \"0\": may not be 0 when `maxSurge` is 0"),
        (#""updateStrategy": {"rollingUpdate": {"maxUnavailable": "120%"}},"#,
         "spec.updateStrategy.rollingUpdate.maxUnavailable: Invalid value: \"120%\": must not be greater than 100%"),
        (#""minReadySeconds": -1,"#, "spec.minReadySeconds: Invalid value: -1: must be greater than or equal to 0"),
    ])
    func badDaemonSetsAreRefused(extra: String, error: String) {
        #expect(Self.set(extra).validate().map(\.description) == [error])
    }

    @Test func aDaemonSetsPodsMustAlwaysRestart() {
        var set = Self.set()
        set.spec.template.spec.restartPolicy = "OnFailure"
        #expect(set.validate().map(\.description) == [#"spec.template.spec.restartPolicy: Unsupported value: "OnFailure": supported values: "Always""#])
        var moved = Self.set()
        moved.spec.selector = LabelSelector(matchLabels: ["app": "other"])
        moved.spec.template.metadata?.labels = ["app": "other"]
        #expect(moved.validateUpdate(from: Self.set()).map(\.description).contains { $0.hasPrefix("spec.selector: Invalid value") && $0.hasSuffix("field is immutable") })
    }
}
