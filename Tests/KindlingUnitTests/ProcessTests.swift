import Foundation
import KindlingAddresses
import KindlingAPI
@testable import KindlingProcess
import Testing

/// Starting processes without root: separate output streams, awaited exits, signals only to our own child, and
/// the ways entering a pod fails before anything starts.
@Suite struct ProcessTests {
    func drain(_ fd: Int32) -> String {
        var text = Data()
        while case let chunk = UnixSocket.read(fd), !chunk.isEmpty { text.append(chunk) }
        close(fd)
        return String(decoding: text, as: UTF8.self)
    }

    @Test func stderrCanBeAStreamOfItsOwn() async throws {
        let output = try Spawn.openPipe(), errors = try Spawn.openPipe()
        let pid = try Spawn.start(["/bin/sh", "-c", "echo out; echo err >&2; exit 3"],
                                  options: .init(output: output.write, errors: errors.write))
        close(output.write)
        close(errors.write)
        let child = ChildProcess(pid: pid)
        #expect(drain(output.read) == "out\n")
        #expect(drain(errors.read) == "err\n")
        #expect(await child.exitCode() == 3)
        #expect(!child.isRunning)
    }

    @Test func signalsReachTheChildOnlyUntilItIsReaped() async throws {
        let child = ChildProcess(pid: try Spawn.start(["/bin/sleep", "30"]))
        #expect(child.isRunning)
        #expect(child.signal(SIGTERM))
        #expect(await child.exitCode() == 128 + SIGTERM)
        #expect(!child.signal(SIGTERM), "reaped: its pid may be someone else's now")
    }

    static func pod(_ uid: String) -> Pod {
        var pod = Pod(metadata: ObjectMeta(name: "web", namespace: "dev"), spec: PodSpec(containers: [Container(name: "nginx", image: "nginx")]))
        pod.metadata.uid = uid
        return pod
    }

    @Test func enteringAPodFailsInKubernetesWords() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("kl-unit-entry-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let files = PodFiles(cluster: "entry", stateRoot: root)
        let uid = "u-\(UUID().uuidString.prefix(8))"
        #expect(throws: PodEntry.Failure.noSuchContainer("php", pod: "web")) {
            try PodEntry(cluster: "entry", pod: Self.pod(uid), container: "php", stateRoot: root)
        }
        #expect(throws: PodEntry.Failure.notRunning(pod: "web", phase: "Pending")) {
            try PodEntry(cluster: "entry", pod: Self.pod(uid), container: nil, stateRoot: root)
        }
        // A record whose sandbox is alive (this process stands in for it): the entry is made, and a command
        // missing from the container's PATH fails as a shell's would, with 127, before anything starts.
        try FileManager.default.createDirectory(atPath: files.directory(uid), withIntermediateDirectories: true)
        var record = PodRecord(uid: uid, namespace: "dev", name: "web", netns: "kl-unit.pod", hostDevice: "klv0",
                               ip: IPv4Address("10.244.1.2")!, podCIDR: IPv4CIDR("10.244.1.0/24")!, startTime: "")
        record.sandbox = ProcessRef(pid: getpid())
        var container = ContainerRecord()
        container.environment = ["PATH": "/nonexistent", "POD_NAME": "web"]
        record.containers["nginx"] = container
        try files.save(record)
        let entry = try PodEntry(cluster: "entry", pod: Self.pod(uid), container: nil, stateRoot: root)
        #expect(entry.container == "nginx")
        #expect(entry.environment(term: "xterm") == ["PATH": "/nonexistent", "POD_NAME": "web", "TERM": "xterm"])
        #expect(throws: PodEntry.Failure.commandNotFound("nope")) { try entry.start(["nope"], term: nil, stdio: .init()) }
        #expect(PodEntry.Failure.commandNotFound("nope").exitCode == 127)
        #expect(PodEntry.Failure.commandNotFound("nope").description == "exec: \"nope\": executable file not found in $PATH")
    }
}
