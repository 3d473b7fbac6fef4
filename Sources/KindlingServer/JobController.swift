import Foundation
import KindlingAPI

/// kube-controller-manager's Job controller: each Job's pods run to completion, at most `parallelism` at once,
/// until `completions` have succeeded (each index once when Indexed); more failures than `backoffLimit` (a
/// failed pod, or a restart of an OnFailure one) or a run past `activeDeadlineSeconds` fail it and stop its
/// pods. After a failure a new pod waits out the controller's backoff (10 s doubling, at most 6 minutes). A
/// suspended Job runs nothing; a finished one with `ttlSecondsAfterFinished` is deleted once that has passed.
/// What to do is `JobPlan.make`, pure; this type carries it out.
struct JobController: Controller {
    let name = "job"
    static let events = EventRecorder(component: "job-controller")

    func run(_ registry: Registry) async throws {
        try await reconcileOnChange(registry, watching: [Job.self, Pod.self], resync: .seconds(1)) {
            let pods = try registry.list(Pod.self).items
            for job in try registry.list(Job.self).items where job.metadata.deletionTimestamp == nil {
                let owned = pods.filter { $0.namespace == job.namespace && $0.metadata.ownerReferences?.contains { $0.uid == job.metadata.uid } == true }
                try sync(job, pods: owned, registry)
            }
        }
    }

    func sync(_ job: Job, pods: [Pod], _ registry: Registry, now: Date = Date()) throws {
        let plan = JobPlan.make(job, pods: pods, now: now)
        if plan.expired {
            _ = try? registry.delete(Job.self, namespace: job.namespace, name: job.name, gracePeriodSeconds: nil, expectedUID: job.metadata.uid,
                                     propagationPolicy: "Background")
            return
        }
        for pod in plan.delete { _ = try? registry.delete(Pod.self, namespace: pod.namespace, name: pod.name) }
        for index in plan.create {
            let pod = try registry.create(JobPlan.pod(for: job, index: index))
            Self.events.record(registry, job, reason: "SuccessfulCreate", message: "Created pod: \(pod.name)")
        }
        guard plan.status != job.status else { return }
        for event in plan.events { Self.events.record(registry, job, type: event.type, reason: event.reason, message: event.message) }
        try registry.writeStatus(of: job, \.status, plan.status)
    }
}

/// One pass's decision for a Job, pure: the pods to make (by completion index, nil when not Indexed) and to
/// delete, the status to write, the events of what changed, and whether its time-to-live is over.
struct JobPlan: Equatable {
    var create: [Int?] = []
    var delete: [Pod] = []
    var status: Job.Status
    var events: [Event] = []
    var expired = false

    struct Event: Equatable {
        var type = "Normal"
        var reason: String
        var message: String
    }

    static let backoffBase: TimeInterval = 10
    static let backoffCap: TimeInterval = 360

    static func make(_ job: Job, pods: [Pod], now: Date) -> JobPlan {
        var plan = JobPlan(status: job.status ?? Job.Status())
        let stamp = Timestamp.string(now)
        let active = pods.filter { !Scheduler.isFinished($0) && $0.metadata.deletionTimestamp == nil }
        let succeeded = pods.filter { $0.phase == "Succeeded" }
        let restarts = job.spec.template.spec.restartPolicy == "OnFailure"
            ? active.reduce(0) { $0 + ($1.status?.containerStatuses ?? []).reduce(0) { $0 + $1.restartCount } } : 0
        let failed = pods.filter { $0.phase == "Failed" }.count + restarts
        var status = plan.status
        status.active = active.count
        status.ready = active.filter(\.isReady).count
        status.succeeded = job.isIndexed ? Set(succeeded.compactMap(index)).count : succeeded.count
        status.failed = failed
        status.terminating = pods.filter { $0.metadata.deletionTimestamp != nil && !Scheduler.isFinished($0) }.count
        if job.isIndexed { status.completedIndexes = ranges(Set(succeeded.compactMap(index))) }

        if job.isFinished {
            plan.status = status
            plan.expired = expired(job, now: now)
            return plan
        }
        if job.spec.suspend == true {
            plan.delete = active
            status.startTime = nil
            status.conditions = set(status.conditions, Condition(type: "Suspended", status: "True", reason: "JobSuspended", message: "Job suspended"), stamp)
            plan.status = status
            return plan
        }
        if status.conditions?["Suspended"]?.status == "True" {
            status.conditions = set(status.conditions, Condition(type: "Suspended", status: "False", reason: "JobResumed", message: "Job resumed"), stamp)
        }
        let started = status.startTime ?? stamp
        status.startTime = started
        if let failure = failure(job, failed: failed, started: started, now: now) {
            plan.delete = active
            for type in ["FailureTarget", "Failed"] {
                status.conditions = set(status.conditions, Condition(type: type, status: "True", reason: failure.reason, message: failure.message), stamp)
            }
            plan.events.append(Event(type: "Warning", reason: failure.reason, message: failure.message))
            plan.status = status
            return plan
        }
        let done = job.spec.completions.map { (status.succeeded ?? 0) >= $0 } ?? (!succeeded.isEmpty && active.isEmpty)
        if done {
            plan.delete = active
            let message = "Reached expected number of succeeded pods"
            for type in ["SuccessCriteriaMet", "Complete"] {
                status.conditions = set(status.conditions, Condition(type: type, status: "True", reason: "CompletionsReached", message: message), stamp)
            }
            status.completionTime = stamp
            status.active = 0
            plan.events.append(Event(reason: "Completed", message: "Job completed"))
            plan.status = status
            return plan
        }
        plan.status = status
        guard !backingOff(pods, failed: failed, now: now) else { return plan }
        let parallelism = job.spec.parallelism ?? 1
        if job.isIndexed {
            let taken = Set(succeeded.compactMap(index)).union(active.compactMap(index))
            let pending = (0..<(job.spec.completions ?? 0)).filter { !taken.contains($0) }
            plan.create = Array(pending.prefix(max(0, parallelism - active.count)))
        } else {
            // With completions, no more pods than the completions left; a work queue runs `parallelism` until one succeeds.
            let left = job.spec.completions.map { $0 - succeeded.count } ?? (succeeded.isEmpty ? parallelism : 0)
            plan.create = Array(repeating: nil, count: max(0, min(parallelism, left) - active.count))
        }
        return plan
    }

    static func failure(_ job: Job, failed: Int, started: String, now: Date) -> (reason: String, message: String)? {
        if failed > (job.spec.backoffLimit ?? 6) { return ("BackoffLimitExceeded", "Job has reached the specified backoff limit") }
        if let deadline = job.spec.activeDeadlineSeconds, let start = Timestamp.date(started),
           now.timeIntervalSince(start) >= TimeInterval(deadline) {
            return ("DeadlineExceeded", "Job was active longer than specified deadline")
        }
        return nil
    }

    /// Whether the last failure is too recent for a new pod: 10 s after the first, doubling, at most 6 minutes.
    static func backingOff(_ pods: [Pod], failed: Int, now: Date) -> Bool {
        guard failed > 0 else { return false }
        let finished = pods.filter { $0.phase == "Failed" }.flatMap { $0.status?.containerStatuses ?? [] }
            .compactMap { $0.state?.terminated?.finishedAt.flatMap(Timestamp.date) }
        guard let last = finished.max() else { return false }
        let wait = min(backoffCap, backoffBase * pow(2, Double(failed - 1)))
        return now.timeIntervalSince(last) < wait
    }

    static func expired(_ job: Job, now: Date) -> Bool {
        guard let ttl = job.spec.ttlSecondsAfterFinished,
              let finished = (job.status?.completionTime ?? job.status?.conditions?["Failed"]?.lastTransitionTime).flatMap(Timestamp.date) else { return false }
        return now.timeIntervalSince(finished) >= TimeInterval(ttl)
    }

    static func index(_ pod: Pod) -> Int? { pod.metadata.annotations?[Job.indexAnnotation].flatMap { Int($0) } }

    /// Indexes as the API writes them: `0-2,4`.
    static func ranges(_ indexes: Set<Int>) -> String? {
        guard !indexes.isEmpty else { return nil }
        var parts: [String] = [], sorted = indexes.sorted(), start = sorted[0], previous = sorted[0]
        for index in sorted.dropFirst() + [Int.max] {
            if index == previous + 1 { previous = index; continue }
            parts.append(start == previous ? "\(start)" : "\(start)-\(previous)")
            start = index
            previous = index
        }
        return parts.joined(separator: ",")
    }

    /// Sets a condition, keeping its transition time when its status is unchanged.
    static func set(_ conditions: [Condition]?, _ condition: Condition, _ now: String) -> [Condition] {
        var all = conditions ?? []
        var updated = condition
        updated.lastProbeTime = now
        if let index = all.firstIndex(where: { $0.type == condition.type }) {
            updated.lastTransitionTime = all[index].status == condition.status ? all[index].lastTransitionTime : now
            all[index] = updated
        } else {
            updated.lastTransitionTime = now
            all.append(updated)
        }
        return all
    }

    /// A pod of the Job, `<job>-<random>` (Indexed: `<job>-<index>-<random>`, hostname `<job>-<index>`, its index in
    /// an annotation, a label and `JOB_COMPLETION_INDEX`).
    static func pod(for job: Job, index: Int?) -> Pod {
        var meta = ObjectMeta(namespace: job.namespace, labels: job.spec.template.metadata?.labels)
        meta.annotations = job.spec.template.metadata?.annotations
        meta.generateName = job.name + "-" + (index.map { "\($0)-" } ?? "")
        meta.ownerReferences = [OwnerReference(apiVersion: Job.apiVersion, kind: Job.kind, name: job.name, uid: job.metadata.uid ?? "")]
        var spec = job.spec.template.spec
        if let index {
            meta.annotations = (meta.annotations ?? [:]).merging([Job.indexAnnotation: String(index)]) { _, new in new }
            meta.labels = (meta.labels ?? [:]).merging([Job.indexAnnotation: String(index)]) { _, new in new }
            spec.hostname = spec.hostname ?? "\(job.name)-\(index)"
            let variable = EnvVar(name: "JOB_COMPLETION_INDEX", fieldPath: "metadata.annotations['\(Job.indexAnnotation)']")
            for i in spec.containers.indices { spec.containers[i].env = [variable] + (spec.containers[i].env ?? []) }
        }
        return Pod(metadata: meta, spec: spec)
    }
}
