import Foundation
import KindlingAddresses
import KindlingAPI
import KindlingClient
import KindlingNet
import KindlingProxy
import Logging

/// `kindling agent`: one per node, running inside the node's network namespace. Registers its Node and
/// keeps its status, keeps routes to the other nodes' pod CIDRs, runs the pods bound to the node and
/// programs the node's service proxy. Each job is its own loop.
public struct Agent: Sendable {
    public let cluster: String
    public let nodeName: String
    public let labels: [String: String]
    /// The taints the Node is registered with (kubelet's `--register-with-taints`).
    public let taints: [Node.Taint]
    public let client: APIClient
    public let logger: Logger
    /// How to run kindling's own images (agnhost, the cluster DNS).
    public let programs: ImageCatalog.Programs
    public let config: ClusterConfig

    /// On the control-plane node: the API server's TLS socket, which the node's port 6443 is forwarded to.
    public let apiSocket: String?

    public init(config: ClusterConfig, nodeName: String, labels: [String: String], taints: [Node.Taint] = [], client: APIClient,
                programs: ImageCatalog.Programs, apiSocket: String? = nil) {
        self.taints = taints
        self.apiSocket = apiSocket
        self.cluster = config.name
        self.config = config
        self.programs = programs
        self.nodeName = nodeName
        self.labels = labels
        self.client = client
        var logger = Logger(label: "kindling.agent.\(nodeName)")
        logger.logLevel = .info
        self.logger = logger
    }

    public func run() async throws {
        // A container's input whose reader went must fail a write, not end the agent.
        signal(SIGPIPE, SIG_IGN)
        guard let address = try NamespaceThread.shared.run(in: nil, { try RouteSocket().addresses(device: "eth0") }).first else {
            throw AgentError("node \(nodeName) has no address on eth0")
        }
        // One watch per kind for the whole agent, shared by the loops that need it.
        let nodes = SharedInformer(Informer<Node>(client: client))
        let services = SharedInformer(Informer<Service>(client: client))
        let slices = SharedInformer(Informer<EndpointSlice>(client: client))
        let status = NodeStatusLoop(nodeName: nodeName, labels: labels, taints: taints, address: address.address, client: client, logger: logger)
        let routes = RouteSyncLoop(nodeName: nodeName, serviceSubnet: config.serviceSubnet, nodes: nodes, logger: logger)
        let pods = PodRuntime(cluster: cluster, nodeName: nodeName, nodeIP: address.address, client: client, logger: logger, programs: programs,
                              clusterDNS: config.clusterDNSIP, services: services)
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await nodes.run() }
            group.addTask { await services.run() }
            group.addTask { await slices.run() }
            group.addTask { await status.run() }
            group.addTask { await routes.run() }
            group.addTask { await pods.run() }
            if let apiSocket {
                let forwarder = APIForwarder(address: address.address, port: 6443, socketPath: apiSocket, logger: logger)
                group.addTask { await forwarder.run() }
            }
            let node = ProxyRules.Node(clusterCIDR: config.podSubnet)
            let backend: (any ProxyBackend)? = switch config.kubeProxyMode {
            case .nftables: NftablesBackend(node: node)
            case .iptables: IptablesBackend(node: node, workDirectory: ClusterNames(cluster: cluster).runDirectory() + "/proxy/\(nodeName)")
            case .none: nil
            }
            if let backend {
                let proxy = ProxyLoop(nodeName: nodeName, backend: backend, services: services, slices: slices, logger: logger)
                group.addTask { await proxy.run() }
            }
            let policy = PolicyLoop(nodeName: nodeName, client: client, logger: logger)
            group.addTask { await policy.run() }
            let speaker = LoadBalancerSpeaker(nodeName: nodeName, pool: config.loadBalancerIPs, services: services, nodes: nodes,
                                              slices: slices, logger: logger)
            group.addTask { await speaker.run() }
        }
    }
}

public struct AgentError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
