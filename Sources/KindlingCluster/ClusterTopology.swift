import KindlingAddresses
import KindlingAPI
import KindlingNet

/// The machines and wires of one cluster, computed from its config: which namespaces exist, which node has
/// which address, which link joins it to the underlay bridge. Pure, so it is the same at create and delete.
public struct ClusterTopology: Hashable, Sendable {
    public struct Node: Hashable, Sendable {
        public let name: String
        public let role: ClusterConfig.NodeRole
        public let labels: [String: String]
        public let netns: NetNamespace
        /// The node's address on the underlay (its `eth0`), as `kubectl get nodes -o wide` shows it.
        public let address: IPv4Interface
        /// The node's link's end inside the underlay namespace, a port of the bridge.
        public let underlayPort: String
    }

    public let names: ClusterNames
    public let underlay: NetNamespace
    public let nodes: [Node]
    /// A client outside the cluster, on the node network: it reaches node IPs (and LoadBalancer IPs) only.
    public let external: NetNamespace
    public let externalAddress: IPv4Interface

    public init(_ config: ClusterConfig) {
        names = ClusterNames(cluster: config.name)
        underlay = NetNamespace(names.underlayNetns)
        let subnet = ClusterConfig.nodeSubnet
        external = NetNamespace(names.externalNetns)
        // The top of the node network, above the nodes and the LoadBalancer pool.
        externalAddress = IPv4Interface(subnet.network.advanced(by: Int(subnet.size) - 2), prefixLength: subnet.prefixLength)
        nodes = zip(config.nodes, config.nodeNames).enumerated().map { index, pair in
            let (node, name) = pair
            // .1 is kept for the gateway a host-access opt-in would add; nodes start at .2, as in kind.
            let address = subnet.network.advanced(by: 2 + index)
            return Node(name: name, role: node.role, labels: node.labels,
                        netns: NetNamespace(ClusterNames(cluster: config.name).nodeNetns(node: name)),
                        address: IPv4Interface(address, prefixLength: subnet.prefixLength),
                        underlayPort: ClusterNames.underlayPort(nodeIndex: index))
        }
    }

    public func node(named name: String) -> Node? { nodes.first { $0.name == name } }

    /// The taints a node registers with: a control-plane node's when the cluster has workers, as kind keeps
    /// kubeadm's (it removes it only from a cluster of one node), so user pods go to the workers.
    public func registrationTaints(of node: Node) -> [KindlingAPI.Node.Taint] {
        node.role == .controlPlane && nodes.contains { $0.role == .worker } ? [.controlPlane] : []
    }
}
