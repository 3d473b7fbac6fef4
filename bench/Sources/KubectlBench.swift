import ArgumentParser
import Foundation
import KindlingAddresses
import KindlingAPI
import KindlingClient
import KindlingCluster
import Synchronization

/// What real kubectl costs against a kindling cluster, beside the same operations through kindling's own CLI
/// (the server's JSON path without Tables, discovery or TLS): `get pods -A` with 1,000 pods, `apply` of 1,000
/// objects, and the delivery of one change to 50 concurrent watchers.
struct KubectlBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kubectl",
        abstract: "kubectl get -A with 1,000 pods and apply of 1,000 objects beside kindling's CLI; watch fan-out to 50 watchers."
    )

    @Option(help: "The kindling binary that creates the cluster.")
    var kindling = ".build/release/kindling"

    @Option(help: "kubectl (scripts/install-deps.sh puts 1.37 into .venv).")
    var kubectl = ".venv/bin/kubectl"

    @Option(help: "Pods and applied objects.")
    var objects = 1000

    static let cluster = "kb-kubectl"

    func run() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kb-kubectl-\(getpid())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let kubeconfig = directory + "/config"
        _ = try? runKindling(kindling, ["delete", "cluster", "--name", Self.cluster])
        defer { _ = try? runKindling(kindling, ["delete", "cluster", "--name", Self.cluster, "--kubeconfig", kubeconfig]) }
        let config = "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes:\n- role: control-plane\n"
        try runKindling(kindling, ["create", "cluster", "--name", Self.cluster, "--config", "-", "--kubeconfig", kubeconfig], input: config)
        func kubectl(_ arguments: [String], input: String? = nil) throws -> String {
            try runKindling(self.kubectl, ["--kubeconfig", kubeconfig, "--cache-dir", directory + "/cache"] + arguments, input: input)
        }
        func timed(_ runs: Int, _ body: () throws -> Void) rethrows -> [Double] {
            try (0..<runs).map { _ in
                let started = ContinuousClock.now
                try body()
                return milliseconds(since: started)
            }
        }

        // 1,000 pods nothing can schedule (a node selector no node has): objects to list, no processes to run.
        let pods = (0..<objects).map { index in
            "apiVersion: v1\nkind: Pod\nmetadata: {name: pod-\(index), namespace: default, labels: {app: bench}}\nspec:\n  nodeSelector: {bench: none}\n  containers: [{name: c, image: nginx}]\n"
        }.joined(separator: "---\n")
        try runKindling(kindling, ["apply", "--name", Self.cluster, "-f", "-"], input: pods)
        _ = try kubectl(["get", "pods", "-A"])  // discovery cached, as a user's second call has it
        let viaKubectl = try timed(10) { _ = try kubectl(["get", "pods", "-A"]) }
        let viaCLI = try timed(10) { _ = try runKindling(kindling, ["get", "pods", "-A", "--name", Self.cluster]) }
        print("get pods -A, \(objects) pods: kubectl p50 \(format(percentile(viaKubectl, 0.5))) ms   kindling get p50 \(format(percentile(viaCLI, 0.5))) ms")

        // apply of 1,000 new ConfigMaps, each tool its own.
        func maps(_ prefix: String) -> String {
            (0..<objects).map { "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: \(prefix)-\($0), namespace: default}\ndata: {n: \"\($0)\"}\n" }
                .joined(separator: "---\n")
        }
        let applyKubectl = try timed(1) { _ = try kubectl(["apply", "-f", "-"], input: maps("k")) }[0]
        let applyCLI = try timed(1) { _ = try runKindling(kindling, ["apply", "--name", Self.cluster, "-f", "-"], input: maps("c")) }[0]
        print("apply, \(objects) ConfigMaps: kubectl \(format(applyKubectl / 1000, 2)) s   kindling apply \(format(applyCLI / 1000, 2)) s")

        // Watch fan-out: 50 watchers of ConfigMaps; each change timed from its acknowledgement to each delivery.
        let client = APIClient(socketPath: ClusterNames(cluster: Self.cluster).runDirectory() + "/api.sock")
        defer { Task { [client] in try? await client.shutdown() } }
        var target = try await client.create(ConfigMap(namespace: "default", name: "fanout", data: ["v": "0"]), namespace: "default")
        let version = target.metadata.resourceVersion
        let shared = FanOut()
        let changes = 20, watchers = 50
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<watchers {
                group.addTask {
                    var seen = 0
                    shared.ready.withLock { $0 += 1 }
                    for try await event in client.watch(ConfigMap.self, namespace: "default", resourceVersion: version,
                                                        fieldSelector: "metadata.name=fanout") {
                        let arrived = ContinuousClock.now
                        guard let value = event.object.data?["v"], value != "0" else { continue }
                        // A watcher may see the event before the writer has noted its acknowledgement: wait for it.
                        var sent: ContinuousClock.Instant?
                        while sent == nil {
                            sent = shared.acknowledged.withLock { $0[value] }
                            if sent == nil { try await Task.sleep(for: .milliseconds(1)) }
                        }
                        let delay = arrived - sent!
                        shared.delays.withLock { $0.append(max(0, Double(delay.components.attoseconds) / 1e15 + Double(delay.components.seconds) * 1000)) }
                        seen += 1
                        if seen == changes { return }
                    }
                }
            }
            while shared.ready.withLock({ $0 }) < watchers { try await Task.sleep(for: .milliseconds(10)) }
            try await Task.sleep(for: .milliseconds(500))
            for change in 1...changes {
                target.data = ["v": "\(change)"]
                let before = ContinuousClock.now
                target = try await client.update(target)
                shared.acknowledged.withLock { $0["\(change)"] = before }
                try await Task.sleep(for: .milliseconds(50))
            }
            try await group.waitForAll()
        }
        let all = shared.delays.withLock { $0 }
        print("watch fan-out, \(watchers) watchers x \(changes) changes: delivery p50 \(format(percentile(all, 0.5))) ms   p99 \(format(percentile(all, 0.99))) ms (goal p99 <= 50 ms)")
    }
}

/// What the fan-out's watchers and writer share.
final class FanOut: Sendable {
    /// When each change (by its value) was sent.
    let acknowledged = Mutex<[String: ContinuousClock.Instant]>([:])
    let delays = Mutex<[Double]>([])
    let ready = Mutex(0)
}
