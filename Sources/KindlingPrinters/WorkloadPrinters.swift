import KindlingAPI

/// `kubectl get pods`: readiness, the status kubectl works out, restarts; `-o wide` adds IP and node.
public struct PodPrinter: ObjectPrinter {
    public var columns: [PrintColumn] {
        ["NAME", "READY", "STATUS", "RESTARTS", "AGE"].map { PrintColumn($0) } + PrintColumn.wide("IP", "NODE", "NOMINATED NODE", "READINESS GATES")
    }

    public func cells(_ pod: Pod, _ context: PrintContext) -> [String] {
        let summary = PodSummary(pod)
        var restarts = String(summary.restarts)
        if summary.restarts > 0, let last = summary.lastRestart { restarts += " (\(context.since(last)) ago)" }
        return [pod.name, "\(summary.ready)/\(summary.total)", summary.reason, restarts, context.age(pod.metadata),
                pod.status?.podIP ?? "<none>", pod.spec.nodeName ?? "<none>", "<none>", "<none>"]
    }
}

/// The READY, STATUS and RESTARTS of `kubectl get pods`, worked out as kubectl's printer does: an init container
/// that has not completed speaks for the pod (`Init:1/2`, `Init:CrashLoopBackOff`), then the last container with
/// something to say; sidecars count among the containers, and their restarts always show.
public struct PodSummary: Equatable {
    public var ready = 0
    public var total: Int
    public var reason: String
    public var restarts = 0
    /// When a container last ended before a restart.
    public var lastRestart: String?

    public init(_ pod: Pod) {
        let sidecars = Set(pod.spec.sidecars.map(\.name))
        total = pod.spec.containers.count + sidecars.count
        reason = pod.status?.reason ?? pod.phase
        var sidecarRestarts = 0, lastSidecarRestart: String?, initializing = false
        func later(_ a: String?, _ b: String?) -> String? { [a, b].compactMap { $0 }.max() }
        let inits = pod.status?.initContainerStatuses ?? []
        for (index, status) in inits.enumerated() {
            restarts += status.restartCount
            lastRestart = later(lastRestart, status.lastState?.terminated?.finishedAt)
            if sidecars.contains(status.name) {
                sidecarRestarts += status.restartCount
                lastSidecarRestart = later(lastSidecarRestart, status.lastState?.terminated?.finishedAt)
            }
            if let terminated = status.state?.terminated, terminated.exitCode == 0 { continue }
            if sidecars.contains(status.name), status.started == true {
                if status.ready { ready += 1 }
                continue
            }
            if let terminated = status.state?.terminated {
                reason = "Init:" + Self.ended(terminated)
            } else if let waiting = status.state?.waiting?.reason, !waiting.isEmpty, waiting != "PodInitializing" {
                reason = "Init:" + waiting
            } else {
                reason = "Init:\(index)/\(pod.spec.initContainers?.count ?? inits.count)"
            }
            initializing = true
            break
        }
        if !initializing || pod.status?.conditions?["Initialized"]?.status == "True" {
            restarts = sidecarRestarts
            lastRestart = lastSidecarRestart
            var running = false
            for status in (pod.status?.containerStatuses ?? []).reversed() {
                restarts += status.restartCount
                lastRestart = later(lastRestart, status.lastState?.terminated?.finishedAt)
                if let waiting = status.state?.waiting?.reason, !waiting.isEmpty {
                    reason = waiting
                } else if let terminated = status.state?.terminated {
                    reason = Self.ended(terminated)
                } else if status.ready, status.state?.running != nil {
                    running = true
                    ready += 1
                }
            }
            if reason == "Completed" && running { reason = pod.isReady ? "Running" : "NotReady" }
        }
        if pod.metadata.deletionTimestamp != nil {
            if pod.status?.reason == "NodeLost" { reason = "Unknown" } else if !["Succeeded", "Failed"].contains(pod.phase) { reason = "Terminating" }
        }
    }

    static func ended(_ terminated: ContainerStatus.State.Terminated) -> String {
        if let reason = terminated.reason, !reason.isEmpty { return reason }
        if let signal = terminated.signal, signal != 0 { return "Signal:\(signal)" }
        return "ExitCode:\(terminated.exitCode)"
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

/// `kubectl get daemonsets`: desired, current, ready, up-to-date and available counts, the node selector;
/// `-o wide` adds containers, images, selector.
public struct DaemonSetPrinter: ObjectPrinter {
    public init() {}

    public var columns: [PrintColumn] {
        [PrintColumn("NAME")] + ["DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE"].map { PrintColumn($0, integer: true) }
            + [PrintColumn("NODE SELECTOR"), PrintColumn("AGE")] + PrintColumn.wide("CONTAINERS", "IMAGES", "SELECTOR")
    }

    public func cells(_ set: DaemonSet, _ context: PrintContext) -> [String] {
        let status = set.status ?? DaemonSet.Status()
        let selector = (set.spec.template.spec.nodeSelector ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
        return [set.name, String(status.desiredNumberScheduled), String(status.currentNumberScheduled), String(status.numberReady),
                String(status.updatedNumberScheduled ?? 0), String(status.numberAvailable ?? 0), selector.isEmpty ? "<none>" : selector,
                context.age(set.metadata)] + Printing.containerColumns(set.spec.template.spec) + [set.spec.selector?.selector.description ?? "<none>"]
    }
}
