import Foundation
import KindlingAPI
import KindlingNet
import Testing

/// The `kindling` binary as a user runs it: `make cluster-up` / `make cluster-down` in miniature.
@Suite(.enabled(if: isRoot, "needs root: creates network namespaces"))
struct CLITests {
    /// The binary built next to this test bundle (`swift build --build-tests` builds both).
    static let binary: String = ProcessInfo.processInfo.environment["KINDLING_BIN"]
        ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("kindling").path

    func kindling(_ arguments: [String], input: String? = nil) throws -> CommandResult {
        try sh([CLITests.binary] + arguments, input: input)
    }

    func mounts(containing text: String) throws -> [Substring] {
        try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8).split(separator: "\n").filter { $0.contains(text) }
    }

    @Test func createUseAndDeleteLeaveNothingBehind() throws {
        let name = uniqueClusterName("cli")
        let names = ClusterNames(cluster: name)
        defer { _ = try? kindling(["delete", "cluster", "--name", name]) }
        let linksBefore = try rootLinks()

        let created = try kindling(["create", "cluster", "--name", name, "--config", "-"], input: ClusterLifecycleTests.seed002)
        #expect(created.status == 0, "\(created.output)")
        #expect(created.output.contains("Creating cluster \"\(name)\" ..."))
        #expect(created.output.contains(" ✓ Preparing nodes 📦 📦 📦"))

        #expect(try kindling(["get", "clusters"]).output.split(separator: "\n").contains(Substring(name)))
        #expect(try kindling(["get", "nodes", "--name", name]).output
            == "\(name)-control-plane\n\(name)-worker\n\(name)-worker2\n")
        let addr = try kindling(["exec", "--name", name, "--node", "\(name)-worker", "--", "ip", "-4", "-o", "addr", "show", "eth0"])
        #expect(addr.output.contains("inet 172.18.0.3/16"), "\(addr.output)")
        let ping = try kindling(["exec", "--name", name, "--node", "\(name)-worker2", "--", "ping", "-c", "1", "-W", "1", "172.18.0.2"])
        #expect(ping.status == 0, "\(ping.output)")
        let again = try kindling(["create", "cluster", "--name", name])
        #expect(again.status == 1)
        #expect(again.output.contains("ERROR: failed to create cluster: node(s) already exist for a cluster with the name \"\(name)\""))

        let deleted = try kindling(["delete", "cluster", "--name", name])
        #expect(deleted.status == 0, "\(deleted.output)")
        #expect(NetNamespace.list(prefix: names.netnsPrefix).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: names.stateDirectory()))
        #expect(!FileManager.default.fileExists(atPath: names.runDirectory()))
        #expect(try mounts(containing: names.netnsPrefix).isEmpty)
        #expect(try rootLinks() == linksBefore)
        #expect(!(try kindling(["get", "clusters"]).output.contains(name)))
    }

    @Test func badConfigIsRejectedByFieldAndCreatesNothing() throws {
        let name = uniqueClusterName("bad")
        defer { _ = try? kindling(["delete", "cluster", "--name", name]) }
        let result = try kindling(["create", "cluster", "--name", name, "--config", "-"], input: """
            kind: Cluster
            apiVersion: kind.x-k8s.io/v1alpha4
            nodes:
            - role: control-plane
            - role: master
            """)
        #expect(result.status == 1)
        #expect(result.output.contains("ERROR: failed to create cluster: Cluster.kind.x-k8s.io \"\(name)\" is invalid: nodes[1].role: Unsupported value: \"master\""), "\(result.output)")
        #expect(NetNamespace.list(prefix: ClusterNames(cluster: name).netnsPrefix).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: ClusterNames(cluster: name).stateDirectory()))

        let missing = try kindling(["exec", "--name", name, "--node", "x", "--", "true"])
        #expect(missing.status == 1)
        #expect(missing.output.contains("unknown cluster \"\(name)\""))
    }
}
