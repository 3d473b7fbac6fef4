import Foundation
import KindlingAPI
import KindlingClient
import KindlingNet
import Logging

/// Keeps `<other node's podCIDR> via <other node's IP> dev eth0` for every other node with both, plus
/// `<service subnet> dev eth0`, and nothing else of its own: added and removed as nodes come and go, drift
/// repaired at every resync.
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

    func run() async {
        for await nodes in await self.nodes.subscribe() {
            let desired = RouteSyncLoop.desiredRoutes(nodes: Array(nodes.values), this: nodeName, serviceSubnet: serviceSubnet)
            do {
                let changes = try await NamespaceThread.shared.perform(in: nil) { try RouteSocket().reconcileRoutes(desired, owner: .nodeRoutes) }
                for route in changes.add { logger.info("route added: \(route)") }
                for route in changes.delete { logger.info("route removed: \(route)") }
            } catch {
                logger.error("route sync: \(error)")
            }
        }
    }
}
