import ArgumentParser
import Foundation
import KindlingAPI
import KindlingClient
import KindlingCluster
import Synchronization

/// Custom objects beside ConfigMaps (issue 17): 1,000 created, the list of them read, and the delay from a
/// create's acknowledgement to its watch event, for a CRD's kind and for ConfigMaps in the same run. The custom
/// kind's extra work is its schema: decoding to a JSON tree, defaults, pruning and validation on every write.
struct CustomResourceBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crd",
        abstract: "1,000 custom objects created, listed and watched, beside the same for ConfigMaps (ratios)."
    )

    @Option(help: "The kindling binary that creates the cluster.")
    var kindling = ".build/release/kindling"

    @Option(help: "Objects of each kind.")
    var objects = 1000

    @Option(help: "Creates sent at once.")
    var concurrency = 8

    static let cluster = "kb-crd"

    static let definition = """
        apiVersion: apiextensions.k8s.io/v1
        kind: CustomResourceDefinition
        metadata: {name: crontabs.stable.example.com}
        spec:
          group: stable.example.com
          scope: Namespaced
          names: {plural: crontabs, singular: crontab, kind: CronTab}
          versions:
          - name: v1
            served: true
            storage: true
            schema:
              openAPIV3Schema:
                type: object
                properties:
                  spec:
                    type: object
                    required: [cronSpec]
                    properties:
                      cronSpec: {type: string, pattern: '^(\\S+ ){4}\\S+$'}
                      image: {type: string, maxLength: 64}
                      replicas: {type: integer, minimum: 1, maximum: 10, default: 1}
        """

    /// The two kinds measured: where their objects are written and what one looks like.
    struct Subject: Sendable {
        let name: String
        let path: String
        let body: @Sendable (String) -> String
    }

    static let subjects = [
        Subject(name: "ConfigMap", path: "/api/v1/namespaces/default/configmaps") { name in
            #"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"\#(name)"},"data":{"cronSpec":"0 3 * * *","image":"busybox","replicas":"2"}}"#
        },
        Subject(name: "CronTab", path: "/apis/stable.example.com/v1/namespaces/default/crontabs") { name in
            #"{"apiVersion":"stable.example.com/v1","kind":"CronTab","metadata":{"name":"\#(name)"},"spec":{"cronSpec":"0 3 * * *","image":"busybox","replicas":2}}"#
        },
    ]

    func run() async throws {
        _ = try? runKindling(kindling, ["delete", "cluster", "--name", Self.cluster])
        let config = "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes:\n- role: control-plane\n"
        try runKindling(kindling, ["create", "cluster", "--name", Self.cluster, "--config", "-"], input: config)
        defer { _ = try? runKindling(kindling, ["delete", "cluster", "--name", Self.cluster]) }
        let client = APIClient(socketPath: ClusterProcesses(cluster: Self.cluster).socketPath)
        defer { Task { [client] in try? await client.shutdown() } }
        try runKindling(kindling, ["apply", "--name", Self.cluster, "-f", "-"], input: Self.definition)
        while try await client.send(.GET, Self.subjects[1].path).status != 200 { try await Task.sleep(for: .milliseconds(50)) }

        var figures: [String: (create: Double, list: Double, watchP50: Double, watchP99: Double)] = [:]
        for subject in Self.subjects {
            let created = try await create(subject, client)
            var lists: [Double] = []
            for _ in 0..<10 {
                let started = ContinuousClock.now
                let answer = try await client.send(.GET, subject.path)
                guard answer.status == 200 else { throw ValidationError("list of \(subject.name): \(answer.status)") }
                lists.append(milliseconds(since: started))
            }
            let delays = try await watchDelays(subject, client)
            figures[subject.name] = (created, percentile(lists, 0.5), percentile(delays, 0.5), percentile(delays, 0.99))
            print("\(subject.name): create \(objects) (\(concurrency) at once) \(format(created, 2)) s   list p50 \(format(percentile(lists, 0.5))) ms"
                  + "   create sent -> watch event p50 \(format(percentile(delays, 0.5), 2)) ms p99 \(format(percentile(delays, 0.99), 2)) ms")
        }
        if let custom = figures["CronTab"], let maps = figures["ConfigMap"] {
            print("custom / ConfigMap: create \(format(custom.create / maps.create, 2))x   list \(format(custom.list / maps.list, 2))x"
                  + "   watch p50 \(format(custom.watchP50 / maps.watchP50, 2))x")
        }
    }

    /// Seconds to create `objects` of the kind, `concurrency` requests in flight.
    func create(_ subject: Subject, _ client: APIClient) async throws -> Double {
        let started = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<concurrency {
                group.addTask { [objects, concurrency] in
                    for index in stride(from: worker, to: objects, by: concurrency) {
                        let answer = try await client.send(.POST, subject.path, body: Data(subject.body("bench-\(index)").utf8))
                        guard answer.status == 201 else { throw ValidationError("create \(subject.name): \(answer.status)") }
                    }
                }
            }
            try await group.waitForAll()
        }
        return milliseconds(since: started) / 1000
    }

    /// Milliseconds from sending each of 200 creates to its ADDED event arriving on a watch of the kind (what a
    /// controller watching the kind waits), the watch read on a task of its own.
    func watchDelays(_ subject: Subject, _ client: APIClient) async throws -> [Double] {
        let list = try await client.send(.GET, subject.path + "?limit=1")
        let revision = ((try JSONSerialization.jsonObject(with: list.body) as? [String: Any])?["metadata"] as? [String: Any])?["resourceVersion"] as? String ?? ""
        let arrivals = Mutex<[String: ContinuousClock.Instant]>([:])
        let count = 200
        let reader = Task {
            for try await line in client.watchLines(subject.path + "?watch=1&resourceVersion=\(revision)") {
                let now = ContinuousClock.now
                guard let event = try JSONSerialization.jsonObject(with: line) as? [String: Any],
                      let name = ((event["object"] as? [String: Any])?["metadata"] as? [String: Any])?["name"] as? String else { continue }
                if arrivals.withLock({ $0[name] = now; return $0.count }) == count { return }
            }
        }
        var sent: [String: ContinuousClock.Instant] = [:]
        for index in 0..<count {
            let name = "watched-\(index)"
            sent[name] = ContinuousClock.now
            let answer = try await client.send(.POST, subject.path, body: Data(subject.body(name).utf8))
            guard answer.status == 201 else { throw ValidationError("create \(subject.name): \(answer.status)") }
        }
        try await reader.value
        let arrived = arrivals.withLock { $0 }
        return sent.compactMap { name, start in
            arrived[name].map { moment in
                let delay = moment - start
                return Double(delay.components.seconds) * 1000 + Double(delay.components.attoseconds) / 1e15
            }
        }
    }
}
