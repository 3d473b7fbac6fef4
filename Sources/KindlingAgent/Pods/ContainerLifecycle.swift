import Foundation
import KindlingAPI
import KindlingProcess

/// A container's life as kubelet leads it, as pure decisions over its record: what an exit does to it
/// (restartPolicy, backoff of 10 s doubling to 5 minutes, reset after 10 minutes of running), whether and when
/// it starts again, what a start resets, and the state the API shows for it (CrashLoopBackOff included).
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

    /// The record once its process started at `now`: a restart counts, the waiting reason and probes start over.
    static func started(_ state: ContainerRecord, process: ProcessRef?, environment: [String: String], at now: Date,
                        readinessProbe: Probe?) -> ContainerRecord {
        var state = state
        state.process = process
        state.environment = environment
        if state.startedAt != nil { state.restartCount += 1 }
        state.startedAt = Timestamp.string(now)
        state.waitingReason = nil
        state.waitingMessage = nil
        state.probeSuccesses = 0
        state.probeFailures = 0
        state.nextProbe = now.addingTimeInterval(Double(readinessProbe?.initialDelaySeconds ?? 0))
        state.ready = readinessProbe == nil
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

    /// A readiness probe's verdict: readiness flips after `successThreshold` successes or `failureThreshold`
    /// failures in a row; the next probe is a period away.
    static func probed(_ state: ContainerRecord, ok: Bool, probe: Probe, at now: Date) -> ContainerRecord {
        var state = state
        if ok {
            state.probeSuccesses += 1
            state.probeFailures = 0
            if state.probeSuccesses >= (probe.successThreshold ?? 1) { state.ready = true }
        } else {
            state.probeFailures += 1
            state.probeSuccesses = 0
            if state.probeFailures >= (probe.failureThreshold ?? 3) { state.ready = false }
        }
        state.nextProbe = now.addingTimeInterval(Double(probe.periodSeconds ?? 10))
        return state
    }

    /// The container's state and last state as the API shows them, and whether it has started.
    static func apiState(_ state: ContainerRecord, restartPolicy: String?, container: String, pod: Pod)
        -> (state: ContainerStatus.State, last: ContainerStatus.State?, started: Bool) {
        let lastTerminated = state.lastExitCode.map { code -> ContainerStatus.State in
            var terminated = ContainerStatus.State.Terminated(exitCode: code, reason: state.lastReason)
            terminated.startedAt = state.lastStartedAt
            terminated.finishedAt = state.lastFinishedAt
            return ContainerStatus.State(terminated: terminated)
        }
        if state.process != nil { return (.init(running: .init(startedAt: state.startedAt)), lastTerminated, true) }
        if let reason = state.waitingReason { return (.init(waiting: .init(reason: reason, message: state.waitingMessage)), nil, false) }
        if state.lastExitCode != nil && shouldRun(restartPolicy: restartPolicy, state) {
            // The backoff now running is half the one recorded for the next restart.
            let message = "back-off \(max(state.backoffSeconds / 2, firstBackoff))s restarting failed container=\(container) "
                + "pod=\(pod.name)_\(pod.namespace)(\(pod.metadata.uid ?? ""))"
            return (.init(waiting: .init(reason: "CrashLoopBackOff", message: message)), lastTerminated, false)
        }
        if let terminated = lastTerminated { return (terminated, nil, false) }
        return (.init(waiting: .init(reason: "ContainerCreating")), nil, false)
    }
}
