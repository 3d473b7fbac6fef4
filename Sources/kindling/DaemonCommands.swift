import ArgumentParser
import Foundation
import KindlingAgent
import KindlingAPI
import KindlingClient
import KindlingCluster
import KindlingServer

struct ServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "server",
        abstract: "Runs a cluster's control plane: API server, store and controllers (started by the supervisor).",
        discussion: "Serves the Kubernetes REST API on /run/kindling/<cluster>/api.sock and, with TLS and the cluster's bearer token, on 127.0.0.1:<apiServerPort>; the store is /var/lib/kindling/<cluster>/store.sqlite."
    )

    @OptionGroup var cluster: ClusterOption

    func run() async throws {
        try await reportingErrors("server") {
            let (config, _) = try loadCluster(cluster.name)
            let processes = ClusterProcesses(cluster: cluster.name)
            try FileManager.default.createDirectory(atPath: processes.runDirectory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
            let credentials = try ServerCredentials.load(ServerCredentials.Files(stateDirectory: processes.stateDirectory))
            let tls = config.apiServerPort.map { HTTPServer.TLSListener(port: $0, credentials: credentials) }
            let controlPlane = ControlPlane(config: config, storePath: processes.storePath, socketPath: processes.socketPath, tls: tls,
                                            nodeMonitorGracePeriod: NodeTiming.gracePeriod())
            try await controlPlane.run { printError("serving on \(processes.socketPath)") }
        }
    }
}

struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Runs one node's agent inside the node's network namespace (started by the supervisor)."
    )

    @OptionGroup var cluster: ClusterOption

    @Option(name: .long, help: "The node this agent runs.")
    var node: String

    func run() async throws {
        try await reportingErrors("agent") {
            let (config, topology) = try loadCluster(cluster.name)
            guard let me = topology.node(named: node) else { throw CLIError("nodes \"\(node)\" not found in the cluster config") }
            var labels = me.labels
            if me.role == .controlPlane {
                labels["node-role.kubernetes.io/control-plane"] = ""
                labels["node.kubernetes.io/exclude-from-external-load-balancers"] = ""
            }
            let client = APIClient(socketPath: ClusterProcesses(cluster: cluster.name).socketPath)
            try await Agent(config: config, nodeName: node, labels: labels, client: client,
                            agnhost: [ClusterProcesses.executable, "agnhost"]).run()
        }
    }
}

struct SuperviseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "supervise",
        abstract: "Keeps a cluster's server and agents running (started by `create cluster`, stopped by `delete cluster`)."
    )

    @OptionGroup var cluster: ClusterOption

    func run() throws {
        let (config, _) = try loadCluster(cluster.name)
        var supervisor = Supervisor(config: config, processes: ClusterProcesses(cluster: cluster.name))
        try supervisor.run()
    }
}
