import KindlingAddresses
import KindlingAPI
@testable import KindlingAgent
import KindlingNet
import Testing

/// The agent's route sync against a model of the routing table: routes to the other nodes' pod CIDRs follow
/// the nodes, a route taken out by hand comes back on the next sync, and nothing kindling does not own moves.
@Suite struct RouteSyncTests {
    static let serviceSubnet = IPv4CIDR("10.96.0.0/16")!

    static func node(_ name: String, _ ip: String?, _ cidr: String?) -> Node {
        var node = Node(name: name)
        node.spec = .init(podCIDR: cidr)
        var status = Node.Status()
        status.addresses = ip.map { [.init(type: "InternalIP", address: $0)] }
        node.status = status
        return node
    }

    static let nodes = [
        node("control-plane", "172.18.0.2", "10.244.0.0/24"), node("worker", "172.18.0.3", "10.244.1.0/24"),
        node("worker2", "172.18.0.4", "10.244.2.0/24"), node("joining", "172.18.0.5", nil),
    ]

    /// The worker's table: eth0 on the underlay, its pods' bridge, one pod's route of the pod-link owner.
    static func table() -> FakeRouteTable {
        let table = FakeRouteTable(links: ["eth0": [IPv4Interface(IPv4Address("172.18.0.3")!, prefixLength: 16)], "lo": []])
        table.add(Route(destination: IPv4CIDR("10.244.1.2/32")!, device: "lo"), owner: .podLinks)
        return table
    }

    static func sync(_ nodes: [Node], _ table: FakeRouteTable) throws -> RouteChanges {
        try RouteSyncLoop.sync(nodes, this: "worker", serviceSubnet: serviceSubnet, table: table)
    }

    static func route(_ destination: String, via gateway: String? = nil) -> Route {
        Route(destination: IPv4CIDR(destination)!, gateway: gateway.map { IPv4Address($0)! }, device: "eth0")
    }

    @Test func routesFollowTheNodes() throws {
        let table = Self.table()
        let others = [Self.route("10.244.0.0/24", via: "172.18.0.2"), Self.route("10.244.2.0/24", via: "172.18.0.4")]
        #expect(try Self.sync(Self.nodes, table).add == (others + [Self.route("10.96.0.0/16")]).sorted())
        #expect(try Self.sync(Self.nodes, table).isEmpty)
        // A node moved to another address: its route is replaced, not doubled.
        var moved = Self.nodes
        moved[2] = Self.node("worker2", "172.18.0.9", "10.244.2.0/24")
        #expect(try Self.sync(moved, table) == RouteChanges(add: [Self.route("10.244.2.0/24", via: "172.18.0.9")]))
        // A node gone: its route goes; the kernel's and the pod links' routes stay.
        #expect(try Self.sync(Array(moved.prefix(2)), table) == RouteChanges(delete: [Self.route("10.244.2.0/24", via: "172.18.0.9")]))
        #expect(table.all == [
            Route(destination: IPv4CIDR("10.244.0.0/24")!, gateway: IPv4Address("172.18.0.2"), device: "eth0"),
            Route(destination: IPv4CIDR("10.244.1.2/32")!, device: "lo"),
            Route(destination: IPv4CIDR("10.96.0.0/16")!, device: "eth0"),
            Route(destination: IPv4CIDR("172.18.0.0/16")!, device: "eth0"),
        ])
    }

    @Test func aRouteRemovedByHandComesBackOnTheNextSync() throws {
        let table = Self.table()
        _ = try Self.sync(Self.nodes, table)
        table.remove(IPv4CIDR("10.244.0.0/24")!)
        #expect(try Self.sync(Self.nodes, table) == RouteChanges(add: [Self.route("10.244.0.0/24", via: "172.18.0.2")]))
        // One put there by hand to a kindling destination is replaced by kindling's.
        table.add(Self.route("10.244.2.0/24", via: "172.18.0.7"), owner: nil)
        #expect(try Self.sync(Self.nodes, table) == RouteChanges(add: [Self.route("10.244.2.0/24", via: "172.18.0.4")]))
    }

    @Test func whatTheKernelRefusesFailsTheSync() throws {
        let table = Self.table()
        // A gateway off the underlay's subnet: the kernel has no route to it.
        let stray = [Self.node("worker", "172.18.0.3", "10.244.1.0/24"), Self.node("far", "192.0.2.1", "10.244.5.0/24")]
        let error = #expect(throws: NetlinkError.self) { try Self.sync(stray, table) }
        #expect(error?.operation == "replace route 10.244.5.0/24 via 192.0.2.1 dev eth0")
        // Without its device, a node's routes are gone with it, and a sync says so by failing until it is back.
        table.removeLink("eth0")
        #expect(try table.ownedRoutes(.nodeRoutes).isEmpty)
        #expect(throws: NetlinkError.self) { try Self.sync(Self.nodes, table) }
    }
}
