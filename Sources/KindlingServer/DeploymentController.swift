import Foundation
import KindlingAddresses
import KindlingAPI

/// Rolls Deployments out through ReplicaSets, as kube-controller-manager does: one ReplicaSet per pod
/// template (named and labelled with the template's hash), scaled up and the old ones down within
/// maxSurge / maxUnavailable (RollingUpdate), or all old ones first (Recreate); status and revisions kept.
struct DeploymentController: Controller {
    let name = "deployment"
    static let hashLabel = "pod-template-hash"
    static let revisionAnnotation = "deployment.kubernetes.io/revision"
    static let events = EventRecorder(component: "deployment-controller")

    func run(_ registry: Registry) async throws {
        // A resync every few seconds notices a rollout that has stopped making progress past its deadline.
        try await reconcileOnChange(registry, watching: [Deployment.self, ReplicaSet.self], resync: .seconds(5)) {
            let sets = try registry.list(ReplicaSet.self).items
            for deployment in try registry.list(Deployment.self).items where deployment.metadata.deletionTimestamp == nil {
                try sync(deployment, sets: sets.filter { $0.namespace == deployment.namespace }, registry)
            }
        }
    }

    func sync(_ deployment: Deployment, sets allSets: [ReplicaSet], _ registry: Registry) throws {
        guard let uid = deployment.metadata.uid, let template = deployment.spec.template,
              let selector = deployment.spec.selector else { return }
        let sets = allSets.filter { $0.metadata.ownerReferences?.contains { $0.uid == uid && $0.controller == true } == true }
        let hash = DeploymentController.templateHash(template)
        let revisions = sets.compactMap { Int($0.metadata.annotations?[DeploymentController.revisionAnnotation] ?? "") }
        var newSet = sets.first { $0.spec.template?.metadata?.labels?[DeploymentController.hashLabel] == hash }
        if deployment.spec.paused == true {
            // Paused: the template's changes wait (no new ReplicaSet, no rollout); the replica count is still kept,
            // by the newest ReplicaSet.
            let newest = newSet ?? sets.max { Self.revision($0) < Self.revision($1) }
            guard let newest else { return try updateStatus(deployment, new: nil, all: sets, registry) }
            let others = sets.filter { $0.metadata.uid != newest.metadata.uid }.reduce(0) { $0 + $1.desiredReplicas }
            let target = max(0, deployment.desiredReplicas - others)
            if target != newest.desiredReplicas { try scale(newest, to: target, for: deployment, registry) }
            return try updateStatus(deployment, new: newest, all: sets, registry)
        }
        if newSet == nil {
            newSet = try registry.create(DeploymentController.replicaSet(for: deployment, template: template, selector: selector,
                                                                         hash: hash, revision: (revisions.max() ?? 0) + 1))
        }
        guard var current = newSet else { return }
        // The Deployment's annotations (its change-cause) follow onto the ReplicaSet of its template.
        let annotations = Self.replicaSetAnnotations(deployment, current)
        if annotations != current.metadata.annotations {
            current = try registry.modify(ReplicaSet.self, namespace: current.namespace, name: current.name) { set in
                var updated = set
                updated.metadata.annotations = Self.replicaSetAnnotations(deployment, set)
                return updated
            } ?? current
        }
        let olds = sets.filter { $0.metadata.uid != current.metadata.uid }
            .sorted { ($0.metadata.creationTimestamp ?? "", $0.name) < ($1.metadata.creationTimestamp ?? "", $1.name) }
        let plan = DeploymentController.plan(replicas: deployment.desiredReplicas, strategy: deployment.spec.strategy,
                                             new: (current.desiredReplicas, current.status?.availableReplicas ?? 0),
                                             olds: olds.map { ($0.desiredReplicas, $0.status?.availableReplicas ?? 0, $0.status?.replicas ?? 0) })
        if plan.new != current.desiredReplicas { try scale(current, to: plan.new, for: deployment, registry) }
        for (set, replicas) in zip(olds, plan.olds) where replicas != set.desiredReplicas {
            try scale(set, to: replicas, for: deployment, registry)
        }

        // Old ReplicaSets scaled to zero beyond revisionHistoryLimit go, oldest first.
        let idle = olds.filter { $0.desiredReplicas == 0 && ($0.status?.replicas ?? 0) == 0 }
        for set in idle.dropLast(deployment.spec.revisionHistoryLimit ?? 10) {
            _ = try? registry.delete(ReplicaSet.self, namespace: set.namespace, name: set.name)
        }
        try updateStatus(deployment, new: current, all: [current] + olds, registry)
    }

    func scale(_ set: ReplicaSet, to replicas: Int, for deployment: Deployment, _ registry: Registry) throws {
        try registry.modify(ReplicaSet.self, namespace: set.namespace, name: set.name) { current in
            var updated = current
            updated.desiredReplicas = replicas
            return updated
        }
        let direction = replicas > set.desiredReplicas ? "up" : "down"
        DeploymentController.events.record(registry, deployment, reason: "ScalingReplicaSet",
                                           message: "Scaled \(direction) replica set \(set.name) from \(set.desiredReplicas) to \(replicas)")
    }

    func updateStatus(_ deployment: Deployment, new: ReplicaSet?, all: [ReplicaSet], _ registry: Registry, now date: Date = Date()) throws {
        let replicas = deployment.desiredReplicas
        var status = Deployment.Status()
        status.observedGeneration = deployment.metadata.generation
        status.replicas = all.reduce(0) { $0 + ($1.status?.replicas ?? 0) }
        status.updatedReplicas = new?.status?.replicas ?? 0
        status.readyReplicas = all.reduce(0) { $0 + ($1.status?.readyReplicas ?? 0) }
        let available = all.reduce(0) { $0 + ($1.status?.availableReplicas ?? 0) }
        status.availableReplicas = available
        status.unavailableReplicas = max(0, (status.replicas ?? 0) - available)
        let maxUnavailable = DeploymentController.limits(replicas: replicas, strategy: deployment.spec.strategy).maxUnavailable
        let complete = status.updatedReplicas == replicas && status.replicas == replicas && available == replicas
        var conditions = deployment.status?.conditions ?? []
        let now = registry.now
        conditions.set(available >= replicas - maxUnavailable
            ? Condition(type: "Available", status: "True", reason: "MinimumReplicasAvailable", message: "Deployment has minimum availability.")
            : Condition(type: "Available", status: "False", reason: "MinimumReplicasUnavailable", message: "Deployment does not have minimum availability."), now: now)
        conditions.set(Self.progressing(deployment, status: status, complete: complete, new: new?.name ?? "", now: date), now: now)
        status.conditions = conditions
        let revision = new?.metadata.annotations?[DeploymentController.revisionAnnotation]
        let unchanged = Self.sameIgnoringTimes(deployment.status, status)
            && deployment.metadata.annotations?[DeploymentController.revisionAnnotation] == revision
        if unchanged { return }
        try registry.modifyUnchecked(Deployment.self, namespace: deployment.namespace, name: deployment.name) { current in
            var updated = current
            updated.status = status
            var annotations = updated.metadata.annotations ?? [:]
            annotations[DeploymentController.revisionAnnotation] = revision
            updated.metadata.annotations = annotations
            return updated
        }
    }

    /// The Progressing condition as upstream keeps it: Unknown while paused; True with the time of the last
    /// progress (counts that changed) while rolling; False, ProgressDeadlineExceeded, once no progress was made for
    /// `progressDeadlineSeconds`; True, NewReplicaSetAvailable, when done. Pure.
    static func progressing(_ deployment: Deployment, status: Deployment.Status, complete: Bool, new: String, now: Date) -> Condition {
        let stamp = Timestamp.string(now)
        var condition: Condition
        let previous = deployment.status?.conditions?["Progressing"]
        if deployment.spec.paused == true {
            condition = Condition(type: "Progressing", status: "Unknown", reason: "DeploymentPaused", message: "Deployment is paused")
        } else if complete {
            condition = Condition(type: "Progressing", status: "True", reason: "NewReplicaSetAvailable", message: "ReplicaSet \"\(new)\" has successfully progressed.")
            if previous?.reason == "NewReplicaSetAvailable" { condition.lastUpdateTime = previous?.lastUpdateTime }
        } else {
            var before = deployment.status ?? Deployment.Status()
            before.conditions = nil
            var after = status
            after.conditions = nil
            let moved = before != after || ["DeploymentPaused", "NewReplicaSetAvailable", nil].contains(previous?.reason)
                || previous?.message?.contains("\"\(new)\"") != true
            let last = (previous?.lastUpdateTime ?? previous?.lastTransitionTime).flatMap(Timestamp.date) ?? now
            if !moved, previous?.reason == "ProgressDeadlineExceeded" { return previous! }
            if !moved, now.timeIntervalSince(last) > Double(deployment.spec.progressDeadlineSeconds ?? 600) {
                condition = Condition(type: "Progressing", status: "False", reason: "ProgressDeadlineExceeded",
                                      message: "ReplicaSet \"\(new)\" has timed out progressing.")
            } else {
                condition = Condition(type: "Progressing", status: "True", reason: "ReplicaSetUpdated", message: "ReplicaSet \"\(new)\" is progressing.")
                condition.lastUpdateTime = moved ? stamp : previous?.lastUpdateTime
                return condition
            }
        }
        condition.lastUpdateTime = condition.lastUpdateTime ?? stamp
        return condition
    }

    /// Which of a Deployment's annotations its ReplicaSets carry (kubectl's change-cause above all): all but those
    /// of the Deployment's own bookkeeping; the ReplicaSet's revision stays its own.
    static func replicaSetAnnotations(_ deployment: Deployment, _ set: ReplicaSet) -> [String: String]? {
        let skipped: Set = [revisionAnnotation, "kubectl.kubernetes.io/last-applied-configuration", "deployment.kubernetes.io/revision-history"]
        var annotations = set.metadata.annotations ?? [:]
        for (key, value) in deployment.metadata.annotations ?? [:] where !skipped.contains(key) { annotations[key] = value }
        return annotations.isEmpty ? nil : annotations
    }

    static func revision(_ set: ReplicaSet) -> Int { Int(set.metadata.annotations?[revisionAnnotation] ?? "") ?? 0 }

    static func sameIgnoringTimes(_ a: Deployment.Status?, _ b: Deployment.Status) -> Bool {
        guard var a else { return false }
        var b = b
        a.conditions = a.conditions?.withoutTimes
        b.conditions = b.conditions?.withoutTimes
        return a == b
    }

    static func replicaSet(for deployment: Deployment, template: PodTemplateSpec, selector: LabelSelector,
                           hash: String, revision: Int) -> ReplicaSet {
        var podTemplate = template
        var templateMeta = podTemplate.metadata ?? ObjectMeta()
        templateMeta.labels = (templateMeta.labels ?? [:]).merging([hashLabel: hash]) { _, new in new }
        podTemplate.metadata = templateMeta
        var setSelector = selector
        setSelector.matchLabels = (selector.matchLabels ?? [:]).merging([hashLabel: hash]) { _, new in new }
        var meta = ObjectMeta(name: "\(deployment.name)-\(hash)", namespace: deployment.namespace, labels: templateMeta.labels)
        meta.annotations = [revisionAnnotation: String(revision)]
        meta.ownerReferences = [OwnerReference(apiVersion: Deployment.apiVersion, kind: Deployment.kind,
                                               name: deployment.name, uid: deployment.metadata.uid ?? "")]
        var set = ReplicaSet(metadata: meta, spec: .init(replicas: 0, selector: setSelector, template: podTemplate))
        set.spec.minReadySeconds = deployment.spec.minReadySeconds
        return set
    }

    /// The template's hash as Kubernetes spells it (FNV-1a, digits mapped to a vowel-free alphabet).
    static func templateHash(_ template: PodTemplateSpec) -> String {
        let hash = FNV1a.hash32((try? KubeJSON.encoder.encode(template)) ?? Data())
        let alphabet = Array("bcdfghjklmnpqrstvwxz2456789")
        return String(String(hash).utf8.map { alphabet[Int($0) % alphabet.count] })
    }

    struct Limits: Equatable { let maxSurge: Int; let maxUnavailable: Int }

    /// maxSurge rounds up and maxUnavailable down, as in Kubernetes; both zero would never progress, so
    /// maxUnavailable becomes 1 then.
    static func limits(replicas: Int, strategy: Deployment.Strategy?) -> Limits {
        guard strategy?.type != "Recreate" else { return Limits(maxSurge: 0, maxUnavailable: replicas) }
        // 25% when unset (or not a percentage).
        func resolve(_ value: IntOrString?, roundUp: Bool) -> Int {
            (value ?? .string("25%")).scaled(of: replicas, roundUp: roundUp) ?? IntOrString.string("25%").scaled(of: replicas, roundUp: roundUp)!
        }
        let surge = resolve(strategy?.rollingUpdate?.maxSurge, roundUp: true)
        let unavailable = resolve(strategy?.rollingUpdate?.maxUnavailable, roundUp: false)
        return Limits(maxSurge: surge, maxUnavailable: surge == 0 && unavailable == 0 ? 1 : unavailable)
    }

    struct Plan: Equatable { var new: Int; var olds: [Int] }

    /// One step of a rollout, pure: the replicas the new and each old ReplicaSet (oldest first) should have.
    /// `new` is (desired, available); each old is (desired, available, existing pods).
    static func plan(replicas: Int, strategy: Deployment.Strategy?, new: (Int, Int), olds: [(Int, Int, Int)]) -> Plan {
        var plan = Plan(new: new.0, olds: olds.map(\.0))
        if strategy?.type == "Recreate" {
            plan.olds = olds.map { _ in 0 }
            let oldPodsLeft = olds.reduce(0) { $0 + $1.2 }
            plan.new = oldPodsLeft == 0 ? replicas : new.0
            return plan
        }
        let limits = limits(replicas: replicas, strategy: strategy)
        if olds.allSatisfy({ $0.0 == 0 }) {
            plan.new = replicas
            return plan
        }
        if plan.new > replicas {
            plan.new = replicas
        } else if plan.new < replicas {
            let total = plan.new + plan.olds.reduce(0, +)
            let room = replicas + limits.maxSurge - total
            if room > 0 { plan.new = min(plan.new + room, replicas) }
        }
        let minAvailable = replicas - limits.maxUnavailable
        let newUnavailable = max(0, plan.new - new.1)
        let total = plan.new + plan.olds.reduce(0, +)
        // Unavailable old pods go first: removing them costs no availability.
        var budget = total - minAvailable - newUnavailable
        for index in plan.olds.indices where budget > 0 {
            let unhealthy = max(0, plan.olds[index] - olds[index].1)
            let down = min(unhealthy, budget, plan.olds[index])
            plan.olds[index] -= down
            budget -= down
        }
        budget = plan.new + plan.olds.reduce(0, +) - minAvailable - newUnavailable
        for index in plan.olds.indices where budget > 0 {
            let down = min(plan.olds[index], budget)
            plan.olds[index] -= down
            budget -= down
        }
        return plan
    }
}
