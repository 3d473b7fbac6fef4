import Foundation
import KindlingAPI

/// kube-controller-manager's disruption controller: each PodDisruptionBudget's status from the pods it picks
/// (expected, healthy, desired healthy, disruptions allowed, the DisruptionAllowed condition), which the Eviction
/// subresource consults and spends. Evicted pods count as disrupted until they are gone (two minutes at most).
struct DisruptionController: Controller {
    let name = "disruption"

    func run(_ registry: Registry) async throws {
        try await reconcileOnChange(registry, watching: [PodDisruptionBudget.self, Pod.self], resync: .seconds(5)) {
            let pods = try registry.list(Pod.self).items
            let now = Date()
            for budget in try registry.list(PodDisruptionBudget.self).items where budget.metadata.deletionTimestamp == nil {
                try registry.writeStatus(of: budget, \.status, Self.status(budget, pods: pods, now: now))
            }
        }
    }

    /// How long an evicted pod counts as disrupted while it has not gone yet.
    static let disruptedTimeout: TimeInterval = 120

    /// The budget's status from the pods it picks. Pure.
    static func status(_ budget: PodDisruptionBudget, pods: [Pod], now: Date) -> PodDisruptionBudget.Status {
        let picked = pods.filter { budget.selects($0) && !Scheduler.isFinished($0) }
        let names = Set(picked.filter { $0.metadata.deletionTimestamp == nil }.map(\.name))
        let disrupted = (budget.status?.disruptedPods ?? [:]).filter { name, at in
            names.contains(name) && (Timestamp.date(at).map { now.timeIntervalSince($0) < disruptedTimeout } ?? false)
        }
        var status = PodDisruptionBudget.Status()
        status.observedGeneration = budget.metadata.generation
        status.expectedPods = picked.count
        status.currentHealthy = picked.filter { $0.isReady && $0.metadata.deletionTimestamp == nil && disrupted[$0.name] == nil }.count
        status.desiredHealthy = desiredHealthy(budget.spec, expected: picked.count)
        status.disruptionsAllowed = max(0, status.currentHealthy - status.desiredHealthy)
        status.disruptedPods = disrupted.isEmpty ? nil : disrupted
        let allowed = status.disruptionsAllowed > 0
        var conditions = budget.status?.conditions ?? []
        conditions.set(Condition(type: "DisruptionAllowed", status: allowed ? "True" : "False", reason: allowed ? "SufficientPods" : "InsufficientPods",
                                 message: ""), now: Timestamp.string(now))
        status.conditions = conditions
        return status
    }

    /// minAvailable (a percentage rounded up), or the expected count less maxUnavailable (rounded up); with
    /// neither, every pod.
    static func desiredHealthy(_ spec: PodDisruptionBudget.Spec, expected: Int) -> Int {
        if let minimum = spec.minAvailable { return minimum.scaled(of: expected, roundUp: true) ?? expected }
        if let maximum = spec.maxUnavailable { return max(0, expected - (maximum.scaled(of: expected, roundUp: true) ?? 0)) }
        return expected
    }
}

extension Registry {
    /// The Eviction subresource's check against the pod's budget: refused with kube-apiserver's 429 when the budget
    /// allows no disruption (an unready pod may go while the budget is met anyway), else one disruption is spent
    /// and the pod noted as disrupted.
    func spendDisruption(for pod: Pod, _ budget: PodDisruptionBudget, dryRun: Bool) throws {
        func refuse(_ cause: String) -> Status {
            Status(code: 429, reason: "TooManyRequests", message: "Cannot evict pod as it would violate the pod's disruption budget.",
                   details: .init(causes: [.init(reason: "DisruptionBudget", message: cause)]))
        }
        let status = budget.status ?? PodDisruptionBudget.Status()
        if (status.observedGeneration ?? 0) < (budget.metadata.generation ?? 1) {
            throw refuse("The disruption budget \(budget.name) is still being processed by the server.")
        }
        if !pod.isReady, budget.spec.unhealthyPodEvictionPolicy == "AlwaysAllow" || status.currentHealthy >= status.desiredHealthy { return }
        guard status.disruptionsAllowed > 0 else {
            throw refuse("The disruption budget \(budget.name) needs \(status.desiredHealthy) healthy pods and has \(status.currentHealthy) currently")
        }
        guard !dryRun else { return }
        let spent = try modifyUnchecked(PodDisruptionBudget.self, namespace: budget.namespace, name: budget.name) { current in
            guard var status = current.status, status.disruptionsAllowed > 0 else { return nil }
            status.disruptionsAllowed -= 1
            status.disruptedPods = (status.disruptedPods ?? [:]).merging([pod.name: now]) { _, new in new }
            var next = current
            next.status = status
            return next
        }
        if spent == nil { throw refuse("The disruption budget \(budget.name) needs \(status.desiredHealthy) healthy pods and has \(status.currentHealthy) currently") }
    }
}
