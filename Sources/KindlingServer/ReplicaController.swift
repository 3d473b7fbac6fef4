import Foundation
import KindlingAPI

/// Keeps as many running pods as each ReplicaSet (or ReplicationController, its older twin) asks for: creates
/// them from its template, deletes the most expendable when there are too many, adopts orphans its selector
/// matches, and reports status. One controller type for both kinds, as kube-controller-manager's replication
/// manager is its ReplicaSet controller with another kind.
struct ReplicaController<Owner: PodReplicating>: Controller {
    let name: String
    let events: EventRecorder

    func run(_ registry: Registry) async throws {
        try await reconcileOnChange(registry, watching: [Owner.self, Pod.self]) {
            let pods = try registry.list(Pod.self).items
            for set in try registry.list(Owner.self).items where set.metadata.deletionTimestamp == nil {
                try sync(set, pods: pods.filter { $0.namespace == set.namespace }, registry)
            }
        }
    }

    func sync(_ set: Owner, pods: [Pod], _ registry: Registry) throws {
        guard let selector = set.podSelector, !selector.isEmpty, let uid = set.metadata.uid else { return }
        var owned: [Pod] = []
        for pod in pods where selector.matches(pod.metadata.labels) && !Scheduler.isFinished(pod) {
            let controller = pod.metadata.ownerReferences?.first { $0.controller == true }
            if controller?.uid == uid {
                owned.append(pod)
            } else if controller == nil, pod.metadata.deletionTimestamp == nil,
                      let adopted = try registry.modifyUnchecked(Pod.self, namespace: pod.namespace, name: pod.name, { current in
                          guard current.metadata.ownerReferences?.contains(where: { $0.controller == true }) != true else { return nil }
                          var pod = current
                          pod.metadata.ownerReferences = (pod.metadata.ownerReferences ?? []) + [Self.reference(to: set)]
                          return pod
                      }) {
                owned.append(adopted)
            }
        }
        let active = owned.filter { $0.metadata.deletionTimestamp == nil }
        let diff = set.desiredReplicas - active.count
        if diff > 0, let template = set.podTemplate {
            for _ in 0..<diff {
                let pod = try registry.create(Self.pod(from: template, owner: set))
                events.record(registry, set, reason: "SuccessfulCreate", message: "Created pod: \(pod.name)")
            }
        } else if diff < 0 {
            for pod in PodRanking.deletionOrder(active).prefix(-diff)
                where (try? registry.delete(Pod.self, namespace: pod.namespace, name: pod.name)) != nil {
                events.record(registry, set, reason: "SuccessfulDelete", message: "Deleted pod: \(pod.name)")
            }
        }
        let ready = active.filter(\.isReady).count
        var status = ReplicaSet.Status()
        status.replicas = active.count
        status.fullyLabeledReplicas = active.filter { pod in
            (set.podTemplate?.metadata?.labels ?? [:]).allSatisfy { pod.metadata.labels?[$0.key] == $0.value }
        }.count
        status.readyReplicas = ready
        status.availableReplicas = ready
        status.observedGeneration = set.metadata.generation
        if set.replicaStatus != status {
            try registry.modifyUnchecked(Owner.self, namespace: set.namespace, name: set.name) { current in
                var updated = current
                updated.replicaStatus = status
                return updated
            }
        }
    }

    static func reference(to set: Owner) -> OwnerReference {
        OwnerReference(apiVersion: Owner.apiVersion, kind: Owner.kind, name: set.name, uid: set.metadata.uid ?? "")
    }

    /// A pod as the owner's template describes it, named `<owner>-<5 random>`.
    static func pod(from template: PodTemplateSpec, owner set: Owner) -> Pod {
        var meta = ObjectMeta(namespace: set.namespace, labels: template.metadata?.labels)
        meta.generateName = set.name + "-"
        meta.annotations = template.metadata?.annotations
        meta.ownerReferences = [reference(to: set)]
        return Pod(metadata: meta, spec: template.spec)
    }
}

extension ReplicaController<ReplicaSet> {
    static var replicaSets: Self { Self(name: "replicaset", events: EventRecorder(component: "replicaset-controller")) }
}

extension ReplicaController<ReplicationController> {
    static var replicationControllers: Self { Self(name: "replication", events: EventRecorder(component: "replication-controller")) }
}

/// Which pods a replica controller gives up first.
enum PodRanking {
    /// Pods in the order a ReplicaSet gives them up (kube's ActivePods ranking): unscheduled before
    /// scheduled, pending before running, not ready before ready, more restarts first, newest first.
    static func deletionOrder(_ pods: [Pod]) -> [Pod] {
        func rank(_ pod: Pod) -> (Int, Int, Int, Int) {
            let scheduled = (pod.spec.nodeName ?? "").isEmpty ? 0 : 1
            let phase = pod.phase == "Pending" ? 0 : pod.phase == "Running" ? 2 : 1
            let restarts = pod.status?.containerStatuses?.reduce(0) { $0 + $1.restartCount } ?? 0
            return (scheduled, phase, pod.isReady ? 1 : 0, -restarts)
        }
        return pods.sorted { a, b in
            let (ra, rb) = (rank(a), rank(b))
            if ra != rb { return ra < rb }
            return (a.metadata.creationTimestamp ?? "", a.name) > (b.metadata.creationTimestamp ?? "", b.name)
        }
    }
}

/// Deletes objects whose controlling owner is gone (background cascading deletion through ownerReferences).
struct GarbageCollector: Controller {
    let name = "garbage-collector"

    /// The finalizer of an owner deleted with propagationPolicy Foreground: it goes when its dependents have.
    static let foregroundDeletion = "foregroundDeletion"
    /// The finalizer of an owner deleted with propagationPolicy Orphan, while its dependents are released.
    static let orphanDependents = "orphan"

    func run(_ registry: Registry) async throws {
        try await reconcileOnChange(registry, watching: [Deployment.self, ReplicaSet.self, ReplicationController.self, Job.self, CronJob.self,
                                                         DaemonSet.self, StatefulSet.self, Service.self, Pod.self, EndpointSlice.self]) {
            let deployments = try registry.list(Deployment.self).items, replicaSets = try registry.list(ReplicaSet.self).items
            let services = try registry.list(Service.self).items, controllers = try registry.list(ReplicationController.self).items
            let jobs = try registry.list(Job.self).items, cronJobs = try registry.list(CronJob.self).items
            let daemonSets = try registry.list(DaemonSet.self).items, statefulSets = try registry.list(StatefulSet.self).items
            let metadata = deployments.map(\.metadata) + replicaSets.map(\.metadata) + services.map(\.metadata) + controllers.map(\.metadata)
                + jobs.map(\.metadata) + cronJobs.map(\.metadata) + daemonSets.map(\.metadata) + statefulSets.map(\.metadata)
            let owners = Set(metadata.compactMap(\.uid))
            // Owners being deleted in the foreground count as gone for their dependents.
            let leaving = Set(metadata
                .filter { $0.deletionTimestamp != nil && ($0.finalizers ?? []).contains(GarbageCollector.foregroundDeletion) }
                .compactMap(\.uid))
            var remaining: Set<String> = []
            remaining.formUnion(try collect(ReplicaSet.self, owners: owners, leaving: leaving, registry))
            remaining.formUnion(try collect(Job.self, owners: owners, leaving: leaving, registry))
            remaining.formUnion(try collect(Pod.self, owners: owners, leaving: leaving, registry))
            remaining.formUnion(try collect(EndpointSlice.self, owners: owners, leaving: leaving, registry))
            remaining.formUnion(try collect(PersistentVolumeClaim.self, owners: owners, leaving: leaving, registry))
            try finish(Deployment.self, deployments, leaving.subtracting(remaining), registry)
            try finish(ReplicaSet.self, replicaSets, leaving.subtracting(remaining), registry)
            try finish(Service.self, services, leaving.subtracting(remaining), registry)
            try finish(ReplicationController.self, controllers, leaving.subtracting(remaining), registry)
            try finish(Job.self, jobs, leaving.subtracting(remaining), registry)
            try finish(CronJob.self, cronJobs, leaving.subtracting(remaining), registry)
            try finish(DaemonSet.self, daemonSets, leaving.subtracting(remaining), registry)
            try finish(StatefulSet.self, statefulSets, leaving.subtracting(remaining), registry)
        }
    }

    static let ownerKinds: Set<String> = ["ReplicaSet", "Deployment", "Service", "ReplicationController", "Job", "CronJob", "DaemonSet", "StatefulSet"]

    /// Deletes the objects whose owners are all gone or leaving; returns the leaving owners that still have dependents.
    func collect<T: KubeObject>(_ kind: T.Type, owners: Set<String>, leaving: Set<String>, _ registry: Registry) throws -> Set<String> {
        var waitedOn: Set<String> = []
        for object in try registry.list(T.self).items {
            let references = (object.metadata.ownerReferences ?? []).filter { GarbageCollector.ownerKinds.contains($0.kind) }
            waitedOn.formUnion(references.map(\.uid).filter(leaving.contains))
            guard object.metadata.deletionTimestamp == nil else { continue }
            if !references.isEmpty && references.allSatisfy({ !owners.contains($0.uid) || leaving.contains($0.uid) }) {
                // A dependent of an owner leaving in the foreground that has dependents itself (a Deployment's
                // ReplicaSet) leaves in the foreground too, so the owner waits for its grandchildren as well.
                let foreground = references.contains { leaving.contains($0.uid) }
                _ = try? registry.delete(T.self, namespace: object.namespace, name: object.name, gracePeriodSeconds: nil, expectedUID: nil,
                                         propagationPolicy: foreground ? "Foreground" : "Background")
            }
        }
        return waitedOn
    }

    /// Owners deleted in the foreground whose dependents are all gone lose their finalizer, and so go.
    func finish<T: KubeObject>(_ kind: T.Type, _ owners: [T], _ done: Set<String>, _ registry: Registry) throws {
        for owner in owners where owner.metadata.uid.map(done.contains) == true {
            _ = try? registry.modify(T.self, namespace: owner.namespace, name: owner.name) { current in
                var next = current
                next.metadata.finalizers = current.metadata.finalizers?.filter { $0 != GarbageCollector.foregroundDeletion }
                return next
            }
        }
    }

    /// Removes references to `owner` from its dependents (propagationPolicy Orphan).
    static func orphan(dependentsOf owner: String, namespace: String, _ registry: Registry) throws {
        func release<T: KubeObject>(_ kind: T.Type) throws {
            for object in try registry.list(T.self, namespace: namespace).items where object.metadata.ownerReferences?.contains(where: { $0.uid == owner }) == true {
                _ = try registry.modify(T.self, namespace: object.namespace, name: object.name) { current in
                    var next = current
                    next.metadata.ownerReferences = current.metadata.ownerReferences?.filter { $0.uid != owner }
                    if next.metadata.ownerReferences?.isEmpty == true { next.metadata.ownerReferences = nil }
                    return next
                }
            }
        }
        try release(ReplicaSet.self)
        try release(Job.self)
        try release(Pod.self)
        try release(EndpointSlice.self)
        try release(PersistentVolumeClaim.self)
    }
}

extension Registry {
    /// DELETE with its propagationPolicy: Background (the garbage collector deletes dependents after), Foreground
    /// (the owner stays, marked, until they are gone) or Orphan (they stay, without their reference to it).
    /// Only the kinds the collector knows as owners have dependents; others are deleted as in Background. The
    /// owner is marked with the policy's finalizer before anything else, so its controller leaves it alone.
    @discardableResult
    public func delete<S: KindStrategy>(_ kind: S, namespace: String, name: String, gracePeriodSeconds: Int64?,
                                        expectedUID: String?, propagationPolicy policy: String) throws -> S.Object {
        guard ["Background", "Foreground", "Orphan"].contains(policy) else {
            throw Status.badRequest("propagationPolicy: Unsupported value: \"\(policy)\": supported values: \"Background\", \"Foreground\", \"Orphan\"")
        }
        let owner = try get(kind, namespace: namespace, name: name)
        if let expectedUID, owner.metadata.uid != expectedUID {
            throw Status.conflict(kind.served.groupResource, name, "Precondition failed: UID in precondition: \(expectedUID), UID in object meta: \(owner.metadata.uid ?? "")")
        }
        let finalizer = !GarbageCollector.ownerKinds.contains(kind.served.kind) ? nil
            : policy == "Orphan" ? GarbageCollector.orphanDependents : policy == "Foreground" ? GarbageCollector.foregroundDeletion : nil
        if let finalizer, owner.metadata.deletionTimestamp == nil {
            _ = try modify(kind, namespace: namespace, name: name) { current in
                var marked = current
                if !(marked.metadata.finalizers ?? []).contains(finalizer) { marked.metadata.finalizers = (marked.metadata.finalizers ?? []) + [finalizer] }
                return marked
            }
        }
        let deleted = try delete(kind, namespace: namespace, name: name, gracePeriodSeconds: gracePeriodSeconds, expectedUID: expectedUID)
        guard finalizer == GarbageCollector.orphanDependents, let uid = owner.metadata.uid else { return deleted }
        try GarbageCollector.orphan(dependentsOf: uid, namespace: namespace, self)
        return (try? modify(kind, namespace: namespace, name: name) { current in
            var next = current
            next.metadata.finalizers = current.metadata.finalizers?.filter { $0 != GarbageCollector.orphanDependents }
            return next
        }) ?? deleted
    }
}
