import Foundation
import KindlingAPI
import KindlingProcess

/// A container's life as kubelet leads it, as pure decisions over its record: what an exit does to it
/// (restartPolicy, backoff of 10 s doubling to 5 minutes, reset after 10 minutes of running), whether and when
/// it starts again, what a start resets, what its probes' results do (readiness, a restart when liveness or
/// startup fails), and the state the API shows for it (CrashLoopBackOff and ImagePullBackOff included).
/// The runtime carries the decisions out: it kills, spawns and reports.
enum ContainerLifecycle {
    /// kubelet's backoff: the first restart at once, then 10 s doubling up to 5 minutes.
    static let firstBackoff = 10
    static let maxBackoff = 300
    /// A container that ran this long before it ended starts its backoff over.
    static let backoffReset: TimeInterval = 600

    /// What the runtime does next with a container that is not running.
    enum Next: Equatable {
        /// Start it now.
        case start
        /// Start it at this moment, not before (a restart's backoff, or a configuration error retried).
        case wait(until: Date)
        /// Leave it: its restartPolicy says it is done.
        case done
    }

    /// Whether a container that is not running should be (again), per restartPolicy.
    static func shouldRun(restartPolicy: String?, _ state: ContainerRecord) -> Bool {
        guard let lastExit = state.lastExitCode else { return true }
        if state.restartForced { return restartPolicy != "Never" }
        switch restartPolicy ?? "Always" {
        case "Never": return false
        case "OnFailure": return lastExit != 0
        default: return true
        }
    }

    /// The next step for a container without a process.
    static func next(_ state: ContainerRecord, restartPolicy: String?, now: Date) -> Next {
        guard shouldRun(restartPolicy: restartPolicy, state) else { return .done }
        if let notBefore = state.notBefore, notBefore > now { return .wait(until: notBefore) }
        return .start
    }

    /// The record once its process ended with `code` at `now`, and whether kubelet reports `BackOff` for it
    /// (a failed container that will be restarted after a backoff beyond the first).
    static func exited(_ state: ContainerRecord, code: Int32, at now: Date, restartPolicy: String?) -> (ContainerRecord, backOff: Bool) {
        var state = state
        state.process = nil
        state.ready = false
        state.killDeadline = nil
        state.lastExitCode = code
        state.lastReason = code == 0 ? "Completed" : "Error"
        state.lastStartedAt = state.startedAt
        state.lastFinishedAt = Timestamp.string(now)
        let ranLong = state.startedAt.flatMap(Timestamp.date).map { now.timeIntervalSince($0) > backoffReset } ?? false
        if ranLong { state.backoffSeconds = 0 }
        state.notBefore = now.addingTimeInterval(Double(state.backoffSeconds))
        state.backoffSeconds = state.backoffSeconds == 0 ? firstBackoff : min(maxBackoff, state.backoffSeconds * 2)
        let backOff = code != 0 && shouldRun(restartPolicy: restartPolicy, state) && state.backoffSeconds > firstBackoff
        return (state, backOff)
    }

    /// The record once its process started at `now`: a restart counts, the waiting reason goes, and each probe
    /// starts over, first due after its initial delay. Ready at once only without readiness and startup probes.
    static func started(_ state: ContainerRecord, process: ProcessRef?, environment: [String: String], at now: Date,
                        container: Container) -> ContainerRecord {
        var state = state
        state.process = process
        state.environment = environment
        if state.startedAt != nil { state.restartCount += 1 }
        state.startedAt = Timestamp.string(now)
        state.waitingReason = nil
        state.waitingMessage = nil
        state.pullBackoffSeconds = 0
        state.killDeadline = nil
        state.restartForced = false
        state.probes = [:]
        for kind in ProbeKind.allCases {
            guard let probe = kind.probe(of: container) else { continue }
            state.probes[kind.rawValue] = ProbeRecord(next: now.addingTimeInterval(Double(probe.initialDelaySeconds ?? 0)))
        }
        state.startupPassed = container.startupProbe == nil
        state.ready = container.readinessProbe == nil && state.startupPassed
        return state
    }

    /// The record after a start that could not happen: why it waits, and when it may be tried again.
    static func waiting(_ state: ContainerRecord, reason: String, message: String?, retryAt: Date? = nil) -> ContainerRecord {
        var state = state
        state.waitingReason = reason
        state.waitingMessage = message
        if let retryAt { state.notBefore = retryAt }
        return state
    }

    /// A command that is not there: kubelet's RunContainerError with exit code 128, retried after the backoff.
    static func commandNotFound(_ state: ContainerRecord, command: String, now: Date) -> ContainerRecord {
        var state = waiting(state, reason: "RunContainerError", message: "exec: \"\(command)\": executable file not found in $PATH",
                            retryAt: now.addingTimeInterval(Double(max(state.backoffSeconds, firstBackoff))))
        state.lastExitCode = 128
        return state
    }

    /// The probes due now: the startup probe alone until it succeeds, then liveness and readiness; none while the
    /// container is being stopped.
    static func dueProbes(_ state: ContainerRecord, container: Container, now: Date) -> [ProbeKind] {
        guard state.process != nil, state.killDeadline == nil else { return [] }
        let kinds: [ProbeKind] = state.startupPassed ? [.liveness, .readiness] : [.startup]
        return kinds.filter { kind in
            kind.probe(of: container) != nil && (state.probes[kind.rawValue]?.next).map { $0 <= now } == true
        }
    }

    /// A probe's verdict, and whether the container is to be restarted for it. Readiness flips after
    /// `successThreshold` successes or `failureThreshold` failures in a row; the startup probe's first success
    /// lets the others run (the container ready then if it has no readiness probe); `failureThreshold` failures
    /// of liveness or startup restart it. The next probe is a period away.
    static func probed(_ state: ContainerRecord, _ kind: ProbeKind, ok: Bool, container: Container, at now: Date)
        -> (ContainerRecord, restart: Bool) {
        guard let probe = kind.probe(of: container) else { return (state, false) }
        var state = state
        var run = state.probes[kind.rawValue] ?? ProbeRecord(next: nil)
        if ok {
            run.successes += 1
            run.failures = 0
        } else {
            run.failures += 1
            run.successes = 0
        }
        run.next = now.addingTimeInterval(Double(probe.periodSeconds ?? 10))
        let failed = run.failures >= (probe.failureThreshold ?? 3)
        var restart = false
        switch kind {
        case .readiness:
            if ok, run.successes >= (probe.successThreshold ?? 1) { state.ready = true }
            if failed { state.ready = false }
        case .startup:
            if ok {
                state.startupPassed = true
                state.ready = container.readinessProbe == nil
            }
            restart = failed
        case .liveness:
            restart = failed
        }
        state.probes[kind.rawValue] = run
        return (state, restart)
    }

    /// The record of a container kubelet is stopping to restart it: SIGTERM now, SIGKILL after `grace`
    /// seconds; not ready meanwhile, and run again whatever its exit.
    static func killing(_ state: ContainerRecord, at now: Date, grace: Int64) -> ContainerRecord {
        var state = state
        state.killDeadline = now.addingTimeInterval(Double(grace))
        state.ready = false
        state.restartForced = true
        return state
    }

    /// An image that cannot be pulled: ErrImagePull for a moment, then ImagePullBackOff for the back-off (10 s
    /// doubling to 5 minutes), then pulled again. Whether this is the ErrImagePull step (reported as a failure).
    static func pullFailed(_ state: ContainerRecord, image: String, message: String, now: Date) -> (ContainerRecord, pulled: Bool) {
        if state.waitingReason == "ErrImagePull" {
            var state = waiting(state, reason: "ImagePullBackOff", message: "Back-off pulling image \"\(image)\": ErrImagePull: \(message)",
                                retryAt: now.addingTimeInterval(Double(max(state.pullBackoffSeconds, firstBackoff))))
            state.pullBackoffSeconds = min(maxBackoff, max(state.pullBackoffSeconds, firstBackoff) * 2)
            return (state, false)
        }
        return (waiting(state, reason: "ErrImagePull", message: message, retryAt: now.addingTimeInterval(2)), true)
    }

    /// The container's state and last state as the API shows them, and whether it has started.
    /// `notStarted`: the reason shown before a first start (PodInitializing while init containers run).
    static func apiState(_ state: ContainerRecord, restartPolicy: String?, container: String, pod: Pod, notStarted: String = "ContainerCreating")
        -> (state: ContainerStatus.State, last: ContainerStatus.State?, started: Bool) {
        let lastTerminated = state.lastExitCode.map { code -> ContainerStatus.State in
            var terminated = ContainerStatus.State.Terminated(exitCode: code, reason: state.lastReason)
            terminated.startedAt = state.lastStartedAt
            terminated.finishedAt = state.lastFinishedAt
            return ContainerStatus.State(terminated: terminated)
        }
        if state.process != nil { return (.init(running: .init(startedAt: state.startedAt)), lastTerminated, state.startupPassed) }
        if let reason = state.waitingReason { return (.init(waiting: .init(reason: reason, message: state.waitingMessage)), nil, false) }
        if state.lastExitCode != nil && shouldRun(restartPolicy: restartPolicy, state) {
            // The backoff now running is half the one recorded for the next restart.
            let message = "back-off \(max(state.backoffSeconds / 2, firstBackoff))s restarting failed container=\(container) "
                + "pod=\(pod.name)_\(pod.namespace)(\(pod.metadata.uid ?? ""))"
            return (.init(waiting: .init(reason: "CrashLoopBackOff", message: message)), lastTerminated, false)
        }
        if let terminated = lastTerminated { return (terminated, nil, false) }
        return (.init(waiting: .init(reason: notStarted)), nil, false)
    }
}

/// kubelet's three probes.
enum ProbeKind: String, CaseIterable, Sendable {
    case startup, liveness, readiness

    func probe(of container: Container) -> Probe? {
        switch self {
        case .startup: container.startupProbe
        case .liveness: container.livenessProbe
        case .readiness: container.readinessProbe
        }
    }

    /// As kubelet's events name it: "Liveness probe failed: ...".
    var title: String { rawValue.prefix(1).uppercased() + rawValue.dropFirst() }
}
