import Foundation
import KindlingAddresses
import KindlingAPI

/// Gives every LoadBalancer service an address from the cluster's pool (MetalLB's controller, or
/// cloud-provider-kind's job in kind): `spec.loadBalancerIP` when it is in the pool and free, else the
/// lowest free one, written to `status.loadBalancer.ingress`. Services that stop being LoadBalancers give
/// their address back. Which node answers for an address is the agents' business (LoadBalancerSpeaker).
struct LoadBalancerController: Controller {
    let name = "loadbalancer"
    let pool: IPv4Range

    func run(_ registry: Registry) async throws {
        try await reconcileOnChange(registry, watching: [Service.self]) {
            let services = try registry.list(Service.self).items
            for (key, ingress) in LoadBalancerController.assignments(services, pool: pool) {
                let parts = key.split(separator: "/", maxSplits: 1).map(String.init)
                try registry.modifyUnchecked(Service.self, namespace: parts[0], name: parts[1]) { service in
                    var service = service
                    var status = service.status ?? Service.Status()
                    status.loadBalancer = Service.Status.LoadBalancer(ingress: ingress.isEmpty ? nil : ingress)
                    guard status != service.status else { return nil }
                    service.status = status
                    return service
                }
            }
        }
    }

    /// For each service whose status is wrong, the ingress it should have (empty: none). Valid assignments
    /// are kept, so an address never moves between services; requested addresses are served before
    /// automatic ones; when the pool is used up a service stays pending. Pure.
    static func assignments(_ services: [Service], pool: IPv4Range) -> [String: [Service.Status.LoadBalancer.Ingress]] {
        func key(_ service: Service) -> String { "\(service.namespace)/\(service.name)" }
        func current(_ service: Service) -> [IPv4Address] {
            (service.status?.loadBalancer?.ingress ?? []).compactMap { $0.ip.flatMap { IPv4Address($0) } }
        }
        var result: [String: [Service.Status.LoadBalancer.Ingress]] = [:]
        func assign(_ service: Service, _ ip: IPv4Address?) {
            let wanted = ip.map { [IPv4Address]([$0]) } ?? []
            if current(service) != wanted || (service.status?.loadBalancer?.ingress ?? []).count != wanted.count {
                result[key(service)] = wanted.map { .init(ip: $0.description) }
            }
        }
        for service in services where service.type != "LoadBalancer" && !current(service).isEmpty { assign(service, nil) }

        let balanced = services.filter { $0.type == "LoadBalancer" && $0.metadata.deletionTimestamp == nil }
            .sorted { ($0.metadata.creationTimestamp ?? "", key($0)) < ($1.metadata.creationTimestamp ?? "", key($1)) }
        var used = Set<IPv4Address>()
        var waiting: [Service] = []
        for service in balanced {
            let requested = service.spec.loadBalancerIP.flatMap { IPv4Address($0) }
            if let ip = current(service).first, pool.contains(ip), requested == nil || requested == ip, used.insert(ip).inserted {
                assign(service, ip)
            } else {
                waiting.append(service)
            }
        }
        for service in waiting {
            guard let requested = service.spec.loadBalancerIP.flatMap({ IPv4Address($0) }) else { continue }
            assign(service, pool.contains(requested) && used.insert(requested).inserted ? requested : nil)
        }
        var candidates = pool.addresses.makeIterator()
        for service in waiting where service.spec.loadBalancerIP.flatMap({ IPv4Address($0) }) == nil {
            var next = candidates.next()
            while let ip = next, used.contains(ip) { next = candidates.next() }
            if let ip = next { used.insert(ip) }
            assign(service, next)
        }
        return result
    }
}
