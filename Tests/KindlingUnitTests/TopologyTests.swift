import KindlingAddresses
import KindlingAPI
import KindlingCluster
import KindlingNet
import Testing

@Suite struct TopologyTests {
    @Test func nodesGetKindsAddressesAndPrefixedNamespaces() throws {
        let config = try ClusterConfig.parse(yaml: ClusterConfigTests.seed002, name: "dev")
        let topology = ClusterTopology(config)
        #expect(topology.underlay.name == "kl-dev.net")
        #expect(topology.nodes.map(\.netns.name) == ["kl-dev.control-plane", "kl-dev.worker", "kl-dev.worker2"])
        #expect(topology.nodes.map(\.address.description) == ["172.18.0.2/16", "172.18.0.3/16", "172.18.0.4/16"])
        #expect(topology.nodes.map(\.underlayPort) == ["node0", "node1", "node2"])
        #expect(topology.nodes.allSatisfy { $0.netns.name.hasPrefix(topology.names.netnsPrefix) })
    }

    /// Cluster `a`'s prefix must never match cluster `a-b`'s objects.
    @Test func prefixesOfSimilarClustersDoNotOverlap() {
        let a = ClusterNames(cluster: "a"), ab = ClusterNames(cluster: "a-b")
        #expect(!ab.underlayNetns.hasPrefix(a.netnsPrefix))
        #expect(!ab.nodeNetns(node: "a-b-worker").hasPrefix(a.netnsPrefix))
    }
}

@Suite struct RouteChangesTests {
    let eth0 = "eth0"
    func route(_ cidr: String, via gateway: String) -> Route {
        Route(destination: IPv4CIDR(cidr)!, gateway: IPv4Address(gateway)!, device: eth0)
    }

    @Test func addsMissingDeletesOrphansReplacesChanged() {
        let desired: Set<Route> = [route("10.244.1.0/24", via: "172.18.0.3"), route("10.244.2.0/24", via: "172.18.0.4")]
        let actual: Set<Route> = [route("10.244.2.0/24", via: "172.18.0.9"), route("10.244.3.0/24", via: "172.18.0.5")]
        let changes = RouteChanges(desired: desired, actual: actual)
        #expect(changes.add == [route("10.244.1.0/24", via: "172.18.0.3"), route("10.244.2.0/24", via: "172.18.0.4")])
        // 10.244.2.0/24 is replaced by its add, not deleted first (no moment without a route).
        #expect(changes.delete == [route("10.244.3.0/24", via: "172.18.0.5")])
    }

    @Test func nothingToDoWhenEqual() {
        let routes: Set<Route> = [route("10.244.1.0/24", via: "172.18.0.3")]
        #expect(RouteChanges(desired: routes, actual: routes).isEmpty)
    }

    @Test func podLinkRoutes() {
        let link = PodLink(pod: NetNamespace("kl-x.pod"), hostDevice: "veth12345678",
                           address: IPv4Address("10.244.1.5")!, podCIDR: IPv4CIDR("10.244.1.0/24")!)
        #expect(link.gateway.description == "10.244.1.1")
        #expect(link.hostRoute.description == "10.244.1.5/32 dev veth12345678 scope link")
        #expect(link.podRoutes.sorted().map(\.description) == ["10.244.1.1/32 dev eth0 scope link", "default via 10.244.1.1 dev eth0"])
    }
}
