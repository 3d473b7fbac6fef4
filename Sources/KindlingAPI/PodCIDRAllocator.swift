import KindlingAddresses

/// Node IPAM: the lowest /24 of the pod subnet that no node has yet, as kube-controller-manager's
/// range allocator hands them out (the first node gets 10.244.0.0/24).
public enum PodCIDRAllocator {
    /// The /24 a node of the cluster config gets when it is free: its position in the config, so the
    /// control plane has 10.244.0.0/24 and the workers .1, .2, ... as in kind, whichever agent registers first.
    public static func preferred(for node: String, in config: ClusterConfig) -> IPv4CIDR? {
        guard let index = config.nodeNames.firstIndex(of: node) else { return nil }
        return config.podSubnet.subnet(index, prefixLength: ClusterConfig.nodePodCIDRPrefixLength)
    }

    public static func next(in subnet: IPv4CIDR, used: Set<IPv4CIDR>,
                            prefixLength: Int = ClusterConfig.nodePodCIDRPrefixLength) -> IPv4CIDR? {
        guard prefixLength >= subnet.prefixLength else { return nil }
        let count = 1 << (prefixLength - subnet.prefixLength)
        for index in 0..<count {
            guard let candidate = subnet.subnet(index, prefixLength: prefixLength) else { return nil }
            if !used.contains(where: { $0.overlaps(candidate) }) { return candidate }
        }
        return nil
    }
}
