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

    static func probe(_ json: String) -> Probe { try! KubeJSON.decoder.decode(Probe.self, from: Data(json.utf8)) }

    /// A container started at `t0` that ran for `ran` seconds before it ended with `code`.
    static func ended(_ code: Int32, ran: TimeInterval = 1, backoff: Int = 0, policy: String? = nil) -> (ContainerRecord, Bool) {
        var state = ContainerRecord()
        state = ContainerLifecycle.started(state, process: ProcessRef(pid: 42, startTicks: 1), environment: [:], at: t0, readinessProbe: nil)
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
        waiting.probeFailures = 2
        let probe = Self.probe(#"{"initialDelaySeconds": 3}"#)
        let again = ContainerLifecycle.started(waiting, process: ProcessRef(pid: 43, startTicks: 2), environment: ["A": "1"],
                                               at: Self.t0.addingTimeInterval(20), readinessProbe: probe)
        #expect(again.restartCount == 1)
        #expect(again.waitingReason == nil && again.waitingMessage == nil && again.probeFailures == 0)
        #expect(again.nextProbe == Self.t0.addingTimeInterval(23) && !again.ready, "ready only once its probe says so")
        #expect(again.environment == ["A": "1"])
        #expect(ContainerLifecycle.started(ContainerRecord(), process: ProcessRef(pid: 1, startTicks: 1), environment: [:], at: Self.t0,
                                           readinessProbe: nil).ready, "no probe: ready when started")
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
        let probe = Self.probe(#"{"periodSeconds": 5, "successThreshold": 2, "failureThreshold": 2}"#)
        var state = ContainerRecord()
        state = ContainerLifecycle.probed(state, ok: true, probe: probe, at: Self.t0)
        #expect(!state.ready && state.nextProbe == Self.t0.addingTimeInterval(5))
        state = ContainerLifecycle.probed(state, ok: true, probe: probe, at: Self.t0)
        #expect(state.ready)
        state = ContainerLifecycle.probed(state, ok: false, probe: probe, at: Self.t0)
        #expect(state.ready, "one failure of two")
        state = ContainerLifecycle.probed(state, ok: false, probe: probe, at: Self.t0)
        #expect(!state.ready)
        #expect(ContainerLifecycle.probed(ContainerRecord(), ok: false, probe: Self.probe("{}"), at: Self.t0).nextProbe == Self.t0.addingTimeInterval(10))
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

        var running = ContainerLifecycle.started(failed, process: ProcessRef(pid: 9, startTicks: 9), environment: [:], at: Self.t0, readinessProbe: nil)
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
