import Foundation
import KindlingAPI

/// kind's storage: local-path-provisioner for the `standard` class (a directory per volume under the cluster's
/// state directory, on the node the scheduler picked for the claim's first pod, or the first node for a class that
/// binds at once), kube-controller-manager's binder (a claim bound to the volume made for it, or to an available
/// one that fits), its reclaiming (a released volume of a `Delete` class goes with its directory), and the
/// pvc-protection finalizer (a claim in use by a pod stays until the pod is gone). Decisions are pure statics.
struct VolumeProvisioner: Controller {
    let name = "persistentvolume"
    /// Where volumes' directories are made; nothing outside it is ever removed.
    let root: String
    static let events = EventRecorder(component: "persistentvolume-controller")
    static let provisionerEvents = EventRecorder(component: "rancher.io/local-path_local-path-provisioner")
    static let protection = "kubernetes.io/pvc-protection"
    static let provisionedBy = "pv.kubernetes.io/provisioned-by"

    func run(_ registry: Registry) async throws {
        try await reconcileOnChange(registry, watching: [PersistentVolumeClaim.self, PersistentVolume.self, StorageClass.self, Pod.self, Node.self]) {
            try sync(registry)
        }
    }

    func sync(_ registry: Registry) throws {
        let claims = try registry.list(PersistentVolumeClaim.self).items
        var volumes = try registry.list(PersistentVolume.self).items
        let classes = Dictionary(try registry.list(StorageClass.self).items.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let pods = try registry.list(Pod.self).items
        for claim in claims { try protect(claim, pods: pods, registry) }
        for claim in claims where claim.metadata.deletionTimestamp == nil && claim.status?.phase != "Bound" {
            if let volume = Self.volume(for: claim, in: volumes) {
                try bind(claim, to: volume, registry)
            } else if let storageClass = claim.spec.storageClassName.flatMap({ classes[$0] }), storageClass.provisioner == StorageClass.localPath,
                      let node = try Self.node(for: claim, class: storageClass, registry) {
                let volume = try provision(claim, class: storageClass, node: node, registry)
                volumes.append(volume)
                try bind(claim, to: volume, registry)
            }
        }
        let live = Set(claims.compactMap(\.metadata.uid))
        for volume in volumes { try reclaim(volume, claims: live, registry) }
    }

    /// A volume already made or claimed for this claim, else an available one of its class that fits. Pure.
    static func volume(for claim: PersistentVolumeClaim, in volumes: [PersistentVolume]) -> PersistentVolume? {
        if let named = claim.spec.volumeName { return volumes.first { $0.name == named } }
        if let mine = volumes.first(where: { $0.spec.claimRef?.uid == claim.metadata.uid }) { return mine }
        let wanted = claim.spec.resources?.requests?["storage"].map(\.value) ?? 0
        return volumes.filter { volume in
            volume.spec.claimRef == nil && volume.status?.phase != "Released" && (volume.spec.storageClassName ?? "") == (claim.spec.storageClassName ?? "")
                && Set(claim.spec.accessModes ?? []).isSubset(of: volume.spec.accessModes ?? [])
                && (volume.spec.capacity?["storage"].flatMap(Quantity.init)?.value ?? 0) >= wanted
        }.min { ($0.spec.capacity?["storage"].flatMap(Quantity.init)?.value ?? 0) < ($1.spec.capacity?["storage"].flatMap(Quantity.init)?.value ?? 0) }
    }

    /// Where a claim's volume is to be made: the scheduler's choice for a class that waits for a first consumer
    /// (none yet: it waits, as its event says), the first Ready node for one that binds at once.
    static func node(for claim: PersistentVolumeClaim, class storageClass: StorageClass, _ registry: Registry) throws -> String? {
        if storageClass.volumeBindingMode == "WaitForFirstConsumer" {
            guard let node = claim.metadata.annotations?[PersistentVolumeClaim.selectedNodeAnnotation] else {
                events.record(registry, claim, reason: "WaitForFirstConsumer", message: "waiting for first consumer to be created before binding")
                return nil
            }
            return node
        }
        return try registry.list(Node.self).items.filter(\.isReady).map(\.name).sorted().first
    }

    /// local-path-provisioner's volume: `pvc-<claim uid>`, a directory on the machine, tied to `node`.
    static func volume(for claim: PersistentVolumeClaim, class storageClass: StorageClass, node: String, root: String) -> PersistentVolume {
        var meta = ObjectMeta(name: "pvc-\(claim.metadata.uid ?? UUID().uuidString.lowercased())")
        meta.annotations = [provisionedBy: storageClass.provisioner]
        var spec = PersistentVolume.Spec()
        spec.capacity = ["storage": claim.requestedStorage ?? "0"]
        spec.accessModes = claim.spec.accessModes
        spec.persistentVolumeReclaimPolicy = storageClass.reclaimPolicy ?? "Delete"
        spec.storageClassName = storageClass.name
        spec.claimRef = ObjectReference(kind: PersistentVolumeClaim.kind, namespace: claim.namespace, name: claim.name, uid: claim.metadata.uid)
        spec.hostPath = .init(path: "\(root)/\(meta.name ?? "")_\(claim.namespace)_\(claim.name)", type: "DirectoryOrCreate")
        spec.nodeAffinity = .init(required: NodeSelector(nodeSelectorTerms: [
            NodeSelectorTerm(matchExpressions: [NodeSelectorRequirement(key: "kubernetes.io/hostname", operator: "In", values: [node])]),
        ]))
        spec.volumeMode = claim.spec.volumeMode ?? "Filesystem"
        return PersistentVolume(metadata: meta, spec: spec)
    }

    func provision(_ claim: PersistentVolumeClaim, class storageClass: StorageClass, node: String, _ registry: Registry) throws -> PersistentVolume {
        Self.provisionerEvents.record(registry, claim, reason: "Provisioning", message: "External provisioner is provisioning volume for claim \"\(claim.namespace)/\(claim.name)\"")
        let volume = Self.volume(for: claim, class: storageClass, node: node, root: root)
        try FileManager.default.createDirectory(atPath: volume.path ?? root, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o777])
        let made = try registry.create(volume)
        Self.provisionerEvents.record(registry, claim, reason: "ProvisioningSucceeded", message: "Successfully provisioned volume \(made.name)")
        return made
    }

    func bind(_ claim: PersistentVolumeClaim, to volume: PersistentVolume, _ registry: Registry) throws {
        try registry.modifyUnchecked(PersistentVolume.self, name: volume.name) { current in
            guard current.status?.phase != "Bound" || current.spec.claimRef?.uid != claim.metadata.uid else { return nil }
            var next = current
            next.spec.claimRef = ObjectReference(kind: PersistentVolumeClaim.kind, namespace: claim.namespace, name: claim.name, uid: claim.metadata.uid)
            next.status = .init(phase: "Bound")
            return next
        }
        try registry.modifyUnchecked(PersistentVolumeClaim.self, namespace: claim.namespace, name: claim.name) { current in
            guard current.metadata.uid == claim.metadata.uid, current.status?.phase != "Bound" else { return nil }
            var next = current
            next.spec.volumeName = volume.name
            next.metadata.annotations = (current.metadata.annotations ?? [:]).merging(
                ["pv.kubernetes.io/bind-completed": "yes", "pv.kubernetes.io/bound-by-controller": "yes"]) { _, new in new }
            var status = PersistentVolumeClaim.Status(phase: "Bound")
            status.accessModes = volume.spec.accessModes
            status.capacity = volume.spec.capacity
            next.status = status
            return next
        }
    }

    /// A bound volume whose claim is gone is Released; with reclaim policy Delete it goes, and its directory with it.
    func reclaim(_ volume: PersistentVolume, claims: Set<String>, _ registry: Registry) throws {
        guard let claim = volume.spec.claimRef?.uid, !claims.contains(claim), volume.metadata.deletionTimestamp == nil else { return }
        if volume.spec.persistentVolumeReclaimPolicy == "Delete" {
            if let path = volume.path, path.hasPrefix(root + "/"), !path.contains("/../") { try? FileManager.default.removeItem(atPath: path) }
            _ = try? registry.delete(PersistentVolume.self, namespace: "", name: volume.name)
        } else if volume.status?.phase != "Released" {
            try registry.modifyUnchecked(PersistentVolume.self, name: volume.name) { current in
                var next = current
                next.status = .init(phase: "Released")
                return next
            }
        }
    }

    /// kube-controller-manager's pvc-protection: every claim carries the finalizer; a deleted claim keeps it
    /// while a pod that has not finished uses it.
    func protect(_ claim: PersistentVolumeClaim, pods: [Pod], _ registry: Registry) throws {
        let has = claim.metadata.finalizers?.contains(Self.protection) == true
        if claim.metadata.deletionTimestamp == nil {
            guard !has else { return }
            try registry.modifyUnchecked(PersistentVolumeClaim.self, namespace: claim.namespace, name: claim.name) { current in
                guard current.metadata.deletionTimestamp == nil, current.metadata.finalizers?.contains(Self.protection) != true else { return nil }
                var next = current
                next.metadata.finalizers = (current.metadata.finalizers ?? []) + [Self.protection]
                return next
            }
            return
        }
        let inUse = pods.contains { pod in
            pod.namespace == claim.namespace && !Scheduler.isFinished(pod)
                && (pod.spec.volumes ?? []).contains { $0.persistentVolumeClaim?.claimName == claim.name }
        }
        guard has, !inUse else { return }
        _ = try registry.modify(PersistentVolumeClaim.self, namespace: claim.namespace, name: claim.name) { current in
            var next = current
            next.metadata.finalizers = current.metadata.finalizers?.filter { $0 != Self.protection }
            return next
        }
    }
}
