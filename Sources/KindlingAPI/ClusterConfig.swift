import KindlingAddresses

/// A cluster as kind's `Cluster` config (kind.x-k8s.io/v1alpha4) describes it, reduced to what kindling builds.
/// Produced only by `ClusterConfig.parse`, so every value here has been validated.
public struct ClusterConfig: Hashable, Sendable, Codable {
    public enum NodeRole: String, Hashable, Sendable, CaseIterable, Codable {
        case controlPlane = "control-plane"
        case worker
    }

    public struct Node: Hashable, Sendable, Codable {
        public var role: NodeRole
        public var labels: [String: String]

        public init(role: NodeRole, labels: [String: String] = [:]) {
            self.role = role
            self.labels = labels
        }
    }

    /// kind's `networking.kubeProxyMode`. `none` leaves services to the user's own proxy, as in kind.
    public enum ProxyMode: String, Hashable, Sendable, CaseIterable, Codable {
        case nftables, iptables, none
    }

    public var name: String
    public var nodes: [Node]
    public var podSubnet: IPv4CIDR
    public var serviceSubnet: IPv4CIDR
    public var kubeProxyMode: ProxyMode
    /// LoadBalancer IPs, on the node network (kindling's own field; kind leaves this to cloud-provider-kind).
    /// Optional only so configs saved before it existed still load.
    public var loadBalancerPool: IPv4Range?
    public var loadBalancerIPs: IPv4Range { loadBalancerPool ?? ClusterConfig.defaultLoadBalancerPool }
    /// The cluster DNS service's address: the service subnet's tenth, as kubeadm sets it.
    public var clusterDNSIP: IPv4Address { ClusterConfig.clusterDNSIP(in: serviceSubnet) }
    public static func clusterDNSIP(in serviceSubnet: IPv4CIDR) -> IPv4Address { serviceSubnet.network.advanced(by: 10) }
    /// The cluster domain pods search and the DNS serves.
    public static let clusterDomain = "cluster.local"
    /// The API server's TLS port on 127.0.0.1; nil picks a free one, as kind does.
    public var apiServerPort: Int?
    /// Fields that kind knows and kindling accepts but does not act on, each with why.
    public var warnings: [String]

    public static let defaultName = "kindling"
    public static let defaultPodSubnet = IPv4CIDR("10.244.0.0/16")!
    public static let defaultServiceSubnet = IPv4CIDR("10.96.0.0/16")!
    public static let defaultLoadBalancerPool = IPv4Range("172.18.255.200-172.18.255.250")!
    /// kind's docker network; here the subnet of the cluster's own underlay bridge.
    public static let nodeSubnet = IPv4CIDR("172.18.0.0/16")!
    /// Each node gets one /24 of the pod subnet, as kube-controller-manager does by default.
    public static let nodePodCIDRPrefixLength = 24

    public init(
        name: String = ClusterConfig.defaultName,
        nodes: [Node] = [Node(role: .controlPlane)],
        podSubnet: IPv4CIDR = ClusterConfig.defaultPodSubnet,
        serviceSubnet: IPv4CIDR = ClusterConfig.defaultServiceSubnet,
        kubeProxyMode: ProxyMode = .nftables,
        apiServerPort: Int? = nil,
        warnings: [String] = []
    ) {
        self.name = name
        self.nodes = nodes
        self.podSubnet = podSubnet
        self.serviceSubnet = serviceSubnet
        self.kubeProxyMode = kubeProxyMode
        self.apiServerPort = apiServerPort
        self.warnings = warnings
    }

    /// Node names exactly as kind gives them: `<cluster>-control-plane`, `-control-plane2`, `<cluster>-worker`, `-worker2`...
    public var nodeNames: [String] {
        var seen: [NodeRole: Int] = [:]
        return nodes.map { node in
            let n = seen[node.role, default: 0] + 1
            seen[node.role] = n
            return "\(name)-\(node.role.rawValue)\(n == 1 ? "" : String(n))"
        }
    }
}
