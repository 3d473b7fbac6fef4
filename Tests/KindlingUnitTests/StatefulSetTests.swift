import Foundation
import KindlingAPI
@testable import KindlingServer
import Testing

/// The StatefulSet controller's decisions as `StatefulSetPlan.make` takes them, pure: ordered and parallel starts,
/// claims made before their pods, scale down from the highest ordinal, rolling updates down to the partition,
/// OnDelete; the provisioner's volume choice; StatefulSets refused in Kubernetes' words.
@Suite struct StatefulSetTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    static func set(_ extra: String = "", replicas: Int = 3) -> StatefulSet {
        var set = try! KubeJSON.decoder.decode(StatefulSet.self, from: Data("""
            {"metadata": {"name": "web", "namespace": "default", "uid": "s1", "generation": 1},
             "spec": {"replicas": \(replicas), "serviceName": "nginx", "selector": {"matchLabels": {"app": "nginx"}}, \(extra)
                      "template": {"metadata": {"labels": {"app": "nginx"}}, "spec": {"containers": [{"name": "nginx", "image": "nginx",
                                   "volumeMounts": [{"name": "www", "mountPath": "/usr/share/nginx/html"}]}]}},
                      "volumeClaimTemplates": [{"metadata": {"name": "www"}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]}}
            """.utf8))
        set.applyDefaults()
        return set
    }

    static func pod(_ ordinal: Int, of set: StatefulSet, ready: Bool = true, current: Bool = true) -> Pod {
        var pod = StatefulSetPlan.pod(for: set, ordinal: ordinal)
        if !current { pod.metadata.labels?[StatefulSetPlan.hashLabel] = "web-old" }
        var status = PodStatus(phase: "Running")
        status.conditions = [Condition(type: "Ready", status: ready ? "True" : "False")]
        pod.status = status
        return pod
    }

    @Test func orderedReadyStartsOnePodAtATimeWithItsClaimFirst() {
        let set = Self.set()
        var plan = StatefulSetPlan.make(set, pods: [], claims: [], now: Self.now)
        #expect(plan.create == [0] && plan.claims.map(\.name) == ["www-web-0"])
        plan = StatefulSetPlan.make(set, pods: [Self.pod(0, of: set, ready: false)], claims: ["default/www-web-0"], now: Self.now)
        #expect(plan.create.isEmpty, "web-1 waits for web-0 to be Ready")
        plan = StatefulSetPlan.make(set, pods: [Self.pod(0, of: set)], claims: ["default/www-web-0"], now: Self.now)
        #expect(plan.create == [1] && plan.claims.map(\.name) == ["www-web-1"])
        let pod = StatefulSetPlan.pod(for: set, ordinal: 1)
        #expect(pod.name == "web-1" && pod.spec.hostname == "web-1" && pod.spec.subdomain == "nginx")
        #expect(pod.spec.volumes == [Volume(name: "www", claim: "www-web-1")])
        #expect(pod.metadata.labels?["statefulset.kubernetes.io/pod-name"] == "web-1" && pod.metadata.labels?["apps.kubernetes.io/pod-index"] == "1")
    }

    @Test func parallelStartsEveryPodAtOnce() {
        let set = Self.set(#""podManagementPolicy": "Parallel","#)
        let plan = StatefulSetPlan.make(set, pods: [], claims: [], now: Self.now)
        #expect(plan.create == [0, 1, 2] && plan.claims.count == 3)
    }

    @Test func scalingDownGoesFromTheHighestOrdinalOneAtATime() {
        let set = Self.set(replicas: 1)
        let pods = (0..<3).map { Self.pod($0, of: set) }
        var plan = StatefulSetPlan.make(set, pods: pods, claims: [], now: Self.now)
        #expect(plan.delete.map(\.name) == ["web-2"] && plan.create.isEmpty)
        var leaving = pods[2]
        leaving.metadata.deletionTimestamp = "T"
        plan = StatefulSetPlan.make(set, pods: [pods[0], pods[1], leaving], claims: [], now: Self.now)
        #expect(plan.delete.isEmpty, "web-1 waits until web-2 is gone")
        #expect(plan.status.replicas == 2)
    }

    @Test func aRollingUpdateGoesDownToThePartition() {
        let set = Self.set(#""updateStrategy": {"rollingUpdate": {"partition": 1}},"#)
        let old = (0..<3).map { Self.pod($0, of: set, current: false) }
        var plan = StatefulSetPlan.make(set, pods: old, claims: [], now: Self.now)
        #expect(plan.delete.map(\.name) == ["web-2"])
        plan = StatefulSetPlan.make(set, pods: [old[0], old[1], Self.pod(2, of: set)], claims: [], now: Self.now)
        #expect(plan.delete.map(\.name) == ["web-1"])
        plan = StatefulSetPlan.make(set, pods: [old[0], Self.pod(1, of: set), Self.pod(2, of: set)], claims: [], now: Self.now)
        #expect(plan.delete.isEmpty, "web-0 is below the partition")
        #expect(plan.status.updatedReplicas == 2 && plan.status.updateRevision == StatefulSetPlan.updateRevision(set))
        let onDelete = Self.set(#""updateStrategy": {"type": "OnDelete"},"#)
        #expect(StatefulSetPlan.make(onDelete, pods: (0..<3).map { Self.pod($0, of: onDelete, current: false) }, claims: [], now: Self.now).delete.isEmpty)
    }

    @Test func theProvisionerPicksAVolumeThatFits() {
        var claim = PersistentVolumeClaim(metadata: ObjectMeta(name: "data", namespace: "d"), spec: .init(accessModes: ["ReadWriteOnce"], storage: Quantity("2Gi")!))
        claim.metadata.uid = "c1"
        claim.spec.storageClassName = "manual"
        func volume(_ name: String, _ size: String, modes: [String] = ["ReadWriteOnce"], claimed: Bool = false) -> PersistentVolume {
            var spec = PersistentVolume.Spec()
            spec.capacity = ["storage": size]
            spec.accessModes = modes
            spec.storageClassName = "manual"
            spec.hostPath = .init(path: "/srv/\(name)", type: nil)
            if claimed { spec.claimRef = ObjectReference(kind: "PersistentVolumeClaim", namespace: "d", name: "other", uid: "c2") }
            return PersistentVolume(metadata: ObjectMeta(name: name), spec: spec)
        }
        let volumes = [volume("small", "1Gi"), volume("big", "10Gi"), volume("fit", "5Gi"), volume("taken", "2Gi", claimed: true),
                       volume("shared", "2Gi", modes: ["ReadOnlyMany"])]
        #expect(VolumeProvisioner.volume(for: claim, in: volumes)?.name == "fit", "the smallest that is large enough")
        let standard = StorageClass(metadata: ObjectMeta(name: "standard"), provisioner: StorageClass.localPath)
        let made = VolumeProvisioner.volume(for: claim, class: standard, node: "w1", root: "/var/lib/kindling/x/volumes")
        #expect(made.name == "pvc-c1" && made.path == "/var/lib/kindling/x/volumes/pvc-c1_d_data")
        #expect(made.spec.nodeAffinity?.required?.matches(Node(name: "w1", labels: ["kubernetes.io/hostname": "w1"])) == true)
    }

    @Test func badStatefulSetsAreRefused() {
        #expect(Self.set(#""podManagementPolicy": "Random","#).validate().map(\.description)
            == [#"spec.podManagementPolicy: Unsupported value: "Random": supported values: "OrderedReady", "Parallel""#])
        var changed = Self.set()
        changed.spec.serviceName = "other"
        #expect(changed.validateUpdate(from: Self.set()).first?.description.hasPrefix("spec: Forbidden: updates to statefulset spec for fields other than") == true)
        var scaled = Self.set()
        scaled.spec.replicas = 5
        #expect(scaled.validateUpdate(from: Self.set()).isEmpty)
        #expect(Self.set().validate().isEmpty, "a mount may name a claim template")
    }
}
