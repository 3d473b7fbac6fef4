import Foundation
import KindlingAddresses
import KindlingAPI
import KindlingClient
import KindlingNet
import KindlingReconcile
import Logging

/// MetalLB's layer-2 mode: for each LoadBalancer IP, exactly one node answers ARP on the node network.
/// Agents agree on it without talking: among the eligible nodes, the one with the lowest FNV-1a hash of
/// "<node>#<ip>". Eligible: Ready, not labelled to be excluded from external load balancers (unless no
/// node is left), and for externalTrafficPolicy Local, running a ready endpoint. The chosen node puts the
/// IP on its eth0 as a /32, so the kernel answers ARP for it, and announces it with a gratuitous ARP so
/// clients' caches move at once; every other node removes it. The proxy's rules do the rest.
struct LoadBalancerSpeaker: Sendable {
    let nodeName: String
    let pool: IPv4Range
    let services: SharedInformer<Service>
    let nodes: SharedInformer<Node>
    let slices: SharedInformer<EndpointSlice>
    let logger: Logger

    static let excludeLabel = "node.kubernetes.io/exclude-from-external-load-balancers"

    /// The LoadBalancer IPs `nodeName` should answer for. Pure.
    static func announced(services: [Service], nodes: [Node], slices: [EndpointSlice], by nodeName: String, pool: IPv4Range) -> Set<IPv4Address> {
        let ready = nodes.filter(\.isReady)
        let included = ready.filter { $0.metadata.labels?[excludeLabel] == nil }
        let candidates = (included.isEmpty ? ready : included).map(\.name)
        var result = Set<IPv4Address>()
        for service in services where service.type == "LoadBalancer" {
            var eligible = candidates
            if service.spec.externalTrafficPolicy == "Local" {
                let withEndpoints = Set(slices.filter {
                    $0.namespace == service.namespace && $0.metadata.labels?[EndpointSlice.serviceNameLabel] == service.name
                }.flatMap { $0.endpoints ?? [] }.filter { $0.conditions?.ready ?? true }.compactMap(\.nodeName))
                eligible = eligible.filter(withEndpoints.contains)
            }
            for ingress in service.status?.loadBalancer?.ingress ?? [] {
                guard let ip = ingress.ip.flatMap({ IPv4Address($0) }), pool.contains(ip),
                      let winner = eligible.min(by: { rank($0, ip) < rank($1, ip) }), winner == nodeName else { continue }
                result.insert(ip)
            }
        }
        return result
    }

    static func rank(_ node: String, _ ip: IPv4Address) -> (UInt32, String) {
        (FNV1a.hash32("\(node)#\(ip)".utf8), node)
    }

    func run() async {
        let loop = ReconcileLoop("loadbalancer", sources: [.shared(services), .shared(nodes), .shared(slices)],
                                 repair: .every(.seconds(2)), logger: logger)
        // Slices and nodes change far more often than who answers for an address: the kernel is only asked
        // when the answer changed, or for the repair every 2 s (each look opens and closes a netlink socket on
        // the namespace thread that also builds pods).
        let checked = Checked()
        await loop.run { snapshot in
            let desired = LoadBalancerSpeaker.announced(services: Array(snapshot.objects(Service.self).values),
                                                        nodes: Array(snapshot.objects(Node.self).values),
                                                        slices: Array(snapshot.objects(EndpointSlice.self).values), by: nodeName, pool: pool)
            guard await checked.needed(desired, full: snapshot.full) else { return }
            try await reconcile(desired)
            await checked.set(desired)
        }
    }

    /// The set of addresses the kernel was last made to hold.
    actor Checked {
        var desired: Set<IPv4Address>?
        func needed(_ desired: Set<IPv4Address>, full: Bool) -> Bool {
            guard full || desired != self.desired else { return false }
            self.desired = nil  // until the kernel holds it
            return true
        }
        func set(_ desired: Set<IPv4Address>) { self.desired = desired }
    }

    /// Makes the kernel hold exactly `desired`.
    func reconcile(_ desired: Set<IPv4Address>) async throws {
        let pool = self.pool
        let (added, removed) = try await NamespaceThread.shared.perform(in: nil) { () throws -> ([IPv4Address], [IPv4Address]) in
            let socket = try RouteSocket()
            let actual = Set(try socket.addresses(device: ClusterNames.nodeUplink)
                .filter { $0.prefixLength == 32 && pool.contains($0.address) }.map(\.address))
            let added = desired.subtracting(actual).sorted(), removed = actual.subtracting(desired).sorted()
            for ip in added { try socket.addAddress(IPv4Interface(ip, prefixLength: 32), device: ClusterNames.nodeUplink, prefixRoute: false) }
            for ip in removed { try socket.deleteAddress(IPv4Interface(ip, prefixLength: 32), device: ClusterNames.nodeUplink) }
            return (added, removed)
        }
        for ip in added {
            logger.info("loadbalancer: announcing \(ip)")
            await Tool.run(["/usr/bin/arping", "-U", "-c", "2", "-w", "1", "-I", ClusterNames.nodeUplink, ip.description])
        }
        for ip in removed { logger.info("loadbalancer: no longer announcing \(ip)") }
    }
}
