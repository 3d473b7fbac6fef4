import Foundation
@testable import KindlingAgent
import KindlingAddresses
import KindlingAPI
import KindlingClient
import KindlingProcess
import KindlingServer
import KindlingStore
import Logging
import Testing

/// The pod runtime carrying out kubelet's decisions against a model of the machine (`FakePodMachine`) and a
/// real API server in the test's own process: sandboxes, starts, restarts and backoff, image and command
/// failures, graceful stops, re-adoption, and the statuses and events the API gets. No root, no namespaces.
final class PodRuntimeHarness: @unchecked Sendable {
    let directory: String
    let registry: Registry
    let server: Task<Void, Error>
    let client: APIClient
    let machine: FakePodMachine
    let files: PodFiles
    var runtime: PodRuntime

    init(behavior: @escaping @Sendable ([String]) -> FakePodMachine.Behavior = { _ in .runs }) async throws {
        directory = NSTemporaryDirectory() + "kl-podruntime-" + UUID().uuidString.prefix(8).lowercased()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        registry = Registry(store: try Store(path: nil))
        _ = try registry.create(Namespace(name: "default"))
        let socket = directory + "/api.sock"
        let (ready, signal) = AsyncStream<Void>.makeStream()
        server = Task { [registry] in try await HTTPServer(handler: APIHandler(registry: registry), socketPath: socket).run { signal.yield() } }
        for await _ in ready { break }
        client = APIClient(socketPath: socket)
        files = PodFiles(cluster: "kt", stateRoot: directory)
        machine = FakePodMachine(behavior: behavior)
        runtime = PodRuntimeHarness.runtime(client: client, machine: machine, files: files)
        await runtime.adopt(podCIDR: IPv4CIDR("10.244.1.0/24")!)
    }

    static func runtime(client: APIClient, machine: FakePodMachine, files: PodFiles) -> PodRuntime {
        PodRuntime(cluster: "kt", nodeName: "worker", nodeIP: IPv4Address("172.18.0.3")!, client: client, logger: Logger(label: "test.pods"),
                   programs: ImageCatalog.Programs(agnhost: ["/usr/bin/agnhost"], clusterDNS: ["/usr/bin/dns"], ingressController: ["/usr/bin/ic"]),
                   clusterDNS: IPv4Address("10.96.0.10")!, services: SharedInformer(Informer<Service>(client: client)), machine: machine, files: files)
    }

    deinit {
        server.cancel()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A pod bound to this node.
    @discardableResult
    func create(_ name: String, image: String = "busybox", command: [String]? = ["sleep", "3600"], restartPolicy: String? = nil,
                grace: Int64? = nil) throws -> Pod {
        var pod = Pod(metadata: ObjectMeta(name: name, namespace: "default"),
                      spec: PodSpec(containers: [Container(name: "main", image: image)]))
        pod.spec.containers[0].command = command
        pod.spec.restartPolicy = restartPolicy
        pod.spec.nodeName = "worker"
        pod.spec.terminationGracePeriodSeconds = grace
        return try registry.create(pod)
    }

    /// One pass of the runtime over the node's pods as the API has them now.
    func pass() async throws {
        let pods = try registry.list(Pod.self).items.filter { $0.spec.nodeName == "worker" }
        await runtime.update(Dictionary(uniqueKeysWithValues: pods.map { ("\($0.namespace)/\($0.name)", $0) }), services: [:])
        await runtime.tick()
    }

    func pod(_ name: String) throws -> Pod { try registry.get(Pod.self, namespace: "default", name: name) }

    func status(_ name: String) throws -> ContainerStatus? { try pod(name).status?.containerStatuses?.first }

    /// The reasons of the events about `name` so far (they are sent after each pass, so waited for a little).
    func eventReasons(_ name: String, until expected: String) async throws -> [String] {
        for _ in 0..<100 {
            let reasons = try registry.list(Event.self, namespace: "default").items.filter { $0.involvedObject.name == name }.compactMap(\.reason)
            if reasons.contains(expected) { return reasons }
            try await Task.sleep(for: .milliseconds(20))
        }
        return try registry.list(Event.self, namespace: "default").items.filter { $0.involvedObject.name == name }.compactMap(\.reason)
    }
}

@Suite struct PodRuntimeTests {
    @Test func aBoundPodGetsASandboxItsContainerAndARunningStatus() async throws {
        let node = try await PodRuntimeHarness()
        try node.create("web")
        try await node.pass()
        #expect(node.machine.sandboxNames == ["kl-kt.pod.default.web"])
        let started = try #require(node.machine.containers.first?.process)
        #expect(started.argv == ["/usr/bin/sleep", "3600"])
        #expect(started.environment["HOSTNAME"] == "web")
        let pod = try node.pod("web")
        #expect(pod.status?.phase == "Running")
        #expect(pod.status?.podIP?.hasPrefix("10.244.1.") == true && pod.status?.hostIP == "172.18.0.3")
        #expect(try node.status("web")?.state?.running != nil)
        let reasons = try await node.eventReasons("web", until: "Started")
        #expect(reasons.contains("Pulled") && reasons.contains("Created") && reasons.contains("Started"))
        try await node.pass()
        #expect(node.machine.containers.count == 1, "a running container is left alone")
    }

    /// kubelet's restarts: the first at once, the next after 10 s of backoff, shown as CrashLoopBackOff.
    @Test func aFailingContainerRestartsThenBacksOff() async throws {
        let node = try await PodRuntimeHarness { $0 == ["/bin/false"] ? .exits(1) : .runs }
        try node.create("crash", command: ["false"])
        try await node.pass()
        try await node.pass()
        // The exit is seen by the machine's watch; on a loaded machine it may take another pass or two.
        for _ in 0..<50 where try node.status("crash")?.restartCount != 1 {
            try await Task.sleep(for: .milliseconds(20))
            try await node.pass()
        }
        #expect(node.machine.containers.count == 2)
        #expect(try node.status("crash")?.restartCount == 1)
        try await node.pass()
        #expect(node.machine.containers.count == 2, "no start during the backoff")
        let status = try #require(try node.status("crash"))
        #expect(status.state?.waiting?.reason == "CrashLoopBackOff")
        #expect(status.lastState?.terminated?.exitCode == 1)
        #expect(try await node.eventReasons("crash", until: "BackOff").contains("BackOff"))
    }

    @Test(arguments: [(Int32(0), "Succeeded"), (Int32(3), "Failed")])
    func neverRestartedContainersEndThePod(code: Int32, phase: String) async throws {
        let node = try await PodRuntimeHarness { _ in .exits(code) }
        try node.create("job", command: ["true"], restartPolicy: "Never")
        try await node.pass()
        try await node.pass()
        try await node.pass()
        #expect(node.machine.containers.count == 1)
        #expect(try node.pod("job").status?.phase == phase)
        #expect(try node.status("job")?.state?.terminated?.exitCode == code)
    }

    @Test func anImageOutsideTheCatalogWaitsInErrImagePull() async throws {
        let node = try await PodRuntimeHarness()
        try node.create("odd", image: "example.com/unknown:1")
        try await node.pass()
        #expect(node.machine.containers.isEmpty && node.machine.sandboxNames.count == 1)
        #expect(try node.status("odd")?.state?.waiting?.reason == "ErrImagePull")
        #expect(try await node.eventReasons("odd", until: "Failed").contains("Failed"))
    }

    @Test func aMissingCommandIsARunContainerError() async throws {
        let node = try await PodRuntimeHarness()
        try node.create("typo", command: ["slep", "1"])
        try await node.pass()
        #expect(node.machine.containers.isEmpty)
        let status = try #require(try node.status("typo"))
        #expect(status.state?.waiting?.reason == "RunContainerError")
        #expect(status.state?.waiting?.message == "exec: \"slep\": executable file not found in $PATH")
    }

    /// Deletion: SIGTERM first; what outlives it is killed at the deadline with the sandbox, then the pod goes.
    @Test func deletionStopsGracefullyThenRemovesEverything() async throws {
        let node = try await PodRuntimeHarness { _ in .ignoresTerm }
        try node.create("slow", grace: 1)
        try await node.pass()
        let uid = try #require(try node.pod("slow").metadata.uid)
        _ = try node.registry.delete(Pod.self, namespace: "default", name: "slow")
        try await node.pass()
        let container = try #require(node.machine.containers.first)
        #expect(container.process.signals == [SIGTERM])
        #expect(container.process.exit == nil && node.machine.sandboxNames.count == 1, "it is given its grace period")
        #expect(try await node.eventReasons("slow", until: "Killing").contains("Killing"))
        try await Task.sleep(for: .milliseconds(1100))
        try await node.pass()
        #expect(node.machine.sandboxNames.isEmpty)
        #expect(node.machine.containers.first?.process.exit == 128 + SIGKILL)
        #expect(throws: Status.self) { try node.pod("slow") }
        #expect(!FileManager.default.fileExists(atPath: node.files.directory(uid)))
    }

    @Test func aRefusedSandboxLeavesNothingAndIsTriedAgain() async throws {
        let node = try await PodRuntimeHarness()
        node.machine.failNextSandbox(AgentError("link refused"))
        try node.create("retry")
        try await node.pass()
        #expect(node.machine.sandboxNames.isEmpty && node.machine.containers.isEmpty)
        try await node.pass()
        #expect(node.machine.sandboxNames == ["kl-kt.pod.default.retry"] && node.machine.containers.count == 1)
    }

    /// A restarted agent finds its pods on disk and keeps their processes: nothing starts again.
    @Test func aRestartedAgentReadoptsRunningPods() async throws {
        let node = try await PodRuntimeHarness()
        try node.create("kept")
        try await node.pass()
        let before = node.machine.containers.map(\.pid)
        node.runtime = PodRuntimeHarness.runtime(client: node.client, machine: node.machine, files: node.files)
        await node.runtime.adopt(podCIDR: IPv4CIDR("10.244.1.0/24")!)
        try await node.pass()
        #expect(node.machine.containers.map(\.pid) == before)
        #expect(try node.status("kept")?.state?.running != nil)
    }
}
