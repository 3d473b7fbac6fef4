import ArgumentParser
import Foundation
import KindlingAddresses
import KindlingAPI
import KindlingClient
import KindlingCluster
import KindlingNet
import KindlingProcess
import KindlingServer

struct Create: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Creates one of [cluster, secret].", subcommands: [CreateCluster.self, CreateSecret.self])
}

struct CreateCluster: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "Creates a local cluster of network namespaces and starts its control plane and node agents.",
        discussion: """
            --config takes kind's own config file (kind: Cluster, apiVersion: kind.x-k8s.io/v1alpha4): nodes[].role \
            and nodes[].labels, networking.podSubnet, serviceSubnet, kubeProxyMode (nftables, iptables or none), apiServerPort, and kindling's own networking.loadBalancerPool (default 172.18.255.200-172.18.255.250). Fields kind knows \
            but kindling does not act on are named in a warning; unknown fields are rejected.
            """
    )

    @Option(name: .long, help: "The cluster's name; overrides the config file's name. (default \"kindling\")")
    var name: String?

    @Option(name: .long, help: "Path to a kind config file, or - for standard input.")
    var config: String?

    @Option(name: .long, help: "How long to wait for the control plane and every node to be Ready, in seconds.")
    var wait: Int = 60

    @OptionGroup var kubeconfig: KubeconfigOption

    func run() async throws {
        try await reportingErrors("ERROR: failed to create cluster") {
            let text: String
            switch config {
            case nil: text = ""
            case "-": text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
            case let path?:
                guard let data = FileManager.default.contents(atPath: path) else {
                    throw CLIError("error reading config file \"\(path)\": no such file")
                }
                text = String(decoding: data, as: UTF8.self)
            }
            var parsed = try ClusterConfig.parse(yaml: text, name: name)
            for warning in parsed.warnings { printError("WARNING: \(warning)") }
            try requireRoot("kindling create cluster")
            let provisioner = ClusterProvisioner(progress: .standardError)
            // Refused before anything is reserved, so a clash reads as one and not as a busy port.
            try provisioner.requireAbsent(parsed.name)
            // The TLS port is fixed at creation, as kind fixes its port mapping: a free one unless the config names one.
            parsed.apiServerPort = try LoopbackPort.reserve(parsed.apiServerPort)
            let progress = StepReporter.standardError
            let topology = try provisioner.create(parsed)
            do {
                let processes = ClusterProcesses(cluster: parsed.name)
                let controlPlane = topology.nodes.first { $0.role == .controlPlane }?.address.address
                let credentials = try ServerCredentials.generate(cluster: parsed.name, addresses: [
                    ServiceAllocation(serviceSubnet: parsed.serviceSubnet).kubernetesIP,
                ] + (controlPlane.map { [$0] } ?? []))
                try credentials.save(ServerCredentials.Files(stateDirectory: processes.stateDirectory))
                try await startAndWait(parsed, topology, progress: progress)
                try kubeconfig.export(cluster: parsed.name)
            } catch {
                let logs = ClusterProcesses(cluster: parsed.name).logDirectory
                try? provisioner.delete(cluster: parsed.name)
                throw CLIError("\(error) (the processes' logs were in \(logs))")
            }
            // Tell users how to call this very binary (after `make cluster-up` it is not on PATH).
            let onPath = Spawn.resolve("kindling").map { URL(fileURLWithPath: $0).resolvingSymlinksInPath().path }
            let me = onPath == ClusterProcesses.executable ? "kindling" : ClusterProcesses.executable
            print("""

                Nodes of "\(parsed.name)" are network namespaces on bridge "\(ClusterNames.underlayBridge)" in \(topology.underlay.name):
                \(topology.nodes.map { "  \($0.name)  \($0.address.address)  (ip netns exec \($0.netns.name) ...)" }.joined(separator: "\n"))

                You can now use your cluster with:

                kubectl cluster-info --context \(Kubeconfig.contextName(cluster: parsed.name))

                or with kindling's own verbs:

                \(me) get nodes --name \(parsed.name) -o wide
                \(me) apply --name \(parsed.name) -f manifest.yaml
                \(me) exec --name \(parsed.name) --node \(topology.nodes[0].name) -- ip route

                The API answers on https://127.0.0.1:\(parsed.apiServerPort ?? 0) (context \(Kubeconfig.contextName(cluster: parsed.name)) in \(kubeconfig.path)).

                Prometheus metrics: the API server's at https://127.0.0.1:\(parsed.apiServerPort ?? 0)/metrics (same token) and on
                the unix socket; each node's proxy at <node IP>:\(AgentCommand.metricsPort)/metrics inside the node network:
                \(me) exec --name \(parsed.name) --node \(topology.nodes[0].name) -- curl -s localhost:\(AgentCommand.metricsPort)/metrics

                Delete it with: \(me) delete cluster --name \(parsed.name)
                """)
        }
    }

    func startAndWait(_ config: ClusterConfig, _ topology: ClusterTopology, progress: StepReporter) async throws {
        let processes = ClusterProcesses(cluster: config.name)
        for directory in [processes.runDirectory, processes.logDirectory] {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        }
        let client = APIClient(socketPath: processes.socketPath)
        defer { Task { [client] in try? await client.shutdown() } }
        let deadline = Date().addingTimeInterval(Double(wait))
        try await progress.step("Starting control-plane 🕹️") {
            _ = try Spawn.start([ClusterProcesses.executable, "supervise", "--name", config.name],
                                options: .init(logPath: processes.logPath("supervisor")))
            try await poll(until: deadline, what: "the API server to answer") {
                (try? await client.send(.GET, "/healthz").status) == 200
            }
        }
        try await progress.step("Joining nodes 🚜") {
            try await poll(until: deadline, what: "every node to be Ready with a pod CIDR") {
                guard let nodes = try? await client.list(Node.self).items else { return false }
                return nodes.count == topology.nodes.count && nodes.allSatisfy { $0.isReady && $0.podCIDR != nil }
            }
        }
    }
}

/// Polls `condition` every 20 ms until it holds, or fails saying what it waited for.
func poll(until deadline: Date, what: String, _ condition: () async throws -> Bool) async throws {
    while Date() < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    throw CLIError("timed out waiting for \(what)")
}

extension StepReporter {
    func step<T>(_ title: String, _ body: () async throws -> T) async throws -> T {
        do {
            let result = try await body()
            say(" ✓ \(title)")
            return result
        } catch {
            say(" ✗ \(title)")
            throw error
        }
    }
}

/// The topology of an existing cluster, from its saved config.
func loadCluster(_ name: String) throws -> (ClusterConfig, ClusterTopology) {
    let state = ClusterState(cluster: name)
    guard state.exists else { throw CLIError("unknown cluster \"\(name)\"; `kindling get clusters` lists them") }
    let config = try state.load()
    return (config, ClusterTopology(config))
}

/// A client of a running cluster's API.
func apiClient(_ cluster: String) throws -> APIClient {
    _ = try loadCluster(cluster)
    let socket = ClusterProcesses(cluster: cluster).socketPath
    guard FileManager.default.fileExists(atPath: socket) else {
        throw CLIError("the API server of cluster \"\(cluster)\" is not running (no socket at \(socket))")
    }
    return APIClient(socketPath: socket)
}


/// A TCP port on 127.0.0.1 for the API's TLS endpoint.
enum LoopbackPort {
    /// Checks that `port` is free (or finds a free one when nil) by binding to it.
    static func reserve(_ port: Int?) throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw CLIError("cannot open a socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port ?? 0).bigEndian)
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw -> Int32 in
                guard bind(fd, raw, length) == 0 else { return -1 }
                return getsockname(fd, raw, &length)
            }
        }
        guard bound == 0 else {
            throw CLIError("networking.apiServerPort: 127.0.0.1:\(port ?? 0) is already in use (by another cluster or program)")
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
