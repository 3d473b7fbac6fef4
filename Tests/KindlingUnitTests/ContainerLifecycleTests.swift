import Foundation
import KindlingAddresses
@testable import KindlingAgent
import KindlingAPI
@testable import KindlingProcess
import Testing

/// kubelet's container lifecycle as `ContainerLifecycle` decides it (issue 16): restartPolicy, the backoff
/// of 10 s doubling to 5 minutes and its reset, what a start resets, probes' thresholds, and the states the
/// API shows (CrashLoopBackOff above all), as pure table tests.
@Suite struct ContainerLifecycleTests {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    static let pod = try! KubeJSON.decoder.decode(Pod.self, from: Data("""
        {"metadata": {"name": "web", "namespace": "dev", "uid": "u1"}, "spec": {"containers": [{"name": "app", "image": "busybox"}]}}
        """.utf8))

    /// A container `app` with what `json` adds (probes, hooks).
    static func container(_ json: String = "{}") -> Container {
        var object = try! JSONSerialization.jsonObject(with: Data(json.utf8)) as! [String: Any]
        object["name"] = "app"
        object["image"] = "busybox"
        return try! KubeJSON.decoder.decode(Container.self, from: JSONSerialization.data(withJSONObject: object))
    }

    /// A container started at `t0` that ran for `ran` seconds before it ended with `code`.
    static func ended(_ code: Int32, ran: TimeInterval = 1, backoff: Int = 0, policy: String? = nil) -> (ContainerRecord, Bool) {
        var state = ContainerRecord()
        state = ContainerLifecycle.started(state, process: ProcessRef(pid: 42, startTicks: 1), environment: [:], at: t0, container: container())
        state.backoffSeconds = backoff
        return ContainerLifecycle.exited(state, code: code, at: t0.addingTimeInterval(ran), restartPolicy: policy)
    }

    @Test(arguments: [
        // policy, exit code, runs again
        (nil as String?, Int32(0), true), (nil, 1, true), ("Always", 0, true),
        ("OnFailure", 0, false), ("OnFailure", 2, true),
        ("Never", 0, false), ("Never", 137, false),
    ])
    func restartPolicyDecidesWhetherItRunsAgain(policy: String?, code: Int32, again: Bool) {
        let (state, _) = Self.ended(code, policy: policy)
        #expect(ContainerLifecycle.shouldRun(restartPolicy: policy, state) == again)
        let next = ContainerLifecycle.next(state, restartPolicy: policy, now: Self.t0.addingTimeInterval(1))
        #expect(again ? next == .start : next == .done, "the first restart is at once")
    }

    @Test func aContainerNeverRunShouldRunWhateverThePolicy() {
        for policy in ["Always", "OnFailure", "Never"] {
            #expect(ContainerLifecycle.next(ContainerRecord(), restartPolicy: policy, now: Self.t0) == .start)
        }
    }

    @Test(arguments: [
        // backoff before the exit, seconds it ran: (wait before the restart, backoff after, BackOff reported)
        (0, 1.0, 0, 10, false), (10, 1.0, 10, 20, true), (20, 1.0, 20, 40, true), (160, 1.0, 160, 300, true),
        (300, 1.0, 300, 300, true), (300, 601.0, 0, 10, false),
    ])
    func backoffDoublesToFiveMinutesAndStartsOverAfterTenMinutesOfRunning(before: Int, ran: TimeInterval, wait: Int, after: Int, backOff: Bool) {
        let (state, reported) = Self.ended(1, ran: ran, backoff: before)
        let end = Self.t0.addingTimeInterval(ran)
        #expect(state.notBefore == end.addingTimeInterval(Double(wait)))
        #expect(state.backoffSeconds == after)
        #expect(reported == backOff)
        if wait > 0 {
            #expect(ContainerLifecycle.next(state, restartPolicy: nil, now: end) == .wait(until: end.addingTimeInterval(Double(wait))))
        }
        #expect(ContainerLifecycle.next(state, restartPolicy: nil, now: end.addingTimeInterval(Double(wait))) == .start)
    }

    @Test func aCleanExitIsNeverABackOff() {
        #expect(Self.ended(0, backoff: 40).1 == false)
        #expect(Self.ended(3, backoff: 40, policy: "Never").1 == false, "it does not restart")
    }

    @Test func anExitIsRecordedAsTheLastStateAndAStartCountsARestart() {
        let (state, _) = Self.ended(137, ran: 5)
        #expect(state.process == nil && !state.ready)
        #expect(state.lastExitCode == 137 && state.lastReason == "Error")
        #expect(state.lastStartedAt == Timestamp.string(Self.t0))
        #expect(state.lastFinishedAt == Timestamp.string(Self.t0.addingTimeInterval(5)))
        #expect(state.restartCount == 0)
        var waiting = ContainerLifecycle.waiting(state, reason: "CreateContainerConfigError", message: "no key")
        waiting.probes["readiness"] = ProbeRecord(next: nil)
        waiting.probes["readiness"]?.failures = 2
        waiting.restartForced = true
        let container = Self.container(#"{"readinessProbe": {"exec": {"command": ["true"]}, "initialDelaySeconds": 3}}"#)
        let again = ContainerLifecycle.started(waiting, process: ProcessRef(pid: 43, startTicks: 2), environment: ["A": "1"],
                                               at: Self.t0.addingTimeInterval(20), container: container)
        #expect(again.restartCount == 1)
        #expect(again.waitingReason == nil && again.waitingMessage == nil && !again.restartForced)
        #expect(again.probes == ["readiness": ProbeRecord(next: Self.t0.addingTimeInterval(23))])
        #expect(!again.ready && again.startupPassed, "ready only once its probe says so")
        #expect(again.environment == ["A": "1"])
        #expect(ContainerLifecycle.started(ContainerRecord(), process: ProcessRef(pid: 1, startTicks: 1), environment: [:], at: Self.t0,
                                           container: Self.container()).ready, "no probe: ready when started")
    }

    @Test func aMissingCommandIsRetriedAfterTheBackoff() {
        var state = ContainerRecord()
        state.backoffSeconds = 40
        let waiting = ContainerLifecycle.commandNotFound(state, command: "nope", now: Self.t0)
        #expect(waiting.waitingReason == "RunContainerError")
        #expect(waiting.waitingMessage == "exec: \"nope\": executable file not found in $PATH")
        #expect(waiting.lastExitCode == 128)
        #expect(waiting.notBefore == Self.t0.addingTimeInterval(40))
        #expect(ContainerLifecycle.commandNotFound(ContainerRecord(), command: "x", now: Self.t0).notBefore == Self.t0.addingTimeInterval(10))
    }

    @Test func probesFlipReadinessAfterTheirThresholds() {
        let container = Self.container(#"{"readinessProbe": {"exec": {"command": ["true"]}, "periodSeconds": 5, "successThreshold": 2, "failureThreshold": 2}}"#)
        var state = ContainerRecord(), restart = false
        (state, restart) = ContainerLifecycle.probed(state, .readiness, ok: true, container: container, at: Self.t0)
        #expect(!state.ready && state.probes["readiness"]?.next == Self.t0.addingTimeInterval(5) && !restart)
        (state, _) = ContainerLifecycle.probed(state, .readiness, ok: true, container: container, at: Self.t0)
        #expect(state.ready)
        (state, _) = ContainerLifecycle.probed(state, .readiness, ok: false, container: container, at: Self.t0)
        #expect(state.ready, "one failure of two")
        (state, restart) = ContainerLifecycle.probed(state, .readiness, ok: false, container: container, at: Self.t0)
        #expect(!state.ready && !restart, "readiness never restarts a container")
    }

    @Test(arguments: [
        // probe, results in order: whether the last one restarts the container
        ("livenessProbe", [false, false], false), ("livenessProbe", [false, false, false], true),
        ("livenessProbe", [false, false, true, false], false), ("startupProbe", [false, false, false], true),
        ("startupProbe", [false, true], false),
    ])
    func livenessAndStartupRestartAfterTheirFailureThreshold(field: String, results: [Bool], restarts: Bool) {
        let container = Self.container(#"{"\#(field)": {"tcpSocket": {"port": 80}, "failureThreshold": 3}}"#)
        var state = ContainerLifecycle.started(ContainerRecord(), process: ProcessRef(pid: 5, startTicks: 5), environment: [:], at: Self.t0,
                                               container: container)
        var restart = false
        let kind: ProbeKind = field == "startupProbe" ? .startup : .liveness
        for ok in results { (state, restart) = ContainerLifecycle.probed(state, kind, ok: ok, container: container, at: Self.t0) }
        #expect(restart == restarts)
    }

    @Test func theStartupProbeHoldsTheOthersBackUntilItSucceeds() {
        let container = Self.container(#"""
            {"startupProbe": {"exec": {"command": ["true"]}, "periodSeconds": 2}, "livenessProbe": {"exec": {"command": ["true"]}},
             "readinessProbe": {"exec": {"command": ["true"]}, "initialDelaySeconds": 5}}
            """#)
        var state = ContainerLifecycle.started(ContainerRecord(), process: ProcessRef(pid: 5, startTicks: 5), environment: [:], at: Self.t0,
                                               container: container)
        #expect(!state.startupPassed && !state.ready)
        #expect(!ContainerLifecycle.apiState(state, restartPolicy: nil, container: "app", pod: Self.pod).started)
        #expect(ContainerLifecycle.dueProbes(state, container: container, now: Self.t0.addingTimeInterval(6)) == [.startup])
        (state, _) = ContainerLifecycle.probed(state, .startup, ok: true, container: container, at: Self.t0.addingTimeInterval(1))
        #expect(state.startupPassed && !state.ready, "its readiness probe decides now")
        #expect(ContainerLifecycle.dueProbes(state, container: container, now: Self.t0.addingTimeInterval(1)) == [.liveness])
        #expect(ContainerLifecycle.dueProbes(state, container: container, now: Self.t0.addingTimeInterval(5)) == [.liveness, .readiness],
                "the initial delay counts from the start")
        #expect(ContainerLifecycle.apiState(state, restartPolicy: nil, container: "app", pod: Self.pod).started)
        let stopping = ContainerLifecycle.killing(state, at: Self.t0, grace: 30)
        #expect(ContainerLifecycle.dueProbes(stopping, container: container, now: Self.t0.addingTimeInterval(9)).isEmpty, "no probe while it stops")
    }

    @Test(arguments: ["Always", "OnFailure"])
    func aContainerKilledForAProbeRunsAgainEvenAfterACleanExit(policy: String) {
        let running = ContainerLifecycle.started(ContainerRecord(), process: ProcessRef(pid: 5, startTicks: 5), environment: [:], at: Self.t0,
                                                 container: Self.container())
        let killed = ContainerLifecycle.killing(running, at: Self.t0, grace: 7)
        #expect(killed.killDeadline == Self.t0.addingTimeInterval(7) && !killed.ready)
        let (ended, _) = ContainerLifecycle.exited(killed, code: 0, at: Self.t0.addingTimeInterval(1), restartPolicy: policy)
        #expect(ended.killDeadline == nil)
        #expect(ContainerLifecycle.shouldRun(restartPolicy: policy, ended))
        #expect(!ContainerLifecycle.shouldRun(restartPolicy: "Never", ended))
    }

    @Test func anImageThatCannotBePulledAlternatesErrImagePullAndABackOffThatDoubles() {
        var state = ContainerRecord(), pulled = false
        var reasons: [String?] = [], waits: [TimeInterval?] = []
        var now = Self.t0
        for _ in 0..<6 {
            (state, pulled) = ContainerLifecycle.pullFailed(state, image: "example.com/app:1", message: "not here", now: now)
            reasons.append(state.waitingReason)
            waits.append(state.notBefore?.timeIntervalSince(now))
            #expect(pulled == (state.waitingReason == "ErrImagePull"))
            now = state.notBefore ?? now
        }
        #expect(reasons == ["ErrImagePull", "ImagePullBackOff", "ErrImagePull", "ImagePullBackOff", "ErrImagePull", "ImagePullBackOff"])
        #expect(waits == [2, 10, 2, 20, 2, 40])
        #expect(state.waitingMessage == "Back-off pulling image \"example.com/app:1\": ErrImagePull: not here")
    }

    @Test func theAPIShowsRunningWaitingCrashLoopBackOffAndTerminated() {
        func shown(_ state: ContainerRecord, policy: String? = nil) -> (ContainerStatus.State, ContainerStatus.State?, Bool) {
            let result = ContainerLifecycle.apiState(state, restartPolicy: policy, container: "app", pod: Self.pod)
            return (result.state, result.last, result.started)
        }
        #expect(shown(ContainerRecord()).0.waiting?.reason == "ContainerCreating")

        let (failed, _) = Self.ended(1, backoff: 20)
        let crashing = shown(failed)
        #expect(crashing.0.waiting?.reason == "CrashLoopBackOff")
        #expect(crashing.0.waiting?.message == "back-off 20s restarting failed container=app pod=web_dev(u1)")
        #expect(crashing.1?.terminated?.exitCode == 1 && crashing.2 == false)
        #expect(shown(Self.ended(1).0).0.waiting?.message?.hasPrefix("back-off 10s") == true, "never under kubelet's first backoff")

        let done = shown(Self.ended(0, policy: "Never").0, policy: "Never")
        #expect(done.0.terminated?.reason == "Completed" && done.1 == nil)

        var running = ContainerLifecycle.started(failed, process: ProcessRef(pid: 9, startTicks: 9), environment: [:], at: Self.t0, container: Self.container())
        running.lastExitCode = 1
        let up = shown(running)
        #expect(up.0.running?.startedAt == Timestamp.string(Self.t0) && up.1?.terminated?.exitCode == 1 && up.2)

        let pulling = shown(ContainerLifecycle.waiting(failed, reason: "ErrImagePull", message: "not in the catalog"))
        #expect(pulling.0.waiting?.reason == "ErrImagePull" && pulling.0.waiting?.message == "not in the catalog" && pulling.1 == nil)
    }

    @Test func aPodsPhaseFollowsItsContainers() {
        let record = PodRecord(uid: "u1", namespace: "dev", name: "web", netns: "n", hostDevice: "v", ip: IPv4Address("10.244.1.5")!,
                               podCIDR: IPv4CIDR("10.244.1.0/24")!, startTime: "t")
        func phase(_ state: ContainerRecord, policy: String? = nil) -> String? {
            var pod = Self.pod
            pod.spec.restartPolicy = policy
            var record = record
            record.containers = ["app": state]
            return PodStatusBuilder.status(pod, record, hostIP: IPv4Address("172.18.0.3")!, now: "t").phase
        }
        #expect(phase(ContainerRecord()) == "Pending")
        #expect(phase(Self.ended(1).0) == "Running", "crash-looping, it has run")
        #expect(phase(Self.ended(0, policy: "Never").0, policy: "Never") == "Succeeded")
        #expect(phase(Self.ended(2, policy: "Never").0, policy: "Never") == "Failed")
        let status = PodStatusBuilder.status(Self.pod, record, hostIP: IPv4Address("172.18.0.3")!, now: "t")
        #expect(status.podIP == "10.244.1.5" && status.hostIP == "172.18.0.3" && status.startTime == "t")
        #expect(status.conditions?.first { $0.type == "Ready" }?.message == "containers with unready status: [app]")
    }
}
