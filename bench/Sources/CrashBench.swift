import ArgumentParser
import Foundation
import KindlingAddresses
import KindlingAPI
import KindlingClient
import KindlingCluster

/// The server SIGKILLed again and again while a client writes as fast as it can: every write the server
/// acknowledged must be in the store afterwards (SQLite in WAL mode, synchronous commits). Prints the writes
/// acknowledged and lost, and the time from each kill to the next acknowledged write (mostly the supervisor's
/// restart backoff) beside the time to start a bare process.
struct CrashBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crash",
        abstract: "Server SIGKILLed during writes, many times: acknowledged writes lost (goal 0) and restart time."
    )

    @Option(help: "The kindling binary that creates the cluster.")
    var kindling = ".build/release/kindling"

    @Option(help: "How many times the server is killed.")
    var kills = 20

    @Option(help: "Seconds of writing between a restart and the next kill (the supervisor's backoff starts over after 10 s).")
    var between = 10.5

    static let cluster = "kb-crash"

    func run() async throws {
        let config = "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes:\n- role: control-plane\n"
        _ = try? runKindling(kindling, ["delete", "cluster", "--name", Self.cluster])
        defer { _ = try? runKindling(kindling, ["delete", "cluster", "--name", Self.cluster]) }
        try runKindling(kindling, ["create", "cluster", "--name", Self.cluster, "--config", "-"], input: config)
        let client = APIClient(socketPath: ClusterNames(cluster: Self.cluster).runDirectory() + "/api.sock")
        defer { Task { [client] in try? await client.shutdown() } }

        var acknowledged: [String] = [], failed = 0, restarts: [Double] = []
        var next = 0
        /// One write; true when the server acknowledged it.
        func write() async -> Bool {
            let name = "w-\(next)"
            next += 1
            do {
                _ = try await client.create(ConfigMap(namespace: "default", name: name, data: ["n": name]), namespace: "default")
                acknowledged.append(name)
                return true
            } catch {
                failed += 1
                return false
            }
        }
        for round in 1...kills {
            let until = Date().addingTimeInterval(between + Double.random(in: 0...0.5))
            while Date() < until { if !(await write()) { try await Task.sleep(for: .milliseconds(10)) } }
            guard let server = ClusterProcesses(cluster: Self.cluster).pids(verb: "server").first else {
                throw ValidationError("round \(round): no server process")
            }
            kill(server, SIGKILL)
            let killed = ContinuousClock.now
            while !(await write()) { try await Task.sleep(for: .milliseconds(10)) }
            restarts.append(milliseconds(since: killed))
        }
        // Every acknowledged write is there.
        let stored = Set(try await client.list(ConfigMap.self, namespace: "default").items.map(\.name))
        let lost = acknowledged.filter { !stored.contains($0) }

        var spawns: [Double] = []
        for _ in 0..<20 {
            let started = ContinuousClock.now
            _ = try shell(in: nil, ["true"])
            spawns.append(milliseconds(since: started))
        }
        print("server SIGKILLed \(kills) times during writes: \(acknowledged.count) writes acknowledged, \(lost.count) lost, \(failed) refused while down")
        print("kill -> next acknowledged write: p50 \(format(percentile(restarts, 0.5))) ms   max \(format(restarts.max() ?? .nan)) ms (includes the supervisor's 1 s first backoff)")
        print("baseline: starting a bare process (true): p50 \(format(percentile(spawns, 0.5))) ms")
        if !lost.isEmpty { throw ValidationError("lost acknowledged writes: \(lost.prefix(20))") }
    }
}
