import ArgumentParser
import Foundation
import KindlingAPI
import KindlingClient
import KindlingCluster

/// Issue 18's workloads, beside the Deployment figure measured in the same run: on a 3-node cluster, N `busybox`
/// pods of a Deployment to Ready (the baseline: kindling's pod start rate), N of a StatefulSet with Parallel
/// management to Ready, and a Job of M completions at parallelism P to Complete.
struct WorkloadBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "workloads",
        abstract: "Pods started per second by a StatefulSet (Parallel) and a Job (M completions, parallelism P), beside a Deployment's."
    )

    @Option(help: "The kindling binary that creates the cluster.")
    var kindling = ".build/release/kindling"

    @Option(help: "Replicas of the Deployment and of the StatefulSet.")
    var replicas = 100

    @Option(help: "Completions of the Job.")
    var completions = 1000

    @Option(help: "Parallelism of the Job.")
    var parallelism = 50

    static let cluster = "kb-workloads"

    func run() async throws {
        _ = try? runKindling(kindling, ["delete", "cluster", "--name", Self.cluster])
        let config = "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes:\n- role: control-plane\n- role: worker\n- role: worker\n"
        try runKindling(kindling, ["create", "cluster", "--name", Self.cluster, "--config", "-"], input: config)
        defer { _ = try? runKindling(kindling, ["delete", "cluster", "--name", Self.cluster]) }
        let client = APIClient(socketPath: ClusterProcesses(cluster: Self.cluster).socketPath)
        defer { Task { [client] in try? await client.shutdown() } }

        let deployment = try await timed(Self.manifest(kind: "Deployment", name: "deploy", replicas: replicas)) {
            (try? await client.get(Deployment.self, namespace: "default", name: "deploy"))?.status?.readyReplicas ?? 0 >= replicas
        }
        try runKindling(kindling, ["delete", "--name", Self.cluster, "deployment", "deploy"])
        try await waitGone(client)
        let statefulSet = try await timed(Self.manifest(kind: "StatefulSet", name: "sts", replicas: replicas)) {
            (try? await client.get(StatefulSet.self, namespace: "default", name: "sts"))?.status?.readyReplicas ?? 0 >= replicas
        }
        try runKindling(kindling, ["delete", "--name", Self.cluster, "statefulset", "sts"])
        try await waitGone(client)
        let job = try await timed(Self.job(completions: completions, parallelism: parallelism)) {
            (try? await client.get(Job.self, namespace: "default", name: "batch"))?.status?.succeeded ?? 0 >= completions
        }
        print("3 nodes; busybox pods running `sleep` (the Job's run `true`); release build")
        print("| what | time | pods/s |")
        print("|---|---|---|")
        print("| Deployment, \(replicas) replicas, apply -> all Ready (baseline) | \(format(deployment, 2)) s | \(format(Double(replicas) / deployment, 0)) |")
        print("| StatefulSet, \(replicas) replicas, Parallel, apply -> all Ready | \(format(statefulSet, 2)) s | \(format(Double(replicas) / statefulSet, 0)) |")
        print("| Job, \(completions) completions, parallelism \(parallelism), apply -> Complete | \(format(job, 2)) s | \(format(Double(completions) / job, 0)) |")
    }

    /// Seconds from applying `manifest` until `done`.
    func timed(_ manifest: String, until done: () async -> Bool) async throws -> Double {
        let started = ContinuousClock.now
        try runKindling(kindling, ["apply", "--name", Self.cluster, "-f", "-"], input: manifest)
        while await !done() {
            guard ContinuousClock.now - started < .seconds(900) else { throw ValidationError("not done after 900 s:\n\(manifest)") }
            try await Task.sleep(for: .milliseconds(50))
        }
        return milliseconds(since: started) / 1000
    }

    func waitGone(_ client: APIClient) async throws {
        let started = ContinuousClock.now
        while (try? await client.list(Pod.self, namespace: "default").items.count) ?? 1 > 0, ContinuousClock.now - started < .seconds(300) {
            try await Task.sleep(for: .milliseconds(250))
        }
    }

    static func manifest(kind: String, name: String, replicas: Int) -> String {
        """
        apiVersion: apps/v1
        kind: \(kind)
        metadata: {name: \(name), namespace: default}
        spec:
          replicas: \(replicas)
          \(kind == "StatefulSet" ? "serviceName: \(name)\n  podManagementPolicy: Parallel" : "")
          selector: {matchLabels: {app: \(name)}}
          template:
            metadata: {labels: {app: \(name)}}
            spec:
              terminationGracePeriodSeconds: 1
              containers:
              - {name: sleep, image: busybox, command: [sleep, "3600"]}
        """
    }

    static func job(completions: Int, parallelism: Int) -> String {
        """
        apiVersion: batch/v1
        kind: Job
        metadata: {name: batch, namespace: default}
        spec:
          completions: \(completions)
          parallelism: \(parallelism)
          backoffLimit: 100
          template:
            spec:
              restartPolicy: Never
              containers:
              - {name: work, image: busybox, command: ["true"]}
        """
    }
}
