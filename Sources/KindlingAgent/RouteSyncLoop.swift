import Foundation
import KindlingAddresses
import KindlingAPI
import KindlingClient
import KindlingNet
import KindlingReconcile
import Logging

/// Keeps `<other node's podCIDR> via <other node's IP> dev eth0` for every other node with both, plus
/// `<service subnet> dev eth0`, and nothing else of its own: added and removed as nodes come and go, through
/// the agents' `ReconcileLoop`; the routing table is read every second, so a route someone removed comes back.
///
/// The service route stands in for the default route a kind node has: a node's own connections to a cluster
/// IP need some route before the proxy's NAT rules can rewrite them, and nodes here have no default route
/// (nothing may lead towards the machine's uplink).
struct RouteSyncLoop: Sendable {
    let nodeName: String
    let serviceSubnet: IPv4CIDR
    let nodes: SharedInformer<Node>
    let logger: Logger

    /// The routes this node should have: a pure function of the nodes.
    static func desiredRoutes(nodes: [Node], this nodeName: String, serviceSubnet: IPv4CIDR) -> Set<Route> {
        Set(nodes.compactMap { node -> Route? in
            guard node.name != nodeName, let cidr = node.podCIDR, let ip = node.internalIP.flatMap({ IPv4Address($0) }) else { return nil }
            return Route(destination: cidr, gateway: ip, device: "eth0")
        } + [Route(destination: serviceSubnet, device: "eth0")])
    }

    /// One sync: this node's routes in `table` made exactly what the nodes call for; what it changed.
    static func sync(_ nodes: [Node], this nodeName: String, serviceSubnet: IPv4CIDR, table: any RouteTable) throws -> RouteChanges {
        try table.reconcileRoutes(desiredRoutes(nodes: nodes, this: nodeName, serviceSubnet: serviceSubnet), owner: .nodeRoutes)
    }

    func run() async {
        let loop = ReconcileLoop("routes", sources: [.shared(nodes)], repair: .every(.seconds(1)), logger: logger)
        await loop.run { [nodeName, serviceSubnet, logger] snapshot in
            let nodes = Array(snapshot.objects(Node.self).values)
            let changes = try await NamespaceThread.shared.perform(in: nil) {
                try RouteSyncLoop.sync(nodes, this: nodeName, serviceSubnet: serviceSubnet, table: try RouteSocket())
            }
            for route in changes.add { logger.info("route added: \(route)") }
            for route in changes.delete { logger.info("route removed: \(route)") }
        }
    }
}
