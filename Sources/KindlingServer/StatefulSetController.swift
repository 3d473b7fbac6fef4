import Foundation
import KindlingAPI

/// kube-controller-manager's StatefulSet controller: pods `<set>-<ordinal>` with their hostname and the set's
/// service as subdomain, each with claims `<template>-<set>-<ordinal>` made before it and kept after it; with
/// OrderedReady one pod at a time, each only once those before it are Running and Ready (scaling down from the
/// highest ordinal, one at a time), with Parallel all at once; a changed template rolled out from the highest
/// ordinal down to `partition`, one pod at a time, or on deletion only with OnDelete. What to do is
/// `StatefulSetPlan.make`, pure; this type carries it out.
struct StatefulSetController: Controller {
    let name = "statefulset"
    static let events = EventRecorder(component: "statefulset-controller")

    func run(_ registry: Registry) async throws {
        try await reconcileOnChange(registry, watching: [StatefulSet.self, Pod.self, PersistentVolumeClaim.self], resync: .seconds(1)) {
            let pods = try registry.list(Pod.self).items
            let claims = Set(try registry.list(PersistentVolumeClaim.self).items.map { "\($0.namespace)/\($0.name)" })
            for set in try registry.list(StatefulSet.self).items where set.metadata.deletionTimestamp == nil {
                let owned = pods.filter { $0.namespace == set.namespace && Scheduler.owner($0) == set.metadata.uid }
                try sync(set, pods: owned, claims: claims, registry)
            }
        }
    }

    func sync(_ set: StatefulSet, pods: [Pod], claims: Set<String>, _ registry: Registry, now: Date = Date()) throws {
        let plan = StatefulSetPlan.make(set, pods: pods, claims: claims, now: now)
        for pod in plan.delete {
            guard (try? registry.delete(Pod.self, namespace: pod.namespace, name: pod.name)) != nil else { continue }
            Self.events.record(registry, set, reason: "SuccessfulDelete", message: "delete Pod \(pod.name) in StatefulSet \(set.name) successful")
        }
        for claim in plan.claims {
            guard (try? registry.create(claim)) != nil else { continue }
            Self.events.record(registry, set, reason: "SuccessfulCreate",
                               message: "create Claim \(claim.name) Pod \(set.name)-\(claim.name.split(separator: "-").last ?? "") in StatefulSet \(set.name) success")
        }
        for ordinal in plan.create {
            let pod = try registry.create(StatefulSetPlan.pod(for: set, ordinal: ordinal))
            Self.events.record(registry, set, reason: "SuccessfulCreate", message: "create Pod \(pod.name) in StatefulSet \(set.name) successful")
        }
        try registry.writeStatus(of: set, \.status, plan.status)
    }
}

/// One pass's decision for a StatefulSet, pure: the claims and pods (by ordinal) to make, the pods to delete,
/// and its status.
struct StatefulSetPlan: Equatable {
    var create: [Int] = []
    var claims: [PersistentVolumeClaim] = []
    var delete: [Pod] = []
    var status: StatefulSet.Status

    static let hashLabel = "controller-revision-hash"
    static let podNameLabel = "statefulset.kubernetes.io/pod-name"
    static let indexLabel = "apps.kubernetes.io/pod-index"

    static func make(_ set: StatefulSet, pods: [Pod], claims: Set<String>, now: Date) -> StatefulSetPlan {
        var plan = StatefulSetPlan(status: set.status ?? StatefulSet.Status())
        let revision = updateRevision(set)
        let wanted = Array(set.firstOrdinal..<(set.firstOrdinal + (set.spec.replicas ?? 1)))
        var byOrdinal: [Int: Pod] = [:], condemned: [Pod] = []
        for pod in pods {
            guard let ordinal = ordinal(of: pod, in: set) else { continue }
            if wanted.contains(ordinal) { byOrdinal[ordinal] = pod } else { condemned.append(pod) }
        }
        condemned.sort { (ordinal(of: $0, in: set) ?? 0) > (ordinal(of: $1, in: set) ?? 0) }
        let ordered = set.spec.podManagementPolicy ?? "OrderedReady" == "OrderedReady"
        func healthy(_ pod: Pod) -> Bool { pod.phase == "Running" && pod.isReady && pod.metadata.deletionTimestamp == nil }
        var waiting = false
        for ordinal in wanted {
            guard let pod = byOrdinal[ordinal] else {
                plan.create.append(ordinal)
                if ordered {
                    waiting = true
                    break
                }
                continue
            }
            if pod.phase == "Failed", pod.metadata.deletionTimestamp == nil {
                // Made again, same name, once it is gone.
                plan.delete.append(pod)
                waiting = true
                if ordered { break }
            } else if ordered && !healthy(pod) {
                waiting = true
                break
            }
        }
        for ordinal in plan.create {
            for template in set.spec.volumeClaimTemplates ?? [] where !claims.contains("\(set.namespace)/\(claimName(template, set: set, ordinal: ordinal))") {
                plan.claims.append(claim(template, set: set, ordinal: ordinal))
            }
        }
        // Scaling down: the highest ordinal first, one at a time and only when the rest are well (OrderedReady).
        let live = condemned.filter { $0.metadata.deletionTimestamp == nil }
        if ordered {
            if !waiting, live.count == condemned.count, let highest = live.first { plan.delete.append(highest) }
        } else {
            plan.delete += live
        }
        // Updating: the highest ordinal at or above the partition not yet at the new revision, one at a time.
        let partition = set.spec.updateStrategy?.rollingUpdate?.partition ?? 0
        if set.spec.updateStrategy?.type ?? "RollingUpdate" == "RollingUpdate", !waiting, condemned.isEmpty,
           wanted.allSatisfy({ byOrdinal[$0].map(healthy) ?? false }),
           let stale = wanted.reversed().first(where: { $0 >= partition && byOrdinal[$0]?.metadata.labels?[hashLabel] != revision }),
           let pod = byOrdinal[stale] {
            plan.delete.append(pod)
        }
        plan.status = status(set, pods: pods, revision: revision, now: now)
        return plan
    }

    static func status(_ set: StatefulSet, pods: [Pod], revision: String, now: Date) -> StatefulSet.Status {
        var status = set.status ?? StatefulSet.Status()
        let live = pods.filter { $0.metadata.deletionTimestamp == nil }
        status.observedGeneration = set.metadata.generation
        status.replicas = live.count
        status.readyReplicas = live.filter(\.isReady).count
        status.availableReplicas = live.filter { DaemonSetPlan.isAvailable($0, minReadySeconds: set.spec.minReadySeconds ?? 0, now: now) }.count
        let updated = live.filter { $0.metadata.labels?[hashLabel] == revision }.count
        status.updatedReplicas = updated
        status.updateRevision = revision
        if status.currentRevision == nil || (updated == live.count && live.count == (set.spec.replicas ?? 1)) { status.currentRevision = revision }
        let current = status.currentRevision
        status.currentReplicas = live.filter { $0.metadata.labels?[hashLabel] == current }.count
        status.collisionCount = status.collisionCount ?? 0
        return status
    }

    /// `<set>-<template hash>`, as upstream names a revision.
    static func updateRevision(_ set: StatefulSet) -> String { "\(set.name)-\(DeploymentController.templateHash(set.spec.template))" }

    static func ordinal(of pod: Pod, in set: StatefulSet) -> Int? {
        guard pod.name.hasPrefix(set.name + "-") else { return nil }
        return Int(pod.name.dropFirst(set.name.count + 1))
    }

    static func claimName(_ template: StatefulSet.ClaimTemplate, set: StatefulSet, ordinal: Int) -> String {
        "\(template.metadata.name ?? "")-\(set.name)-\(ordinal)"
    }

    /// The claim of one ordinal: the template's spec and labels with the set's selector's; owned by the set only
    /// when its retention policy deletes claims with it.
    static func claim(_ template: StatefulSet.ClaimTemplate, set: StatefulSet, ordinal: Int) -> PersistentVolumeClaim {
        var labels = template.metadata.labels ?? [:]
        labels.merge(set.spec.selector?.matchLabels ?? [:]) { _, selector in selector }
        var meta = ObjectMeta(name: claimName(template, set: set, ordinal: ordinal), namespace: set.namespace, labels: labels.isEmpty ? nil : labels)
        meta.annotations = template.metadata.annotations
        if set.spec.persistentVolumeClaimRetentionPolicy?.whenDeleted == "Delete" {
            meta.ownerReferences = [OwnerReference(apiVersion: StatefulSet.apiVersion, kind: StatefulSet.kind, name: set.name,
                                                   uid: set.metadata.uid ?? "", controller: true, blockOwnerDeletion: true)]
        }
        return PersistentVolumeClaim(metadata: meta, spec: template.spec)
    }

    /// The pod of one ordinal: its stable name as hostname, the set's service as subdomain, its claims as volumes.
    static func pod(for set: StatefulSet, ordinal: Int) -> Pod {
        let name = "\(set.name)-\(ordinal)"
        var meta = ObjectMeta(name: name, namespace: set.namespace, labels: set.spec.template.metadata?.labels)
        meta.annotations = set.spec.template.metadata?.annotations
        meta.labels = (meta.labels ?? [:]).merging([hashLabel: updateRevision(set), podNameLabel: name, indexLabel: String(ordinal)]) { _, new in new }
        meta.ownerReferences = [OwnerReference(apiVersion: StatefulSet.apiVersion, kind: StatefulSet.kind, name: set.name, uid: set.metadata.uid ?? "",
                                               controller: true, blockOwnerDeletion: true)]
        var spec = set.spec.template.spec
        spec.hostname = name
        if let service = set.spec.serviceName, !service.isEmpty { spec.subdomain = service }
        for template in set.spec.volumeClaimTemplates ?? [] {
            let volumeName = template.metadata.name ?? ""
            var volumes = (spec.volumes ?? []).filter { $0.name != volumeName }
            volumes.append(Volume(name: volumeName, claim: claimName(template, set: set, ordinal: ordinal)))
            spec.volumes = volumes
        }
        return Pod(metadata: meta, spec: spec)
    }
}
