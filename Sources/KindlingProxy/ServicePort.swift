import KindlingAddresses
import KindlingAPI

/// One port of one Service as a proxy sees it (kube-proxy's ServicePortInfo with its endpoints): the
/// addresses it answers on and the endpoints it forwards to, already resolved against EndpointSlices.
public struct ServicePort: Hashable, Sendable {
    public enum Proto: String, Hashable, Sendable, Comparable {
        case tcp, udp
        public static func < (a: Proto, b: Proto) -> Bool { a.rawValue < b.rawValue }
    }

    /// One address:port behind the service port, with the conditions the proxy decides by.
    public struct Endpoint: Hashable, Sendable, Comparable {
        public let ip: IPv4Address
        public let port: Int
        public let isLocal: Bool
        public let ready: Bool
        public let serving: Bool
        public let terminating: Bool

        public init(ip: IPv4Address, port: Int, isLocal: Bool, ready: Bool = true, serving: Bool = true, terminating: Bool = false) {
            self.ip = ip
            self.port = port
            self.isLocal = isLocal
            self.ready = ready
            self.serving = serving
            self.terminating = terminating
        }

        public static func < (a: Endpoint, b: Endpoint) -> Bool { (a.ip, a.port) < (b.ip, b.port) }
        public var description: String { "\(ip)/\(port)" }
    }

    public let namespace: String
    public let service: String
    /// The port's name; empty for a service's single unnamed port.
    public let portName: String
    public let proto: Proto
    public let clusterIP: IPv4Address
    public let port: Int
    public let nodePort: Int?
    /// LoadBalancer ingress IPs and spec.externalIPs: treated like node ports (external traffic).
    public let externalIPs: [IPv4Address]
    public let externalPolicyLocal: Bool
    public let internalPolicyLocal: Bool
    /// ClientIP session affinity's timeout, nil without affinity.
    public let affinitySeconds: Int?
    /// Sorted by address, so the rules do not change with the order slices list them in.
    public let endpoints: [Endpoint]

    public init(namespace: String, service: String, portName: String = "", proto: Proto = .tcp, clusterIP: IPv4Address,
                port: Int, nodePort: Int? = nil, externalIPs: [IPv4Address] = [], externalPolicyLocal: Bool = false,
                internalPolicyLocal: Bool = false, affinitySeconds: Int? = nil, endpoints: [Endpoint]) {
        self.namespace = namespace
        self.service = service
        self.portName = portName
        self.proto = proto
        self.clusterIP = clusterIP
        self.port = port
        self.nodePort = nodePort
        self.externalIPs = externalIPs
        self.externalPolicyLocal = externalPolicyLocal
        self.internalPolicyLocal = internalPolicyLocal
        self.affinitySeconds = affinitySeconds
        self.endpoints = endpoints.sorted()
    }

    /// The same port with other endpoints.
    public func with(endpoints: [Endpoint]) -> ServicePort {
        ServicePort(namespace: namespace, service: service, portName: portName, proto: proto, clusterIP: clusterIP, port: port,
                    nodePort: nodePort, externalIPs: externalIPs, externalPolicyLocal: externalPolicyLocal,
                    internalPolicyLocal: internalPolicyLocal, affinitySeconds: affinitySeconds, endpoints: endpoints)
    }

    /// `dev/nginx-service:http`, as kube-proxy names a service port in logs and iptables comments.
    public var name: String { "\(namespace)/\(service)\(portName.isEmpty ? "" : ":" + portName)" }

    public var hasExternal: Bool { nodePort != nil || !externalIPs.isEmpty }

    /// Endpoints for traffic from inside the cluster: ready ones, or while none is ready, the ones still
    /// serving while they terminate (kube-proxy's ProxyTerminatingEndpoints); only this node's with
    /// internalTrafficPolicy Local.
    public var clusterEndpoints: [Endpoint] { Self.usable(internalPolicyLocal ? endpoints.filter(\.isLocal) : endpoints) }

    /// Endpoints for traffic from outside (node ports, external IPs): only this node's with
    /// externalTrafficPolicy Local.
    public var externalEndpoints: [Endpoint] { Self.usable(externalPolicyLocal ? endpoints.filter(\.isLocal) : endpoints) }

    static func usable(_ candidates: [Endpoint]) -> [Endpoint] {
        let ready = candidates.filter(\.ready)
        return ready.isEmpty ? candidates.filter { $0.serving && $0.terminating } : ready
    }

    /// Every service port with a cluster IP, with the endpoints `slices` give it; ExternalName and headless
    /// services have nothing for a proxy to do. Pure; sorted by name.
    public static func from(services: [Service], slices: [EndpointSlice], nodeName: String) -> [ServicePort] {
        var slicesByService: [String: [EndpointSlice]] = [:]
        for slice in slices {
            guard let service = slice.metadata.labels?[EndpointSlice.serviceNameLabel] else { continue }
            slicesByService["\(slice.namespace)/\(service)", default: []].append(slice)
        }
        var result: [ServicePort] = []
        for service in services where service.type != "ExternalName" && service.metadata.deletionTimestamp == nil {
            guard let clusterIP = service.spec.clusterIP.flatMap({ IPv4Address($0) }) else { continue }
            let slices = slicesByService["\(service.namespace)/\(service.name)"] ?? []
            let external = ((service.status?.loadBalancer?.ingress ?? []).compactMap(\.ip) + (service.spec.externalIPs ?? []))
                .compactMap { IPv4Address($0) }
            let affinity = service.spec.sessionAffinity == "ClientIP"
                ? service.spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? 10800 : nil
            for port in service.spec.ports ?? [] {
                guard let proto = Proto(rawValue: (port.protocol ?? "TCP").lowercased()) else { continue }
                let name = port.name ?? ""
                result.append(ServicePort(
                    namespace: service.namespace, service: service.name, portName: name, proto: proto,
                    clusterIP: clusterIP, port: port.port,
                    nodePort: service.hasNodePorts ? port.nodePort.flatMap { $0 == 0 ? nil : $0 } : nil,
                    externalIPs: service.type == "LoadBalancer" || !(service.spec.externalIPs ?? []).isEmpty ? external : [],
                    externalPolicyLocal: service.spec.externalTrafficPolicy == "Local",
                    internalPolicyLocal: service.spec.internalTrafficPolicy == "Local",
                    affinitySeconds: affinity,
                    endpoints: endpoints(named: name, proto: proto, in: slices, nodeName: nodeName)))
            }
        }
        return result.sorted { ($0.name, $0.proto) < ($1.name, $1.proto) }
    }

    /// The endpoints of the port named `name` across a service's slices, each address once.
    static func endpoints(named name: String, proto: Proto, in slices: [EndpointSlice], nodeName: String) -> [Endpoint] {
        var seen = Set<Endpoint>()
        for slice in slices where slice.addressType == "IPv4" {
            guard let port = (slice.ports ?? []).first(where: {
                ($0.name ?? "") == name && ($0.protocol ?? "TCP").lowercased() == proto.rawValue
            }), let number = port.port else { continue }
            for endpoint in slice.endpoints ?? [] {
                guard let ip = endpoint.addresses.first.flatMap({ IPv4Address($0) }) else { continue }
                let conditions = endpoint.conditions
                // Unset conditions mean ready and serving (the API's documented default).
                let ready = conditions?.ready ?? true
                seen.insert(Endpoint(ip: ip, port: number, isLocal: endpoint.nodeName == nodeName, ready: ready,
                                     serving: conditions?.serving ?? ready, terminating: conditions?.terminating ?? false))
            }
        }
        // Two slices naming one address:port with different conditions: keep the most usable, whatever order
        // the slices come in.
        func rank(_ e: Endpoint) -> (Int, Int, Int, Int) { (e.ready ? 1 : 0, e.serving ? 1 : 0, e.terminating ? 0 : 1, e.isLocal ? 1 : 0) }
        let best = Dictionary(seen.map { ("\($0.ip)/\($0.port)", $0) }) { a, b in rank(a) >= rank(b) ? a : b }
        return best.values.sorted()
    }
}
