import Foundation
import KindlingAPI
import KindlingCluster
import KindlingNet
import Testing

/// Root integration tests make real namespaces; without root they are skipped, and CI runs as root.
let isRoot = geteuid() == 0

/// A unique cluster name per test, so tests run in parallel and never touch a user's cluster.
func uniqueClusterName(_ tag: String) -> String {
    "kt-\(tag)-" + String(UInt32.random(in: 0...UInt32.max), radix: 16)
}

/// A throwaway cluster with its own state directories; `teardown` removes all of it (call it in `defer`).
struct TestCluster {
    let config: ClusterConfig
    let provisioner: ClusterProvisioner
    let topology: ClusterTopology
    let scratch: String

    init(_ tag: String, yaml: String = "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes:\n- role: control-plane\n- role: worker\n") throws {
        scratch = NSTemporaryDirectory() + "kindling-test-" + UUID().uuidString
        config = try ClusterConfig.parse(yaml: yaml, name: uniqueClusterName(tag))
        provisioner = ClusterProvisioner(stateRoot: scratch + "/state", runRoot: scratch + "/run")
        topology = try provisioner.create(config)
    }

    func teardown() {
        _ = try? provisioner.delete(cluster: config.name)
        try? FileManager.default.removeItem(atPath: scratch)
    }

    var leftovers: [String] { NetNamespace.list(prefix: topology.names.netnsPrefix).map(\.name) }
}

struct CommandResult {
    let status: Int32
    let output: String
}

/// The tests' kubeconfig: clusters they create write their contexts here, never into the machine's own
/// (`scripts/sweep-test-leftovers.sh` removes it).
let testKubeconfig = "/tmp/kt-kubeconfig-\(getpid())/config"

/// The environment every command of the tests runs with: the caller's, with `KUBECONFIG` the tests' own.
let testEnvironment = ProcessInfo.processInfo.environment.merging(["KUBECONFIG": testKubeconfig]) { _, new in new }

/// Runs a program and collects its standard output and error together.
@discardableResult
func sh(_ arguments: [String], input: String? = nil) throws -> CommandResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    process.environment = testEnvironment
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    if let input {
        let inputPipe = Pipe()
        process.standardInput = inputPipe
        try process.run()
        inputPipe.fileHandleForWriting.write(Data(input.utf8))
        try inputPipe.fileHandleForWriting.close()
    } else {
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return CommandResult(status: process.terminationStatus, output: String(decoding: data, as: UTF8.self))
}

/// Runs a command inside a network namespace, as a user would with `ip netns exec`.
@discardableResult
func inNetns(_ namespace: NetNamespace, _ arguments: [String]) throws -> CommandResult {
    try sh(["ip", "netns", "exec", namespace.name] + arguments)
}

/// Polls `condition` every 20 ms until it holds or `seconds` pass.
func eventually(_ seconds: Double = 5, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    repeat {
        if try condition() { return true }
        usleep(20_000)
    } while Date() < deadline
    return false
}

/// Names of the links in this process's (the root) network namespace.
func rootLinks() throws -> Set<String> {
    try NamespaceThread.shared.run(in: nil) { Set(try RouteSocket().linkNames()) }
}

/// The last lines of a cluster's server and supervisor logs, for a failure message (the cluster and its logs are
/// gone once the test deletes it).
func clusterLogTail(_ cluster: String, lines: Int = 30) -> String {
    ["server.log", "supervisor.log"].map { file in
        let text = (try? String(contentsOfFile: ClusterProcesses(cluster: cluster).logDirectory + "/" + file, encoding: .utf8)) ?? ""
        return "--- \(file)\n" + text.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }.joined(separator: "\n")
}
