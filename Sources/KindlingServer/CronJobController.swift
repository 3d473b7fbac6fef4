import Foundation
import KindlingAPI

/// kube-controller-manager's CronJob controller: at each scheduled time (the latest one missed, if several
/// were, and none older than `startingDeadlineSeconds`) a Job named `<cronjob>-<minutes since the epoch>`,
/// unless `Forbid` and one still runs (`Replace` deletes those first); the active Jobs, last schedule and
/// last success in status; finished Jobs beyond the history limits deleted, oldest first. `CronJobPlan.make`
/// decides, purely; this type carries it out.
struct CronJobController: Controller {
    let name = "cronjob"
    static let events = EventRecorder(component: "cronjob-controller")

    func run(_ registry: Registry) async throws {
        try await reconcileOnChange(registry, watching: [CronJob.self, Job.self], resync: .seconds(2)) {
            let jobs = try registry.list(Job.self).items
            for cronJob in try registry.list(CronJob.self).items where cronJob.metadata.deletionTimestamp == nil {
                let owned = jobs.filter { job in
                    job.namespace == cronJob.namespace && job.metadata.ownerReferences?.contains { $0.uid == cronJob.metadata.uid } == true
                }
                try sync(cronJob, jobs: owned, registry)
            }
        }
    }

    func sync(_ cronJob: CronJob, jobs: [Job], _ registry: Registry, now: Date = Date()) throws {
        let plan = CronJobPlan.make(cronJob, jobs: jobs, now: now)
        for job in plan.delete {
            _ = try? registry.delete(Job.self, namespace: job.namespace, name: job.name, gracePeriodSeconds: nil, expectedUID: nil,
                                     propagationPolicy: "Background")
            Self.events.record(registry, cronJob, reason: "SuccessfulDelete", message: "Deleted job \(job.name)")
        }
        var status = plan.status
        if let job = plan.create {
            do {
                let created = try registry.create(job)
                status.active = (status.active ?? []) + [CronJob.ObjectReference(job: created)]
                Self.events.record(registry, cronJob, reason: "SuccessfulCreate", message: "Created job \(created.name)")
            } catch let refused as Status where refused.reason == "AlreadyExists" {}
        }
        guard status != cronJob.status else { return }
        try registry.modifyUnchecked(CronJob.self, namespace: cronJob.namespace, name: cronJob.name) { current in
            guard current.metadata.uid == cronJob.metadata.uid else { return nil }
            var next = current
            next.status = status
            return next
        }
    }
}

/// One pass's decision for a CronJob, pure.
struct CronJobPlan: Equatable {
    var create: Job?
    var delete: [Job] = []
    var status: CronJob.Status

    static func make(_ cronJob: CronJob, jobs: [Job], now: Date) -> CronJobPlan {
        var status = cronJob.status ?? CronJob.Status()
        let finished = jobs.filter(\.isFinished), active = jobs.filter { !$0.isFinished && $0.metadata.deletionTimestamp == nil }
        status.active = active.isEmpty ? nil : active.sorted { $0.name < $1.name }.map(CronJob.ObjectReference.init)
        let succeeded = finished.filter { $0.has("Complete") }
        if let last = succeeded.compactMap(\.status?.completionTime).max() { status.lastSuccessfulTime = last }
        var plan = CronJobPlan(status: status)
        // History: the newest finished Jobs of each outcome are kept, as many as the limits say.
        for (outcome, limit) in [(succeeded, cronJob.spec.successfulJobsHistoryLimit ?? 3),
                                 (finished.filter { $0.has("Failed") }, cronJob.spec.failedJobsHistoryLimit ?? 1)] {
            let newestFirst = outcome.sorted { ($0.metadata.creationTimestamp ?? "", $0.name) > ($1.metadata.creationTimestamp ?? "", $1.name) }
            plan.delete += newestFirst.dropFirst(max(0, limit))
        }
        guard cronJob.spec.suspend != true, let zone = cronJob.zone, let schedule = try? CronSchedule(cronJob.spec.schedule),
              let after = (status.lastScheduleTime ?? cronJob.metadata.creationTimestamp).flatMap(Timestamp.date),
              let due = schedule.lastTime(after: after, upTo: now, in: zone) else { return plan }
        if let deadline = cronJob.spec.startingDeadlineSeconds, now.timeIntervalSince(due) > TimeInterval(deadline) { return plan }
        switch cronJob.spec.concurrencyPolicy ?? "Allow" {
        case "Forbid" where !active.isEmpty: return plan
        case "Replace": plan.delete += active
        default: break
        }
        plan.create = job(for: cronJob, at: due)
        plan.status.lastScheduleTime = Timestamp.string(due)
        return plan
    }

    /// The Job for the time `due`: the template's, named after the minute, owned by the CronJob.
    static func job(for cronJob: CronJob, at due: Date) -> Job {
        var meta = ObjectMeta(name: "\(cronJob.name)-\(Int(due.timeIntervalSince1970 / 60))", namespace: cronJob.namespace,
                              labels: cronJob.spec.jobTemplate.metadata?.labels)
        meta.annotations = (cronJob.spec.jobTemplate.metadata?.annotations ?? [:]).merging([CronJob.scheduledAnnotation: Timestamp.string(due)]) { _, new in new }
        meta.ownerReferences = [OwnerReference(apiVersion: CronJob.apiVersion, kind: CronJob.kind, name: cronJob.name, uid: cronJob.metadata.uid ?? "")]
        return Job(metadata: meta, spec: cronJob.spec.jobTemplate.spec)
    }
}
