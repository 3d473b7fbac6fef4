import ArgumentParser
import Foundation
import KindlingAddresses
import KindlingAPI
import KindlingClient
import KindlingNet
import KindlingProxy

/// Namespaces a benchmark makes for itself, all named `kl-kbench-<random>.<what>`, removed by `remove`
/// (and any left by an earlier, killed run at the next start).
struct Scratch {
    static let prefix = "kl-kbench-"
    let tag = Scratch.prefix + String(UInt32.random(in: 0...UInt32.max), radix: 16) + "."

    init() {
        for namespace in NetNamespace.list(prefix: Scratch.prefix) { try? namespace.delete() }
    }

    func namespace(_ what: String) throws -> NetNamespace { try NetNamespace.create(tag + what) }

    func remove() {
        for namespace in NetNamespace.list(prefix: tag) { try? namespace.delete() }
    }
}

/// `count` services with `endpoints` endpoints each, addressed as a big cluster's would be.
func syntheticPorts(services count: Int, endpoints: Int) -> [ServicePort] {
    let serviceBase = IPv4Address("10.96.0.0")!.value + 256
    let podBase = IPv4Address("10.244.0.0")!.value + 2
    return (0..<count).map { i in
        ServicePort(namespace: "bench", service: "svc-\(i)", portName: "http", clusterIP: IPv4Address(serviceBase + UInt32(i)),
                    port: 80, endpoints: (0..<endpoints).map { k in
                        ServicePort.Endpoint(ip: IPv4Address(podBase + UInt32(i * endpoints + k)), port: 8080, isLocal: false)
                    })
    }
}

/// An iperf3 server in `namespace`, given a moment to listen; the caller kills it.
func iperfServer(in namespace: NetNamespace) throws -> Process {
    let iperf = Process()
    iperf.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
    iperf.arguments = ["netns", "exec", namespace.name, "iperf3", "-s"]
    iperf.standardOutput = FileHandle.nullDevice
    try iperf.run()
    usleep(300_000)
    return iperf
}

/// A fresh two-node cluster for a benchmark, with its manifests applied and an API client (what a killed run left
/// under the same name is deleted first); `delete()` removes it: call it in `defer`.
struct BenchCluster {
    let kindling: String
    let name: String
    let client: APIClient

    init(kindling: String, name: String, manifests: String) throws {
        self.kindling = kindling
        self.name = name
        _ = try? runKindling(kindling, ["delete", "cluster", "--name", name])
        let config = "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes:\n- role: control-plane\n- role: worker\n"
        do {
            try runKindling(kindling, ["create", "cluster", "--name", name, "--config", "-"], input: config)
            try runKindling(kindling, ["apply", "--name", name, "-f", "-"], input: manifests)
        } catch {
            _ = try? runKindling(kindling, ["delete", "cluster", "--name", name])
            throw error
        }
        client = APIClient(socketPath: ClusterNames(cluster: name).runDirectory() + "/api.sock")
    }

    func delete() {
        Task { [client] in try? await client.shutdown() }
        _ = try? runKindling(kindling, ["delete", "cluster", "--name", name])
    }
}

/// Milliseconds since `start`.
func milliseconds(since start: ContinuousClock.Instant) -> Double {
    let elapsed = ContinuousClock.now - start
    return Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
}

func percentile(_ values: [Double], _ p: Double) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return .nan }
    return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
}

func format(_ value: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", value) }

/// Runs a command inside a namespace (as `ip netns exec` does), with `input` on its standard input, and returns
/// its exit status and output.
@discardableResult
func shell(in namespace: NetNamespace?, _ arguments: [String], input: String? = nil) throws -> (Int32, String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
    process.arguments = (namespace.map { ["netns", "exec", $0.name] } ?? []) + arguments
    if namespace == nil {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
    }
    let pipe = Pipe(), inputPipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    if input != nil { process.standardInput = inputPipe }
    try process.run()
    if let input {
        inputPipe.fileHandleForWriting.write(Data(input.utf8))
        try inputPipe.fileHandleForWriting.close()
    }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// Runs the kindling binary to completion; its output, or an error with it when it fails.
@discardableResult
func runKindling(_ binary: String, _ arguments: [String], input: String? = nil) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: binary)
    process.arguments = arguments
    let pipe = Pipe(), inputPipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    process.standardInput = input == nil ? FileHandle.nullDevice : inputPipe
    try process.run()
    if let input {
        inputPipe.fileHandleForWriting.write(Data(input.utf8))
        try inputPipe.fileHandleForWriting.close()
    }
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw ValidationError("kindling \(arguments.joined(separator: " ")): \(output)") }
    return output
}
