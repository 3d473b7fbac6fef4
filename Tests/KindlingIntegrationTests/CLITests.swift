import Foundation
import KindlingAddresses
import KindlingAPI
import KindlingCluster
import KindlingNet
import Testing

/// The `kindling` binary as a user runs it, with its supervisor, server and agents: `make cluster-up` /
/// `make cluster-down` in miniature. Each test makes its own cluster, so they run in parallel.
@Suite(.enabled(if: isRoot, "needs root: creates network namespaces"))
struct CLITests: Sendable {
    /// The binary built next to this test bundle (`swift build --build-tests` builds both).
    static let binary: String = ProcessInfo.processInfo.environment["KINDLING_BIN"]
        ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("kindling").path

    func kindling(_ arguments: [String], input: String? = nil) throws -> CommandResult {
        try sh([CLITests.binary] + arguments, input: input)
    }

    func mounts(containing text: String) throws -> [Substring] {
        try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8).split(separator: "\n").filter { $0.contains(text) }
    }

    /// Creates a cluster through the CLI; `body` runs with its name; the cluster is deleted afterwards in any case.
    func withCluster(_ tag: String, yaml: String = ClusterLifecycleTests.seed002, _ body: (String) throws -> Void) throws {
        let name = uniqueClusterName(tag)
        defer { _ = try? kindling(["delete", "cluster", "--name", name]) }
        let created = try kindling(["create", "cluster", "--name", name, "--config", "-"], input: yaml)
        try #require(created.status == 0, "\(created.output)")
        #expect(created.output.contains("Creating cluster \"\(name)\" ..."))
        #expect(created.output.contains(" ✓ Joining nodes 🚜"))
        try body(name)
    }

    func assertNothingLeft(_ name: String) throws {
        let names = ClusterNames(cluster: name)
        #expect(NetNamespace.list(prefix: names.netnsPrefix).isEmpty)
        #expect(ClusterProcesses(cluster: name).pids().isEmpty)
        #expect(!FileManager.default.fileExists(atPath: names.stateDirectory()))
        #expect(!FileManager.default.fileExists(atPath: names.runDirectory()))
        #expect(try mounts(containing: names.netnsPrefix).isEmpty)
        let published = (try? FileManager.default.contentsOfDirectory(atPath: "/etc/netns")) ?? []
        #expect(!published.contains { $0.hasPrefix(names.netnsPrefix) }, "/etc/netns entries left: \(published)")
        #expect(!(try kindling(["get", "clusters"]).output.contains(name)))
    }

    @Test func nodesRegisterReadyWithRoutesAndDeleteLeavesNothing() throws {
        let linksBefore = try rootLinks()
        var clusterName = ""
        try withCluster("up") { name in
            clusterName = name
            #expect(try kindling(["get", "clusters"]).output.split(separator: "\n").contains(Substring(name)))
            let nodes = try kindling(["get", "nodes", "--name", name, "-o", "wide"]).output
            let lines = nodes.split(separator: "\n")
            #expect(lines.first?.hasPrefix("NAME ") == true && lines.first?.contains("INTERNAL-IP") == true, "\(nodes)")
            #expect(lines.count == 4)
            #expect(lines.dropFirst().allSatisfy { $0.contains(" Ready ") }, "\(nodes)")
            #expect(nodes.contains("\(name)-control-plane   Ready    control-plane"), "\(nodes)")
            #expect(nodes.contains("172.18.0.4"))

            // Every node routes the other nodes' pod CIDRs via their node IPs; CIDRs follow the config's order, as in kind.
            let routes = try kindling(["exec", "--name", name, "--node", "\(name)-worker", "--", "ip", "-4", "route", "show", "proto", "77"])
            // ...and the service subnet over eth0, so the node's own connections to cluster IPs reach the proxy's NAT.
            #expect(routes.output == "10.96.0.0/16 dev eth0 scope link \n10.244.0.0/24 via 172.18.0.2 dev eth0 \n10.244.2.0/24 via 172.18.0.4 dev eth0 \n", "\(routes.output)")

            // The TLS endpoint on loopback: the kubeconfig's CA verifies it, and only the cluster's token gets in.
            let kubeconfig = try kindling(["get", "kubeconfig", "--name", name]).output
            let server = try #require(kubeconfig.split(separator: "\n").first { $0.contains("server: https://127.0.0.1:") })
                .split(separator: " ").last.map(String.init) ?? ""
            let token = try #require(kubeconfig.split(separator: "\n").first { $0.contains("token: ") }?.split(separator: " ").last.map(String.init))
            let caData = try #require(kubeconfig.split(separator: "\n").first { $0.contains("certificate-authority-data: ") }?.split(separator: " ").last)
            let caPath = NSTemporaryDirectory() + "kindling-ca-\(name).crt"
            defer { try? FileManager.default.removeItem(atPath: caPath) }
            try #require(Data(base64Encoded: String(caData))).write(to: URL(fileURLWithPath: caPath))
            let authorized = try sh(["curl", "-s", "--cacert", caPath, "-H", "Authorization: Bearer \(token)", "\(server)/api/v1/namespaces/kube-system"])
            #expect(authorized.output.contains("\"name\":\"kube-system\""), "\(authorized.output)")
            let anonymous = try sh(["curl", "-s", "-w", " %{http_code}", "--cacert", caPath, "\(server)/api/v1/namespaces"])
            #expect(anonymous.output.hasSuffix(" 401") && anonymous.output.contains("\"reason\":\"Unauthorized\""), "\(anonymous.output)")
            let wrong = try sh(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", caPath, "-H", "Authorization: Bearer x\(token)", "\(server)/version"])
            #expect(wrong.output == "401")

            let again = try kindling(["create", "cluster", "--name", name])
            #expect(again.status == 1)
            #expect(again.output.contains("ERROR: failed to create cluster: node(s) already exist for a cluster with the name \"\(name)\""))
        }
        try assertNothingLeft(clusterName)
        #expect(try rootLinks() == linksBefore)
    }

    @Test func applyGetScaleDeleteLikeKubectl() throws {
        try withCluster("objects", yaml: "") { name in
            let manifest = PodTests.seed002
            let applied = try kindling(["apply", "--name", name, "-f", "-"], input: manifest)
            #expect(applied.output == "namespace/dev created\nreplicaset.apps/nginx-replicaset created\n", "\(applied.output)")
            let unchanged = try kindling(["apply", "--name", name, "-f", "-"], input: manifest)
            #expect(unchanged.output == "namespace/dev unchanged\nreplicaset.apps/nginx-replicaset unchanged\n")
            let scaled = try kindling(["scale", "--name", name, "-n", "dev", "rs/nginx-replicaset", "--replicas=2"])
            #expect(scaled.output == "replicaset.apps/nginx-replicaset scaled\n")
            let wide = try kindling(["get", "rs", "--name", name, "-n", "dev", "-o", "wide"]).output
            #expect(wide.contains("nginx-replicaset   2         "), "\(wide)")
            #expect(wide.contains("app=nginx") && wide.contains("nginx:1.25"))
            let yaml = try kindling(["get", "rs", "nginx-replicaset", "--name", name, "-n", "dev", "-o", "yaml"]).output
            #expect(yaml.hasPrefix("apiVersion: apps/v1\nkind: ReplicaSet\n"), "\(yaml)")
            // As kubectl prints it: integers as integers, strings that look like something else quoted.
            #expect(yaml.contains("\n  replicas: 2\n") && yaml.contains("\n  generation: 2\n") && yaml.contains("\n  resourceVersion: \""), "\(yaml)")
            #expect(try kindling(["get", "ns", "--name", name, "-o", "name"]).output.contains("namespace/dev\n"))
            // Without --name, the cluster of the current kubeconfig context, as kubectl picks one (a file of this
            // test's own: other tests' clusters change the shared one's current context).
            let kubeconfig = NSTemporaryDirectory() + "kindling-context-\(name).yaml"
            defer { unlink(kubeconfig) }
            try "apiVersion: v1\nkind: Config\ncurrent-context: kindling-\(name)\n".write(toFile: kubeconfig, atomically: true, encoding: .utf8)
            let fromContext = try sh(["KUBECONFIG=\(kubeconfig)", CLITests.binary, "get", "rs", "-n", "dev", "-o", "name"])
            #expect(fromContext.output == "replicaset.apps/nginx-replicaset\n", "\(fromContext.output)")

            let invalid = try kindling(["apply", "--name", name, "-f", "-"], input: manifest.replacingOccurrences(of: "replicas: 6", with: "replicas: -1"))
            #expect(invalid.status == 1)
            #expect(invalid.output.contains("spec.replicas: Invalid value: -1: must be greater than or equal to 0"), "\(invalid.output)")
            let unknownKind = try kindling(["apply", "--name", name, "-f", "-"], input: "apiVersion: v1\nkind: Widget\nmetadata: {name: w}\n")
            #expect(unknownKind.output.contains("no matches for kind \"Widget\" in version \"v1\""))

            // Services get their cluster IP and node port from the API (the datapath is the services issue).
            let service = """
                apiVersion: v1
                kind: Service
                metadata: {name: nginx-service, namespace: dev}
                spec:
                  type: NodePort
                  selector: {app: nginx}
                  ports:
                  - {port: 80, targetPort: 80, nodePort: 30000}
                """
            #expect(try kindling(["apply", "--name", name, "-f", "-"], input: service).output == "service/nginx-service created\n")
            let services = try kindling(["get", "svc", "--name", name, "-A"]).output
            let rows = services.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
            #expect(rows.contains { $0.prefix(6) == ["default", "kubernetes", "ClusterIP", "10.96.0.1", "<none>", "443/TCP"] }, "\(services)")
            #expect(rows.contains { $0.prefix(6) == ["kube-system", "kube-dns", "ClusterIP", "10.96.0.10", "<none>", "53/UDP,53/TCP,9153/TCP"] }, "\(services)")
            #expect(services.contains("NodePort") && services.contains("80:30000/TCP"), "\(services)")

            #expect(try kindling(["delete", "--name", name, "-n", "dev", "rs", "nginx-replicaset"]).output == "replicaset.apps \"nginx-replicaset\" deleted\n")
            let missing = try kindling(["get", "rs", "nginx-replicaset", "--name", name, "-n", "dev"])
            #expect(missing.status == 1)
            #expect(missing.output == "Error from server (NotFound): replicasets.apps \"nginx-replicaset\" not found\n")
        }
    }

    @Test func helpShowsTheUsersVerbsAndVersionBothVersions() throws {
        let help = try kindling(["--help"]).output
        for verb in ["create", "delete", "get", "apply", "exec", "logs", "version"] { #expect(help.contains("\n  \(verb) "), "\(verb): \(help)") }
        for daemon in ["server", "agent", "supervise", "agnhost", "dns", "ingress-controller"] {
            #expect(!help.contains("\n  \(daemon) "), "\(daemon) is shown: \(help)")
        }
        let version = try kindling(["version"])
        #expect(version.status == 0)
        #expect(version.output == "kindling \(KindlingVersion.current) linux/amd64\nKubernetes \(KubernetesVersion.gitVersion)\n", "\(version.output)")
    }

    @Test func supervisorRestartsAKilledServerAndNothingIsLost() throws {
        try withCluster("restart", yaml: "") { name in
            _ = try kindling(["apply", "--name", name, "-f", "-"], input: "apiVersion: v1\nkind: Namespace\nmetadata: {name: kept}\n")
            let processes = ClusterProcesses(cluster: name)
            let server = try #require(processes.pids(verb: "server").first)
            kill(server, SIGKILL)
            let back = eventually(10) { (try? kindling(["get", "ns", "kept", "--name", name]))?.status == 0 }
            #expect(back, "the server did not come back with its data")
            #expect(!processes.pids().contains(server))
        }
    }

    @Test func deleteAfterEverythingWasKilled() throws {
        let name = uniqueClusterName("killed")
        defer { _ = try? kindling(["delete", "cluster", "--name", name]) }
        let created = try kindling(["create", "cluster", "--name", name])
        try #require(created.status == 0, "\(created.output)")
        let processes = ClusterProcesses(cluster: name)
        // Supervisor, server, one agent (under load a process of the start-up may take a moment to go).
        #expect(eventually(5) { processes.pids().count == 3 }, "\(processes.pids())")
        for pid in processes.pids() { kill(pid, SIGKILL) }
        let deleted = try kindling(["delete", "cluster", "--name", name])
        #expect(deleted.status == 0, "\(deleted.output)")
        try assertNothingLeft(name)
        // A new cluster with the same name comes up.
        #expect(try kindling(["create", "cluster", "--name", name]).status == 0)
        #expect(try kindling(["delete", "cluster", "--name", name]).status == 0)
        try assertNothingLeft(name)
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
        try assertNothingLeft(name)

        let missing = try kindling(["exec", "--name", name, "--node", "x", "--", "true"])
        #expect(missing.status == 1)
        #expect(missing.output.contains("unknown cluster \"\(name)\""))
    }
}
