import Foundation
import KindlingAddresses
@testable import KindlingAgent
import KindlingAPI
@testable import KindlingProcess
import Testing

/// When an agent passes over its pods (issue 15: a pass over every pod ten times a second cost an idle node
/// most of a core), and how it reads a process's start time.
@Suite struct PodPassTests {
    static func pod(_ json: String) throws -> Pod { try KubeJSON.decoder.decode(Pod.self, from: Data(json.utf8)) }

    static let web = try! pod("""
        {"metadata": {"name": "web", "namespace": "dev", "uid": "u1"},
         "spec": {"containers": [{"name": "nginx", "image": "nginx", "readinessProbe": {"tcpSocket": {"port": 80}}},
                                 {"name": "sidecar", "image": "busybox"}]}}
        """)

    static let sandbox = ProcessRef(pid: 10, startTicks: 1), nginx = ProcessRef(pid: 11, startTicks: 2), sidecar = ProcessRef(pid: 12, startTicks: 3)

    /// The web pod running: both containers up, its probe next due in a minute.
    static func running(now: Date) -> PodRecord {
        var record = PodRecord(uid: "u1", namespace: "dev", name: "web", netns: "kl-x.pod.dev.web", hostDevice: "klv1",
                               ip: IPv4Address("10.244.1.2")!, podCIDR: IPv4CIDR("10.244.1.0/24")!, startTime: "")
        record.sandbox = sandbox
        var first = ContainerRecord(), second = ContainerRecord()
        first.process = nginx
        first.probes = ["readiness": ProbeRecord(next: now.addingTimeInterval(60))]
        second.process = sidecar
        record.containers = ["nginx": first, "sidecar": second]
        return record
    }

    @Test func anIdlePodNeedsNoPass() {
        let now = Date()
        let schedule = PassSchedule(desired: ["u1": Self.web], records: ["u1": Self.running(now: now)])
        #expect(!schedule.isDue(at: now))
        #expect(schedule.isDue(at: now.addingTimeInterval(60)), "the probe, in a minute")
        #expect(schedule.processes == [Self.sandbox, Self.nginx, Self.sidecar])
        #expect(!PassSchedule(desired: [:], records: [:]).isDue(at: now))
    }

    @Test(arguments: ["new pod", "deleted", "terminating", "stopping", "no sandbox", "probe due", "restart due", "container missing"])
    func workForAPodNeedsAPass(_ change: String) throws {
        let now = Date()
        var desired = ["u1": Self.web], record = Self.running(now: now)
        switch change {
        case "new pod": desired["u2"] = Self.web
        case "deleted": desired = [:]
        case "terminating": desired["u1"]?.metadata.deletionTimestamp = Timestamp.string(now)
        case "stopping": record.stopDeadline = now.addingTimeInterval(30)
        case "no sandbox": record.sandbox = nil
        case "probe due": record.containers["nginx"]?.probes["readiness"]?.next = now
        case "restart due":
            record.containers["sidecar"]?.process = nil
            record.containers["sidecar"]?.lastExitCode = 1
            record.containers["sidecar"]?.notBefore = now.addingTimeInterval(-1)
        case "container missing": record.containers["sidecar"] = nil
        default: Issue.record("unknown case")
        }
        #expect(PassSchedule(desired: desired, records: ["u1": record]).isDue(at: now))
    }

    @Test func waitsOutBackoffAndLeavesFinishedContainersAlone() throws {
        let now = Date()
        var record = Self.running(now: now)
        record.containers["sidecar"]?.process = nil
        record.containers["sidecar"]?.lastExitCode = 1
        record.containers["sidecar"]?.notBefore = now.addingTimeInterval(10)
        let backingOff = PassSchedule(desired: ["u1": Self.web], records: ["u1": record])
        #expect(!backingOff.isDue(at: now), "CrashLoopBackOff")
        #expect(backingOff.isDue(at: now.addingTimeInterval(10)), "the restart, in 10 s")
        var never = Self.web
        never.spec.restartPolicy = "Never"
        record.containers["sidecar"]?.notBefore = nil
        #expect(PassSchedule(desired: ["u1": never], records: ["u1": record]).due == now.addingTimeInterval(60), "ended, not restarted: only the probe")
    }

    /// Real processes: a running one is not ended, one that exits or is killed is, a pid that was never this process is, and processes no longer asked about are let go.
    @Test func exitsAreSeenThroughPidfds() throws {
        let watch = ExitWatch()
        let sleeper = Process(), quick = Process()
        sleeper.executableURL = URL(fileURLWithPath: "/usr/bin/sleep")
        sleeper.arguments = ["30"]
        quick.executableURL = URL(fileURLWithPath: "/usr/bin/sleep")
        quick.arguments = ["0.2"]
        try sleeper.run()
        try quick.run()
        // SIGKILL: a child of a Swift process inherits its blocked signals, SIGTERM among them.
        defer { kill(sleeper.processIdentifier, SIGKILL) }
        let long = try #require(ProcessRef(pid: sleeper.processIdentifier)), short = try #require(ProcessRef(pid: quick.processIdentifier))
        #expect(!watch.anyEnded([long, short]))
        #expect(watch.watched == 2)
        let deadline = Date().addingTimeInterval(10)
        while !watch.anyEnded([long, short]) && Date() < deadline { usleep(20_000) }
        #expect(watch.anyEnded([long, short]), "the short sleep ended")
        #expect(!watch.anyEnded([long]))
        #expect(watch.watched == 1)
        #expect(watch.anyEnded([ProcessRef(pid: long.pid, startTicks: long.startTicks + 1)]), "same pid, another process")
        kill(sleeper.processIdentifier, SIGKILL)
        sleeper.waitUntilExit()
        #expect(watch.anyEnded([long]))
        #expect(!watch.anyEnded([]))
        #expect(watch.watched == 0)
    }

    @Test func startTimeIsField22AndZombiesHaveNone() {
        func ticks(_ line: String) -> UInt64? {
            Array(line.utf8).withUnsafeBufferPointer { ProcessRef.startTicks(stat: $0) }
        }
        let fields = (4...21).map(String.init).joined(separator: " ")
        #expect(ticks("42 (sleep) S \(fields) 987654 23 24\n") == 987654)
        // A command may hold spaces and parentheses: the last ")" ends it.
        #expect(ticks("42 (a) b (c) S \(fields) 55 23\n") == 55)
        #expect(ticks("42 (sleep) Z \(fields) 987654 23\n") == nil)
        #expect(ticks("42 (sleep) S 4 5") == nil)
        #expect(ticks("42 (sleep) S \(fields) 987654") == 987654)
        #expect(ProcessRef(pid: getpid())?.isAlive == true)
        #expect(ProcessRef.startTicks(of: getpid()) != nil)
    }
}
