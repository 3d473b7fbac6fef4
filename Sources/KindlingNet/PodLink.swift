import KindlingAddresses

/// How one pod is wired to its node: routed, not bridged, as kindnet's ptp plugin does it.
///
///     pod netns:  eth0 10.244.1.5/24 (no prefix route)      node netns:  vethXXXXXXXX 10.244.1.1/32
///                 10.244.1.1 dev eth0 scope link                         10.244.1.5 dev vethXXXXXXXX scope link
///                 default via 10.244.1.1 dev eth0
///
/// Every pod's host end carries the same gateway address (.1 of the node's pod CIDR), which the node answers
/// ARP for; the node routes each pod by its /32, so pods on one node also talk through the node.
public struct PodLink: Hashable, Sendable {
    public let pod: NetNamespace
    /// The node's end of the veth pair (at most 15 bytes).
    public let hostDevice: String
    public let address: IPv4Address
    /// The node's pod CIDR, which `address` is from.
    public let podCIDR: IPv4CIDR

    public static let podDevice = "eth0"

    public init(pod: NetNamespace, hostDevice: String, address: IPv4Address, podCIDR: IPv4CIDR) {
        precondition(hostDevice.utf8.count <= 15, "interface names are at most 15 bytes")
        self.pod = pod
        self.hostDevice = hostDevice
        self.address = address
        self.podCIDR = podCIDR
    }

    /// The pods' next hop: the first address of the node's pod CIDR, held by every host-side veth.
    public var gateway: IPv4Address { podCIDR.network.advanced(by: 1) }

    /// The node-side route to this pod.
    public var hostRoute: Route {
        Route(destination: IPv4CIDR(containing: address, prefixLength: 32), device: hostDevice, scope: .link)
    }

    /// The routes inside the pod.
    public var podRoutes: Set<Route> {
        [Route(destination: IPv4CIDR(containing: gateway, prefixLength: 32), device: PodLink.podDevice, scope: .link),
         Route(destination: IPv4CIDR("0.0.0.0/0")!, gateway: gateway, device: PodLink.podDevice)]
    }

    /// Wires the pod to the node. `node` is a socket of the node's namespace; runs two namespace jobs
    /// (node side, then pod side), so call it from outside any job. A link left over from an earlier try
    /// is replaced.
    public func attach(node: NetNamespace) throws {
        try node.run { socket in
            try socket.deleteLink(hostDevice)
            try socket.addVeth(hostDevice, peer: PodLink.podDevice, peerNamespace: pod)
            try socket.addAddress(IPv4Interface(gateway, prefixLength: 32), device: hostDevice)
            try socket.setUp(hostDevice)
            try socket.replaceRoute(hostRoute, owner: .podLinks)
        }
        try pod.run { socket in
            try socket.addAddress(IPv4Interface(address, prefixLength: podCIDR.prefixLength),
                                  device: PodLink.podDevice, prefixRoute: false)
            try socket.setUp(PodLink.podDevice)
            try socket.reconcileRoutes(podRoutes, owner: .podLinks)
        }
    }

    /// Removes the node's end (the kernel removes the pod's end with it) and the node's route to the pod.
    public func detach(node: NetNamespace) throws {
        try node.run { socket in
            try socket.deleteLink(hostDevice)
            try socket.deleteRoute(hostRoute, owner: .podLinks)
        }
    }
}
