import Foundation
@testable import KindlingAgent
import KindlingAPI
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
        first.nextProbe = now.addingTimeInterval(60)
        second.process = sidecar
        second.nextProbe = now // no probe: never due
        record.containers = ["nginx": first, "sidecar": second]
        return record
    }

    @Test func anIdlePodNeedsNoPass() {
        let now = Date()
        #expect(!PodRuntime.needsPass(desired: ["u1": Self.web], records: ["u1": Self.running(now: now)], now: now) { _ in true })
        #expect(!PodRuntime.needsPass(desired: [:], records: [:], now: now) { _ in true })
    }

    @Test(arguments: ["new pod", "deleted", "terminating", "stopping", "sandbox gone", "container exited", "probe due",
                      "restart due", "container missing"])
    func workForAPodNeedsAPass(_ change: String) throws {
        let now = Date()
        var desired = ["u1": Self.web], record = Self.running(now: now)
        var alive: (ProcessRef) -> Bool = { _ in true }
        switch change {
        case "new pod": desired["u2"] = Self.web
        case "deleted": desired = [:]
        case "terminating": desired["u1"]?.metadata.deletionTimestamp = Timestamp.string(now)
        case "stopping": record.stopDeadline = now.addingTimeInterval(30)
        case "sandbox gone": alive = { $0 != Self.sandbox }
        case "container exited": alive = { $0 != Self.sidecar }
        case "probe due": record.containers["nginx"]?.nextProbe = now
        case "restart due":
            record.containers["sidecar"]?.process = nil
            record.containers["sidecar"]?.lastExitCode = 1
            record.containers["sidecar"]?.notBefore = now.addingTimeInterval(-1)
        case "container missing": record.containers["sidecar"] = nil
        default: Issue.record("unknown case")
        }
        #expect(PodRuntime.needsPass(desired: desired, records: ["u1": record], now: now, alive: alive))
    }

    @Test func waitsOutBackoffAndLeavesFinishedContainersAlone() throws {
        let now = Date()
        var record = Self.running(now: now)
        record.containers["sidecar"]?.process = nil
        record.containers["sidecar"]?.lastExitCode = 1
        record.containers["sidecar"]?.notBefore = now.addingTimeInterval(10)
        #expect(!PodRuntime.needsPass(desired: ["u1": Self.web], records: ["u1": record], now: now) { _ in true }, "CrashLoopBackOff")
        var never = Self.web
        never.spec.restartPolicy = "Never"
        record.containers["sidecar"]?.notBefore = nil
        #expect(!PodRuntime.needsPass(desired: ["u1": never], records: ["u1": record], now: now) { _ in true }, "ended, not restarted")
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
