import ArgumentParser
import Foundation
import KindlingAddresses
import KindlingAPI
import KindlingClient
import KindlingNet

/// HTTP through the ingress controller vs straight to the service VIP, on a real 2-node cluster, from a client
/// pod's namespace with wrk: requests per second and latency percentiles for the same nginx backend (two pods),
/// once over kept-alive connections and once with a new connection per request. The ingress path adds a proxy
/// hop (nginx in the controller pod) on top of the same VIP datapath, so the ratio is that hop's cost.
struct IngressBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingress",
        abstract: "HTTP requests per second and p50/p99 latency through the ingress vs directly to the service VIP."
    )

    @Option(help: "The kindling binary that creates the cluster.")
    var kindling = ".build/release/kindling"

    @Option(help: "Seconds of load per measurement.")
    var seconds = 5

    @Option(help: "Connections wrk keeps open.")
    var connections = 32

    static let cluster = "kb-ingress"

    struct Figures {
        let requestsPerSecond: Double
        let p50: Double
        let p99: Double
    }

    func run() async throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/wrk") else { throw ValidationError("no /usr/bin/wrk: run scripts/install-deps.sh") }
        let cluster = try BenchCluster(kindling: kindling, name: Self.cluster, manifests: """
            apiVersion: v1
            kind: Namespace
            metadata: {name: bench}
            ---
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: web, namespace: bench}
            spec:
              replicas: 2
              selector: {matchLabels: {app: web}}
              template:
                metadata: {labels: {app: web}}
                spec:
                  containers:
                  - {name: nginx, image: nginx}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: web, namespace: bench}
            spec:
              selector: {app: web}
              ports: [{port: 80}]
            ---
            apiVersion: networking.k8s.io/v1
            kind: Ingress
            metadata: {name: web, namespace: bench}
            spec:
              rules:
              - host: bench.example.com
                http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: client, namespace: bench}
            spec:
              containers:
              - {name: sleep, image: busybox, command: [sleep, infinity]}
            """)
        defer { cluster.delete() }
        let client = cluster.client
        let pod = NetNamespace(ClusterNames(cluster: Self.cluster).netnsPrefix + "pod.bench.client")
        let direct = try await client.get(Service.self, namespace: "bench", name: "web").spec.clusterIP ?? ""
        let ingress = try await client.get(Service.self, namespace: "ingress-nginx", name: "ingress-nginx-controller").spec.clusterIP ?? ""
        let host = ["-H", "Host: bench.example.com"]
        let started = Date()
        while true {
            let (_, code) = (try? shell(in: pod, ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "1"] + host + ["http://\(ingress)/"])) ?? (1, "")
            let (_, direct) = (try? shell(in: pod, ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "1", "http://\(direct)/"])) ?? (1, "")
            if code == "200" && direct == "200" { break }
            guard Date().timeIntervalSince(started) < 60 else { throw ValidationError("the ingress did not answer within 60 s (\(code), \(direct))") }
            try await Task.sleep(for: .milliseconds(200))
        }
        print("HTTP GET of nginx's default page (615 bytes) from a pod, \(connections) connections, \(seconds) s each")
        print("connections  path                           requests/s      p50 ms    p99 ms")
        for (label, extra) in [("kept alive", [String]()), ("one per req", ["-H", "Connection: close"])] {
            let viaIngress = try load(pod, url: "http://\(ingress)/", headers: host + extra)
            let viaVIP = try load(pod, url: "http://\(direct)/", headers: extra)
            for (path, figures) in [("ingress (VIP -> nginx -> pod)", viaIngress), ("service VIP (-> pod)", viaVIP)] {
                print("\(label.padded(13))\(path.padded(31))\(format(figures.requestsPerSecond, 0).padded(16))\(format(figures.p50, 2).padded(10))\(format(figures.p99, 2))")
            }
            print("\("".padded(13))\("ratio ingress / VIP".padded(31))\(format(viaIngress.requestsPerSecond / viaVIP.requestsPerSecond, 3).padded(16))\(format(viaIngress.p50 / viaVIP.p50, 2).padded(10))\(format(viaIngress.p99 / viaVIP.p99, 2))")
        }
    }

    /// One wrk run: requests per second and its latency percentiles, in milliseconds.
    func load(_ pod: NetNamespace, url: String, headers: [String]) throws -> Figures {
        let (status, output) = try shell(in: pod, ["wrk", "-t", "1", "-c", String(connections), "-d", "\(seconds)s", "--latency"] + headers + [url])
        guard status == 0, let rate = Self.value(after: "Requests/sec:", in: output),
              let p50 = Self.duration(after: "50%", in: output), let p99 = Self.duration(after: "99%", in: output) else {
            throw ValidationError("wrk \(url): \(output)")
        }
        if let errors = output.split(separator: "\n").first(where: { $0.contains("Non-2xx") || $0.contains("Socket errors") }) {
            print("  (wrk \(url): \(errors.trimmingCharacters(in: .whitespaces)))")
        }
        return Figures(requestsPerSecond: rate, p50: p50, p99: p99)
    }

    static func value(after label: String, in output: String) -> Double? {
        output.split(separator: "\n").lazy.compactMap { line -> Double? in
            let words = line.split(separator: " ")
            guard let index = words.firstIndex(where: { $0 == label }), index + 1 < words.count else { return nil }
            return Double(words[index + 1])
        }.first
    }

    /// wrk's durations (`812.00us`, `1.23ms`, `2.01s`) in milliseconds.
    static func duration(after label: String, in output: String) -> Double? {
        for line in output.split(separator: "\n") {
            let words = line.split(separator: " ")
            guard words.first == Substring(label), words.count > 1 else { continue }
            let text = words[1]
            for (unit, scale) in [("us", 0.001), ("ms", 1.0), ("s", 1000.0)] where text.hasSuffix(unit) {
                return Double(text.dropLast(unit.count)).map { $0 * scale }
            }
        }
        return nil
    }
}
