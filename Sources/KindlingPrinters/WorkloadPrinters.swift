import KindlingAPI

/// `kubectl get pods`: readiness, the status kubectl works out, restarts; `-o wide` adds IP and node.
public struct PodPrinter: ObjectPrinter {
    public var columns: [PrintColumn] {
        ["NAME", "READY", "STATUS", "RESTARTS", "AGE"].map { PrintColumn($0) } + PrintColumn.wide("IP", "NODE", "NOMINATED NODE", "READINESS GATES")
    }

    public func cells(_ pod: Pod, _ context: PrintContext) -> [String] {
        let statuses = pod.status?.containerStatuses ?? []
        return [pod.name, "\(statuses.filter(\.ready).count)/\(pod.spec.containers.count)", Printing.podStatus(pod),
                String(statuses.reduce(0) { $0 + $1.restartCount }), context.age(pod.metadata),
                pod.status?.podIP ?? "<none>", pod.spec.nodeName ?? "<none>", "<none>", "<none>"]
    }
}

/// `kubectl get replicasets`: desired, current and ready counts; `-o wide` adds containers, images, selector.
public struct ReplicaSetPrinter<Set: PodReplicating>: ObjectPrinter {
    public var columns: [PrintColumn] {
        [PrintColumn("NAME"), PrintColumn("DESIRED", integer: true), PrintColumn("CURRENT", integer: true), PrintColumn("READY", integer: true),
         PrintColumn("AGE")] + PrintColumn.wide("CONTAINERS", "IMAGES", "SELECTOR")
    }

    public func cells(_ rs: Set, _ context: PrintContext) -> [String] {
        [rs.name, String(rs.desiredReplicas), String(rs.replicaStatus?.replicas ?? 0), String(rs.replicaStatus?.readyReplicas ?? 0),
         context.age(rs.metadata)] + Printing.containerColumns(rs.podTemplate?.spec) + [rs.podSelector?.selector.description ?? "<none>"]
    }
}

/// `kubectl get jobs`: its state, succeeded of completions (`1/1 of 3` for a work queue run 3 at a time), how
/// long it ran (or has run so far); `-o wide` adds containers, images, selector.
public struct JobPrinter: ObjectPrinter {
    public init() {}

    public var columns: [PrintColumn] {
        [PrintColumn("NAME"), PrintColumn("STATUS"), PrintColumn("COMPLETIONS"), PrintColumn("DURATION"), PrintColumn("AGE")]
            + PrintColumn.wide("CONTAINERS", "IMAGES", "SELECTOR")
    }

    public func cells(_ job: Job, _ context: PrintContext) -> [String] {
        let succeeded = job.status?.succeeded ?? 0
        let completions: String = if let total = job.spec.completions { "\(succeeded)/\(total)" }
            else if let parallelism = job.spec.parallelism, parallelism > 1 { "\(succeeded)/1 of \(parallelism)" } else { "\(succeeded)/1" }
        let state = job.has("Complete") ? "Complete" : job.has("Failed") ? "Failed" : job.has("Suspended") ? "Suspended"
            : job.has("FailureTarget") ? "FailureTarget" : job.has("SuccessCriteriaMet") ? "SuccessCriteriaMet" : "Running"
        var duration = ""
        if let start = job.status?.startTime.flatMap(context.parseTime) {
            let end = job.status?.completionTime.flatMap(context.parseTime) ?? context.now
            duration = Printing.humanDuration(seconds: Int(max(0, end - start)))
        }
        return [job.name, state, completions, duration, context.age(job.metadata)] + Printing.containerColumns(job.spec.template.spec)
            + [job.spec.selector?.selector.description ?? "<none>"]
    }
}

/// `kubectl get cronjobs`: schedule, time zone, suspended, how many Jobs run, since the last schedule.
public struct CronJobPrinter: ObjectPrinter {
    public init() {}

    public var columns: [PrintColumn] {
        ["NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST SCHEDULE", "AGE"].map { PrintColumn($0) }
            + PrintColumn.wide("CONTAINERS", "IMAGES", "SELECTOR")
    }

    public func cells(_ cronJob: CronJob, _ context: PrintContext) -> [String] {
        [cronJob.name, cronJob.spec.schedule, cronJob.spec.timeZone ?? "<none>", cronJob.spec.suspend == true ? "True" : "False",
         String(cronJob.status?.active?.count ?? 0), cronJob.status?.lastScheduleTime.map { context.since($0) } ?? "<none>",
         context.age(cronJob.metadata)] + Printing.containerColumns(cronJob.spec.jobTemplate.spec.template.spec)
            + [cronJob.spec.jobTemplate.spec.selector?.selector.description ?? "<none>"]
    }
}

/// `kubectl get deployments`: ready of desired, up to date, available; `-o wide` as for replica sets.
public struct DeploymentPrinter: ObjectPrinter {
    public var columns: [PrintColumn] {
        [PrintColumn("NAME"), PrintColumn("READY"), PrintColumn("UP-TO-DATE", integer: true), PrintColumn("AVAILABLE", integer: true),
         PrintColumn("AGE")] + PrintColumn.wide("CONTAINERS", "IMAGES", "SELECTOR")
    }

    public func cells(_ d: Deployment, _ context: PrintContext) -> [String] {
        [d.name, "\(d.status?.readyReplicas ?? 0)/\(d.desiredReplicas)", String(d.status?.updatedReplicas ?? 0),
         String(d.status?.availableReplicas ?? 0), context.age(d.metadata)]
            + Printing.containerColumns(d.spec.template?.spec) + [d.spec.selector?.selector.description ?? "<none>"]
    }
}
