import KindlingAddresses
import KindlingAPI

/// Cluster IPs and node ports for Services, as kube-apiserver's allocators hand them out: explicit values are
/// honoured when free and in range, missing ones are picked at random from what is free, an update keeps
/// what the service had, and what a type change no longer needs is released. Pure, so every rule is unit-tested.
public struct ServiceAllocation: Sendable {
    public let serviceSubnet: IPv4CIDR
    public static let nodePortRange = 30000...32767

    public init(serviceSubnet: IPv4CIDR) { self.serviceSubnet = serviceSubnet }

    /// The first address belongs to the `kubernetes` service, the tenth to cluster DNS: taken only on request.
    public var kubernetesIP: IPv4Address { serviceSubnet.network.advanced(by: 1) }
    public var dnsIP: IPv4Address { ClusterConfig.clusterDNSIP(in: serviceSubnet) }

    /// `service` with its cluster IP and node ports filled in, given every other service in the cluster.
    public func allocate<R: RandomNumberGenerator>(_ service: Service, old: Service?, others: [Service],
                                                   using random: inout R) -> Result<Service, InvalidObjectError> {
        var service = service
        var errors: [FieldError] = []
        if service.type == "ExternalName" {
            service.spec.clusterIP = nil
            service.spec.clusterIPs = nil
            service.spec.ipFamilies = nil
            service.spec.ipFamilyPolicy = nil
            for index in (service.spec.ports ?? []).indices { service.spec.ports![index].nodePort = nil }
            return .success(service)
        }

        let usedIPs = Set(others.compactMap { $0.spec.clusterIP.flatMap { IPv4Address($0) } })
        let requested = service.spec.clusterIP ?? ""
        if requested == "None" {
            service.spec.clusterIPs = ["None"]
        } else if !requested.isEmpty, requested != old?.spec.clusterIP {
            if let ip = IPv4Address(requested) {
                if !serviceSubnet.contains(ip) || ip == serviceSubnet.network || ip == serviceSubnet.last {
                    errors.append(FieldError(.invalid, field: "spec.clusterIPs", value: "[]string{\"\(requested)\"}",
                        detail: "failed to allocate IP \(requested): the provided IP (\(requested)) is not in the valid range. The range of valid IPs is \(serviceSubnet)"))
                } else if usedIPs.contains(ip) {
                    errors.append(FieldError(.invalid, field: "spec.clusterIPs", value: "[]string{\"\(requested)\"}",
                        detail: "failed to allocate IP \(requested): provided IP is already allocated"))
                }
            }
        } else if requested.isEmpty {
            if let kept = old?.spec.clusterIP, !kept.isEmpty, kept != "None" {
                service.spec.clusterIP = kept
            } else if let ip = freeIP(used: usedIPs, using: &random) {
                service.spec.clusterIP = ip.description
            } else {
                errors.append(FieldError(.invalid, field: "spec.clusterIPs", value: "[]string{}",
                    detail: "failed to allocate a serviceIP: range is full"))
            }
        }
        if let ip = service.spec.clusterIP { service.spec.clusterIPs = [ip] }

        var usedPorts = Set(others.flatMap { ($0.spec.ports ?? []).compactMap(\.nodePort) })
        for index in (service.spec.ports ?? []).indices {
            let port = service.spec.ports![index]
            guard service.hasNodePorts else {
                service.spec.ports![index].nodePort = nil
                continue
            }
            let path = "spec.ports[\(index)].nodePort"
            if let wanted = port.nodePort, wanted != 0 {
                let hadIt = old?.spec.ports?.contains { $0.nodePort == wanted } == true
                if !ServiceAllocation.nodePortRange.contains(wanted) {
                    errors.append(.invalid(path, wanted, "provided port is not in the valid range. The range of valid ports is 30000-32767"))
                } else if usedPorts.contains(wanted) && !hadIt {
                    errors.append(.invalid(path, wanted, "provided port is already allocated"))
                }
                usedPorts.insert(wanted)
            } else if let kept = old?.spec.ports?.first(where: { $0.port == port.port && ($0.protocol ?? "TCP") == (port.protocol ?? "TCP") })?.nodePort,
                      !usedPorts.contains(kept) {
                service.spec.ports![index].nodePort = kept
                usedPorts.insert(kept)
            } else if let free = freeNodePort(used: usedPorts, using: &random) {
                service.spec.ports![index].nodePort = free
                usedPorts.insert(free)
            } else {
                errors.append(.invalid(path, 0, "failed to allocate a nodePort: range is full"))
            }
        }
        if !service.hasNodePorts { service.spec.externalTrafficPolicy = nil }
        return errors.isEmpty ? .success(service) : .failure(InvalidObjectError(kind: "Service", name: service.name, errors: errors))
    }

    func freeIP<R: RandomNumberGenerator>(used: Set<IPv4Address>, using random: inout R) -> IPv4Address? {
        // The allocator's range is every address but the network's and the broadcast; the kubernetes and DNS
        // addresses are taken only on request.
        let size = serviceSubnet.size > 2 ? Int(serviceSubnet.size - 2) : 0
        let reserved: Set<IPv4Address> = [kubernetesIP, dnsIP]
        let band = ServiceAllocation.staticBand(size: size, step: 16, max: 256)
        return ServiceAllocation.freeIndex(size: size, band: band, using: &random) { index in
            guard let ip = serviceSubnet.address(at: UInt64(index + 1)) else { return false }
            return !used.contains(ip) && !reserved.contains(ip)
        }.flatMap { serviceSubnet.address(at: UInt64($0 + 1)) }
    }

    func freeNodePort<R: RandomNumberGenerator>(used: Set<Int>, using random: inout R) -> Int? {
        let range = ServiceAllocation.nodePortRange
        let band = ServiceAllocation.staticBand(size: range.count, step: 32, max: 128)
        return ServiceAllocation.freeIndex(size: range.count, band: band, using: &random) { !used.contains(range.lowerBound + $0) }
            .map { range.lowerBound + $0 }
    }

    /// The low end of a range that dynamic allocation leaves to explicit requests, as kube-apiserver's
    /// allocators keep it (KEP-3070 for cluster IPs, step 16 and at most 256; KEP-3668 for node ports, step 32
    /// and at most 128): size / step, at least 16, and none for a range smaller than 16. So a manifest's
    /// `nodePort: 30000` never meets a port some other service was given at random.
    static func staticBand(size: Int, step: Int, max: Int) -> Int {
        guard size >= 16 else { return 0 }
        return Swift.min(Swift.max(size / step, 16), max)
    }

    /// A free index of `0..<size`: from a random point of the upper part `band..<size` first, then of the band.
    static func freeIndex<R: RandomNumberGenerator>(size: Int, band: Int, using random: inout R, isFree: (Int) -> Bool) -> Int? {
        for part in [band..<size, 0..<band] where !part.isEmpty {
            let start = Int.random(in: part, using: &random)
            for step in 0..<part.count {
                let index = part.lowerBound + (start - part.lowerBound + step) % part.count
                if isFree(index) { return index }
            }
        }
        return nil
    }
}
