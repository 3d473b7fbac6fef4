import Foundation
@testable import KindlingAgent
import KindlingAPI
import KindlingProcess
import Testing

/// kubelet's pod lifecycle carried out by the pod runtime against the model machine: init containers in order,
/// a failed one failing the pod, sidecars stopped when the pod's containers are done, and a container restarted
/// when its liveness probe gives up on it.
@Suite struct PodLifecycleRuntimeTests {
    /// A pod bound to the harness's node, from its spec's JSON.
    static func create(_ node: PodRuntimeHarness, _ name: String, spec: String) throws {
        var pod = Pod(metadata: ObjectMeta(name: name, namespace: "default"),
                      spec: try KubeJSON.decoder.decode(PodSpec.self, from: Data(spec.utf8)))
        pod.spec.nodeName = "worker"
        _ = try node.registry.create(pod)
    }

    /// Passes until `done` holds (an exit is seen by the model's watch, which may take a pass or two).
    static func passes(_ node: PodRuntimeHarness, until done: () throws -> Bool) async throws {
        for _ in 0..<50 {
            try await node.pass()
            if try done() { return }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    @Test func initContainersRunOneAfterAnotherBeforeThePodsContainers() async throws {
        let node = try await PodRuntimeHarness { $0.last == "ok" ? .exits(0) : .runs }
        try Self.create(node, "web", spec: """
            {"initContainers": [{"name": "first", "image": "busybox", "command": ["sh", "-c", "ok"]},
                                {"name": "second", "image": "busybox", "command": ["sh", "-c", "ok"]}],
             "containers": [{"name": "main", "image": "busybox", "command": ["sleep", "3600"]}]}
            """)
        try await node.pass()
        #expect(node.machine.containers.count == 1, "the first init container alone")
        var pod = try node.pod("web")
        #expect(pod.status?.phase == "Pending")
        #expect(pod.status?.conditions?["Initialized"]?.message == "containers with incomplete status: [first second]")
        #expect(pod.status?.containerStatuses?.first?.state?.waiting?.reason == "PodInitializing")
        try await Self.passes(node) { try node.pod("web").status?.phase == "Running" }
        pod = try node.pod("web")
        #expect(node.machine.containers.map(\.process.argv.last) == ["ok", "ok", "3600"])
        #expect(pod.status?.initContainerStatuses?.map { $0.state?.terminated?.reason } == ["Completed", "Completed"])
        #expect(pod.status?.conditions?["Initialized"]?.status == "True")
        #expect(pod.status?.containerStatuses?.first?.state?.running != nil)
    }

    @Test func aFailedInitContainerFailsANeverRestartedPod() async throws {
        let node = try await PodRuntimeHarness { $0.last == "fail" ? .exits(2) : .runs }
        try Self.create(node, "once", spec: """
            {"restartPolicy": "Never", "initContainers": [{"name": "setup", "image": "busybox", "command": ["sh", "-c", "fail"]}],
             "containers": [{"name": "main", "image": "busybox", "command": ["sleep", "3600"]}]}
            """)
        try await Self.passes(node) { try node.pod("once").status?.phase == "Failed" }
        let pod = try node.pod("once")
        #expect(pod.status?.phase == "Failed")
        #expect(pod.status?.initContainerStatuses?.first?.state?.terminated?.exitCode == 2)
        #expect(node.machine.containers.count == 1, "the pod's container never ran")
    }

    @Test func sidecarsRunBesideThePodsContainersAndStopWhenTheyAreDone() async throws {
        let node = try await PodRuntimeHarness { $0.last == "work" ? .exits(0) : .runs }
        try Self.create(node, "job", spec: """
            {"restartPolicy": "Never",
             "initContainers": [{"name": "proxy", "image": "busybox", "restartPolicy": "Always", "command": ["sleep", "3600"]}],
             "containers": [{"name": "main", "image": "busybox", "command": ["sh", "-c", "work"]}]}
            """)
        try await Self.passes(node) { try node.pod("job").status?.phase == "Succeeded" }
        let pod = try node.pod("job")
        #expect(pod.status?.phase == "Succeeded")
        let sidecar = try #require(node.machine.containers.first)
        #expect(sidecar.process.argv.last == "3600" && sidecar.process.signals.contains(SIGTERM), "the sidecar is stopped, not restarted")
        #expect(node.machine.containers.count == 2)
    }

    @Test func aFailingLivenessProbeRestartsTheContainer() async throws {
        let node = try await PodRuntimeHarness()
        try Self.create(node, "live", spec: """
            {"containers": [{"name": "main", "image": "busybox", "command": ["sleep", "3600"],
                             "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080}, "initialDelaySeconds": 3600, "failureThreshold": 2}}]}
            """)
        try await node.pass()
        let pod = try node.pod("live")
        let uid = try #require(pod.metadata.uid)
        let container = pod.spec.containers[0]
        let first = try #require(node.machine.containers.first)
        let process = ProcessRef(pid: first.pid, startTicks: UInt64(first.pid))
        for _ in 0..<2 {
            await node.runtime.probed(uid: uid, container: container, kind: .liveness, process: process,
                                      result: .failure("HTTP probe failed with statuscode: 500"))
        }
        try await Self.passes(node) { try node.status("live")?.restartCount == 1 }
        #expect(try node.status("live")?.restartCount == 1)
        #expect(node.machine.containers.first?.process.signals == [SIGTERM, SIGKILL], "SIGTERM, then what is left goes with its group")
        let reasons = try await node.eventReasons("live", until: "Killing")
        #expect(reasons.contains("Unhealthy") && reasons.contains("Killing"))
    }

    /// As kubelet: a finished pod's sandbox goes once the API shows it finished, and its address serves the next
    /// pod; the pod, its final status and its record stay until it is deleted.
    @Test func aFinishedPodGivesItsSandboxAndAddressBack() async throws {
        let node = try await PodRuntimeHarness { $0.last == "done" ? .exits(0) : .runs }
        try Self.create(node, "once", spec: #"{"restartPolicy": "Never", "containers": [{"name": "main", "image": "busybox", "command": ["sh", "-c", "done"]}]}"#)
        try await Self.passes(node) { try node.pod("once").status?.phase == "Succeeded" }
        let address = try #require(try node.pod("once").status?.podIP)
        try await Self.passes(node) { node.machine.sandboxNames.isEmpty }
        #expect(node.machine.sandboxNames.isEmpty, "the finished pod's sandbox is gone")
        #expect(try node.pod("once").status?.phase == "Succeeded" && node.files.loadAll().first?.released == true)
        try Self.create(node, "next", spec: #"{"containers": [{"name": "main", "image": "busybox", "command": ["sleep", "3600"]}]}"#)
        try await Self.passes(node) { try node.pod("next").status?.phase == "Running" }
        #expect(try node.pod("next").status?.podIP == address, "the address is free again")
        _ = try node.registry.delete(Pod.self, namespace: "default", name: "once")
        try await Self.passes(node) { (try? node.pod("once")) == nil }
        #expect((try? node.pod("once")) == nil, "a released pod is removed without a sandbox to tear down")
    }
}
