import ArgumentParser
import Foundation
import KindlingAPI
import KindlingClient
import KindlingCluster

/// Kubernetes' per-node limit (issue 15): a 10-node cluster filled to 110 pods a node (kubelet's default
/// maxPods) by one Deployment of `busybox` pods running `sleep`, from apply until all are Ready, then idle, then
/// deleted; beside the kernel floor, the same number of pod namespaces wired with `ip -batch` in the same run.
struct ScaleBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scale",
        abstract: "N nodes x 110 pods of one Deployment: time to Ready, the API's p99, CPU and memory, beside the kernel floor."
    )

    @Option(help: "The kindling binary that creates the cluster.")
    var kindling = ".build/release/kindling"

    @Option(help: "Nodes (one control plane, the rest workers).")
    var nodes = 10

    @Option(help: "Pods a node holds (kubelet's default maxPods).")
    var podsPerNode = 110

    @Option(help: "Seconds the full cluster is left idle before the Deployment is deleted.")
    var idleSeconds = 30

    static let cluster = "kb-scale"

    func run() async throws {
        _ = try? runKindling(kindling, ["delete", "cluster", "--name", Self.cluster])
        let config = "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes:\n- role: control-plane\n"
            + String(repeating: "- role: worker\n", count: nodes - 1)
        try runKindling(kindling, ["create", "cluster", "--name", Self.cluster, "--config", "-"], input: config)
        defer { _ = try? runKindling(kindling, ["delete", "cluster", "--name", Self.cluster]) }
        let processes = ClusterProcesses(cluster: Self.cluster)
        let client = APIClient(socketPath: processes.socketPath)
        defer { Task { [client] in try? await client.shutdown() } }

        // Every node filled to its limit: the cluster's own pods (DNS, ingress controller) take their places first.
        let systemPods = try await client.list(Pod.self).items.count
        let replicas = nodes * podsPerNode - systemPods
        let before = try await Self.requestHistogram(client)
        var cpu = CPUSampler(processes)
        let started = ContinuousClock.now
        try runKindling(kindling, ["apply", "--name", Self.cluster, "-f", "-"], input: Self.deployment(replicas: replicas))
        var ready = 0
        while ready < replicas {
            guard ContinuousClock.now - started < .seconds(600) else { throw ValidationError("only \(ready) of \(replicas) pods Ready after 600 s") }
            try await Task.sleep(for: .milliseconds(250))
            ready = (try? await client.get(Deployment.self, namespace: "default", name: "scale"))?.status?.readyReplicas ?? ready
            cpu.sample()
        }
        let toReady = milliseconds(since: started) / 1000
        let after = try await Self.requestHistogram(client)
        let memory = Self.memory(of: processes.pids())

        // Idle: the whole cluster (daemons and everything in its namespaces) over `idleSeconds`.
        let everyone = Set(processes.pids() + processes.pidsInNamespaces())
        let idleStart = Dictionary(uniqueKeysWithValues: everyone.map { ($0, CPUSampler.ticks([$0])) })
        try await Task.sleep(for: .seconds(idleSeconds))
        // By kind of process (its kindling verb, or "pods" for what runs in pods), in cores.
        var idleBy: [String: Double] = [:]
        for (pid, before) in idleStart {
            idleBy[Self.verb(of: pid), default: 0] += Double(CPUSampler.ticks([pid]) - before) / CPUSampler.ticksPerSecond / Double(idleSeconds)
        }
        let idle = idleBy.values.reduce(0, +)

        let deleting = ContinuousClock.now
        try runKindling(kindling, ["delete", "--name", Self.cluster, "deployment", "scale"])
        while (try? await client.list(Pod.self, namespace: "default").items.count) ?? 1 > 0 {
            guard ContinuousClock.now - deleting < .seconds(600) else { break }
            try await Task.sleep(for: .milliseconds(250))
        }
        let toGone = milliseconds(since: deleting) / 1000

        let floor = try Self.kernelFloor(pods: replicas)
        let p99 = Self.quantile(0.99, after.subtracting(before))
        print("\(nodes) nodes x \(podsPerNode) pods: \(replicas) pods of one Deployment (+\(systemPods) system pods)")
        print("| what | kindling | goal | baseline |")
        print("|---|---|---|---|")
        print("| apply -> all Ready | \(format(toReady, 1)) s (\(format(Double(replicas) / toReady, 0)) pods/s) | <= 15 s | kernel floor: \(replicas) pod namespaces wired with ip -batch per pod: \(format(floor, 1)) s |")
        print("| API request latency p99 during the ramp (server's histogram, watches excluded) | \(p99.map { format($0 * 1000, 0) + " ms" } ?? "n/a") | < 1 s | |")
        print("| CPU, busiest second of the ramp (server, agents, supervisor) | \(format(cpu.peak * 100, 0)) % of a core | | 2 cores |")
        let split = idleBy.sorted { $0.value > $1.value }.map { "\($0.key) \(format($0.value * 100, 1)) %" }.joined(separator: ", ")
        print("| CPU idle, whole cluster with \(replicas + systemPods) pods, \(idleSeconds) s | \(format(idle * 100, 1)) % of a core (\(split)) | < 10 % | |")
        print("| memory of kindling's daemons: RSS / Pss | \(memory.rss / 1024) MB / \(memory.pss / 1024) MB (\(memory.count) processes) | < 1 GB RSS | |")
        print("| delete Deployment -> no pod left | \(format(toGone, 1)) s | | |")
    }

    static func deployment(replicas: Int) -> String {
        """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: scale, namespace: default}
        spec:
          replicas: \(replicas)
          selector: {matchLabels: {app: scale}}
          template:
            metadata: {labels: {app: scale}}
            spec:
              terminationGracePeriodSeconds: 1
              containers:
              - {name: sleep, image: busybox, command: [sleep, "3600"]}
        """
    }

    // MARK: The server's request histogram

    /// `apiserver_request_duration_seconds` buckets summed over every verb but WATCH: upper bound -> count.
    struct Histogram {
        var buckets: [Double: Double] = [:]

        func subtracting(_ other: Histogram) -> Histogram {
            Histogram(buckets: buckets.merging(other.buckets.mapValues { -$0 }, uniquingKeysWith: +))
        }
    }

    static func requestHistogram(_ client: APIClient) async throws -> Histogram {
        let text = String(decoding: try await client.send(.GET, "/metrics").body, as: UTF8.self)
        var histogram = Histogram()
        for line in text.split(separator: "\n") where line.hasPrefix("apiserver_request_duration_seconds_bucket{") {
            guard !line.contains("verb=\"WATCH\""), let le = line.range(of: "le=\""),
                  let end = line[le.upperBound...].firstIndex(of: "\""),
                  let count = line.split(separator: " ").last.flatMap({ Double($0) }) else { continue }
            let bound = line[le.upperBound..<end] == "+Inf" ? Double.infinity : Double(line[le.upperBound..<end]) ?? .infinity
            histogram.buckets[bound, default: 0] += count
        }
        return histogram
    }

    /// Prometheus' histogram_quantile: linear within the bucket that holds the quantile.
    static func quantile(_ q: Double, _ histogram: Histogram) -> Double? {
        let bounds = histogram.buckets.keys.sorted()
        guard let total = bounds.last.flatMap({ histogram.buckets[$0] }), total > 0 else { return nil }
        var lower = 0.0, below = 0.0
        for bound in bounds {
            let cumulative = histogram.buckets[bound] ?? 0
            if cumulative >= q * total {
                guard bound.isFinite else { return lower }
                let inBucket = cumulative - below
                return inBucket > 0 ? lower + (bound - lower) * (q * total - below) / inBucket : bound
            }
            lower = bound
            below = cumulative
        }
        return lower
    }

    // MARK: Processes

    /// "server", "agent", "supervise", "dns", ... for kindling's processes; "pods" for anything else.
    static func verb(of pid: pid_t) -> String {
        let raw = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") ?? Data()
        let argv = raw.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        guard argv.count >= 2, (argv[0] as NSString).lastPathComponent == "kindling" else { return "pods" }
        return argv[1]
    }

    static func memory(of pids: [pid_t]) -> (rss: Int, pss: Int, count: Int) {
        func kilobytes(_ path: String, _ field: String) -> Int {
            let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            let line = text.split(separator: "\n").first { $0.hasPrefix(field) }
            return line.flatMap { $0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first }.flatMap { Int($0) } ?? 0
        }
        return pids.reduce((0, 0, 0)) { sum, pid in
            (sum.0 + kilobytes("/proc/\(pid)/status", "VmRSS:"), sum.1 + kilobytes("/proc/\(pid)/smaps_rollup", "Pss:"), sum.2 + 1)
        }
    }

    /// `pods` network namespaces wired to a node namespace as a pod is (veth, addresses, routes), with one
    /// `ip -batch` per pod: what the kernel needs for the same number of pods, in seconds.
    static func kernelFloor(pods: Int) throws -> Double {
        let prefix = "kb-scalebase-"
        func cleanup() {
            let listed = (try? shell(in: nil, ["ip", "netns", "list"]))?.1 ?? ""
            let names = listed.split(separator: "\n").compactMap { $0.split(separator: " ").first }.filter { $0.hasPrefix(prefix) }
            if !names.isEmpty { try? batch(nil, names.map { "netns delete \($0)\n" }.joined()) }
        }
        cleanup()
        defer { cleanup() }
        let started = ContinuousClock.now
        try batch(nil, "netns add \(prefix)node\n" + (1...pods).map { "netns add \(prefix)\($0)\n" }.joined())
        for i in 1...pods {
            let pod = prefix + String(i), ip = "10.250.\(i / 250).\(i % 250 + 2)"
            try batch(prefix + "node", "link add kbs\(i) type veth peer name eth0 netns \(pod)\naddr add 10.250.0.1/32 dev kbs\(i)\nlink set kbs\(i) up\nroute add \(ip)/32 dev kbs\(i) scope link\n")
            try batch(pod, "addr add \(ip)/16 dev eth0 noprefixroute\nlink set eth0 up\nlink set lo up\nroute add 10.250.0.1 dev eth0 scope link\nroute add default via 10.250.0.1 dev eth0\n")
        }
        return milliseconds(since: started) / 1000
    }

    /// Runs `commands` through one `ip -batch`, inside `namespace` (nil: this one).
    static func batch(_ namespace: String?, _ commands: String) throws {
        let (status, output) = try shell(in: nil, ["ip"] + (namespace.map { ["-n", $0] } ?? []) + ["-batch", "-"], input: commands)
        guard status == 0 else { throw ValidationError("ip -batch in \(namespace ?? "this namespace"): \(output)") }
    }
}

/// CPU of a cluster's daemons, sampled: the busiest interval between two samples, in cores.
struct CPUSampler {
    static let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
    let processes: ClusterProcesses
    var last: (ticks: Int, at: ContinuousClock.Instant)
    var peak = 0.0

    init(_ processes: ClusterProcesses) {
        self.processes = processes
        last = (Self.ticks(Set(processes.pids())), .now)
    }

    mutating func sample() {
        let now = ContinuousClock.now
        guard now - last.at >= .seconds(1) else { return }
        let ticks = Self.ticks(Set(processes.pids()))
        peak = max(peak, Double(ticks - last.ticks) / Self.ticksPerSecond / (milliseconds(since: last.at) / 1000))
        last = (ticks, now)
    }

    /// User and system time of `pids` so far, in clock ticks (/proc/PID/stat fields 14 and 15).
    static func ticks(_ pids: Set<pid_t>) -> Int {
        pids.reduce(0) { sum, pid in
            guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = text.lastIndex(of: ")") else { return sum }
            let fields = text[text.index(after: close)...].split(separator: " ")
            // After the command's ")": state is field 3, so utime (14) and stime (15) are at 11 and 12.
            guard fields.count > 12, let user = Int(fields[11]), let system = Int(fields[12]) else { return sum }
            return sum + user + system
        }
    }
}
