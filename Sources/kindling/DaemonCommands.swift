import ArgumentParser
import Foundation
import KindlingAgent
import KindlingAPI
import KindlingClient
import KindlingCluster
import KindlingServer
import Hummingbird
import Metrics
import NIOCore
import Prometheus

struct ServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "server",
        abstract: "Runs a cluster's control plane: API server, store and controllers (started by the supervisor).",
        discussion: "Serves the Kubernetes REST API on /run/kindling/<cluster>/api.sock and, with TLS and the cluster's bearer token, on 127.0.0.1:<apiServerPort>; the store is /var/lib/kindling/<cluster>/store.sqlite.",
        shouldDisplay: false
    )

    @OptionGroup var cluster: ClusterOption

    func run() async throws {
        try await reportingErrors("server") {
            let (config, topology) = try loadCluster(cluster.name)
            let processes = ClusterProcesses(cluster: cluster.name)
            try FileManager.default.createDirectory(atPath: processes.runDirectory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
            let credentials = try ServerCredentials.load(ServerCredentials.Files(stateDirectory: processes.stateDirectory))
            let tls = config.apiServerPort.map { HTTPServer.TLSListener(port: $0, credentials: credentials, socketPath: processes.tlsSocketPath) }
            let controlPlane = ControlPlane(config: config, storePath: processes.storePath, socketPath: processes.socketPath, tls: tls,
                                            nodeMonitorGracePeriod: NodeTiming.gracePeriod(),
                                            podEvictionTimeout: NodeTiming.evictionTimeout(), metrics: MetricsExport.bootstrap(),
                                            limit: InFlightLimit(environment: ProcessInfo.processInfo.environment),
                                            advertiseAddress: topology.nodes.first { $0.role == .controlPlane }?.address.address)
            try await controlPlane.run { printError("serving on \(processes.socketPath)") }
        }
    }
}

struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Runs one node's agent inside the node's network namespace (started by the supervisor).",
        shouldDisplay: false
    )

    @OptionGroup var cluster: ClusterOption

    @Option(name: .long, help: "The node this agent runs.")
    var node: String

    /// kube-proxy's metrics port; the agent serves /metrics and /healthz on it, on the node's addresses.
    static let metricsPort = 10249

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
            let metrics = MetricsExport.bootstrap()
            let agent = Agent(config: config, nodeName: node, labels: labels, taints: topology.registrationTaints(of: me), client: client, programs: .init(
                agnhost: [ClusterProcesses.executable, "agnhost"],
                clusterDNS: [ClusterProcesses.executable, "dns", "--name", cluster.name, "--domain", ClusterConfig.clusterDomain],
                ingressController: [ClusterProcesses.executable, "ingress-controller", "--name", cluster.name]),
                apiSocket: me.role == .controlPlane && me.name == topology.nodes.first { $0.role == .controlPlane }?.name
                    ? ClusterProcesses(cluster: cluster.name).tlsSocketPath : nil)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await agent.run() }
                group.addTask { try await MetricsExport.serve(metrics, port: AgentCommand.metricsPort) }
                try await group.next()
                group.cancelAll()
            }
        }
    }
}

struct SuperviseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "supervise",
        abstract: "Keeps a cluster's server and agents running (started by `create cluster`, stopped by `delete cluster`).",
        shouldDisplay: false
    )

    @OptionGroup var cluster: ClusterOption

    func run() throws {
        let (config, _) = try loadCluster(cluster.name)
        var supervisor = Supervisor(config: config, processes: ClusterProcesses(cluster: cluster.name))
        try supervisor.run()
    }
}

/// A daemon's metrics: swift-metrics bootstrapped onto one Prometheus registry per process, with
/// kube-proxy's histogram buckets for durations (1 ms doubling to 16 s).
enum MetricsExport {
    static func bootstrap() -> @Sendable () -> String {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = (0..<15).map { .microseconds(1000 << $0) }
        MetricsSystem.bootstrap(factory)
        return { registry.emitToString() }
    }

    /// Serves GET /metrics and /healthz on every address of this process's network namespace.
    static func serve(_ metrics: @escaping @Sendable () -> String, port: Int) async throws {
        let router = Router()
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(string: metrics())))
        }
        router.get("/healthz") { _, _ in "ok" }
        try await Application(router: router, configuration: .init(address: .hostname("0.0.0.0", port: port), serverName: "kindling-agent"))
            .runService()
    }
}
