import ArgumentParser
import Foundation
import KindlingAddresses
import KindlingAPI
import KindlingClient
import KindlingNet
import KindlingNftables
import KindlingProxy

/// Endpoint convergence on a real cluster: a backend pod is deleted, and the time until the node's table no
/// longer sends new connections to it (its DNAT rule gone from the service's chain) is measured, many times.
/// Kubernetes' e2e tests tolerate 30 s; kube-proxy's default minimum sync period alone is 1 s.
struct ConvergenceBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convergence",
        abstract: "Pod deleted -> its endpoint gone from every node's rules: p50/p99 over many trials."
    )

    @Option(help: "The kindling binary that creates the cluster.")
    var kindling = ".build/release/kindling"

    @Option(help: "Trials.")
    var trials = 50

    static let cluster = "kb-converge"
    static let manifests = """
        apiVersion: v1
        kind: Namespace
        metadata: {name: bench}
        ---
        apiVersion: apps/v1
        kind: ReplicaSet
        metadata: {name: echo, namespace: bench}
        spec:
          replicas: 3
          selector: {matchLabels: {app: echo}}
          template:
            metadata: {labels: {app: echo}}
            spec:
              containers:
              - {name: agnhost, image: registry.k8s.io/e2e-test-images/agnhost:2.39, args: [netexec, --http-port=8080]}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: echo, namespace: bench}
        spec:
          selector: {app: echo}
          ports: [{port: 80, targetPort: 8080}]
        """

    func run() async throws {
        let cluster = try BenchCluster(kindling: kindling, name: Self.cluster, manifests: Self.manifests)
        defer { cluster.delete() }
        let client = cluster.client
        let nodes = ["control-plane", "worker"].map { NetNamespace(ClusterNames(cluster: Self.cluster).netnsPrefix + $0) }
        let thread = NamespaceThread(name: "bench-watch")
        let contexts = NftContexts()

        /// The endpoint IPs in each node's endpoint map for the service's cluster IP.
        let vip = try await client.get(Service.self, namespace: "bench", name: "echo").spec.clusterIP ?? ""
        func programmed() throws -> [Set<String>] {
            try nodes.map { node in
                let listing = try thread.run(in: node) { try contexts.context(node).run("list map ip kindling service-endpoints") }
                // Elements read `<vip> . tcp . 80 . <slot> : <endpoint> . 8080`.
                return Set(listing.components(separatedBy: "\(vip) . tcp . 80 . ").dropFirst().compactMap { element -> String? in
                    let words = element.split(separator: " ")
                    return words.count >= 3 && words[1] == ":" ? String(words[2]) : nil
                })
            }
        }

        var results: [Double] = []
        for trial in 0..<trials {
            // Wait for three ready pods, all in every node's rules.
            var pods: [Pod] = []
            let deadline = Date().addingTimeInterval(30)
            while Date() < deadline {
                pods = try await client.list(Pod.self, namespace: "bench").items.filter { $0.isReady && $0.metadata.deletionTimestamp == nil }
                let ips = Set(pods.compactMap { $0.status?.podIP })
                if pods.count == 3, let rules = try? programmed(), rules.allSatisfy({ $0 == ips }) { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            guard pods.count == 3, let victim = pods.sorted(by: { $0.name < $1.name }).first, let ip = victim.status?.podIP else {
                throw ValidationError("trial \(trial): the service did not settle at three endpoints")
            }
            let start = ContinuousClock.now
            _ = try await client.delete(Pod.self, namespace: "bench", name: victim.name)
            while try programmed().contains(where: { $0.contains(ip) }) {
                guard milliseconds(since: start) < 30_000 else { throw ValidationError("trial \(trial): \(ip) still programmed after 30 s") }
                usleep(1000)
            }
            results.append(milliseconds(since: start))
        }
        print("endpoint convergence over \(results.count) trials (pod delete -> endpoint gone from every node's table)")
        print("p50 \(format(percentile(results, 0.5))) ms   p99 \(format(percentile(results, 0.99))) ms   max \(format(results.max() ?? .nan)) ms")
        print("baselines: kube-proxy's minimum sync period 1000 ms; Kubernetes e2e tolerance 30000 ms")
    }
}

/// One libnftables context per namespace, each made inside its namespace (see `NftContext`).
final class NftContexts: @unchecked Sendable {
    private var contexts: [String: NftContext] = [:]
    func context(_ namespace: NetNamespace) throws -> NftContext {
        if let context = contexts[namespace.name] { return context }
        let context = try NftContext()
        contexts[namespace.name] = context
        return context
    }
}
