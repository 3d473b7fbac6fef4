import KindlingAPI

/// The service proxy's nf_tables table for one node: a pure function of the node's service ports.
///
/// Shaped like kube-proxy's nftables mode. Lookup is one verdict-map access whatever the number of services
/// (`ip daddr . meta l4proto . th dport vmap @service-ips`), and each service port gets its own chains:
///
///     service-<ns>/<svc>/<proto>/<port>    picks an endpoint and DNATs to it: affinity first, then random
///     external-<...>                       node ports and external IPs: masquerade then the service chain,
///                                          or with externalTrafficPolicy Local this node's endpoints only,
///                                          keeping the client's address
///
/// Two departures from kube-proxy, both for load time at scale (KERNEL-NOTES.md, bench/): the random choice is a
/// cascade of `numgen random mod (N-k) 0 ... dnat to <endpoint k>` rules, not an anonymous `numgen ... vmap`
/// per service (anonymous sets make a full load quadratic in the kernel, ~60 s at 10,000 services); and there are
/// no per-endpoint chains: the DNAT is in the cascade rule, hairpin traffic (a pod reaching itself through its
/// service) is found by one set lookup of `saddr . daddr` after DNAT, and traffic from outside the pod network
/// by one rule on the cluster-IP set. That halves the objects the kernel loads: 10,000 services x 5 endpoints
/// load in ~1.5 s instead of ~3.7 s. The cascade picks uniformly and costs only a connection's first packet.
public enum ProxyRules {
    public static let tableName = "kindling"
    /// The packet mark bit asking `masquerading` to SNAT (kube-proxy's 0x4000).
    static let masqueradeMark = "0x4000"

    public struct Node: Hashable, Sendable {
        /// The cluster's pod network: traffic to a cluster IP from outside it is masqueraded, as kube-proxy
        /// does when it knows the cluster CIDR, so replies come back through this node.
        public let clusterCIDR: IPv4CIDR
        public init(clusterCIDR: IPv4CIDR) { self.clusterCIDR = clusterCIDR }
    }

    public static func render(_ ports: [ServicePort], node: Node) -> NftTable {
        var table = NftTable(name: tableName)
        for (name, hook, rules) in baseChains { table.add(.init(name, hook: hook, rules: rules)) }
        table.add(.init("services", rules: [
            "ip daddr @cluster-ips ip saddr != \(node.clusterCIDR) jump mark-for-masquerade",
            "ip daddr . meta l4proto . th dport vmap @service-ips",
            // Node ports answer on every local address, 127.0.0.1 included (seed 002 curls localhost:30000).
            "fib daddr type local meta l4proto . th dport vmap @service-nodeports",
        ]))

        var serviceIPs: [String: String] = [:]
        var serviceNodePorts: [String: String] = [:]
        var noEndpointServices: [String: String] = [:]
        var noEndpointNodePorts: [String: String] = [:]
        var clusterIPs: [String: String] = [:]
        var hairpin: [String: String] = [:]

        for port in ports {
            let names = ChainNames(port)
            let proto = port.proto.rawValue
            let vip = "\(port.clusterIP) . \(proto) . \(port.port)"
            clusterIPs["\(port.clusterIP)"] = ""
            let clusterEndpoints = port.clusterEndpoints
            let externalEndpoints = port.externalEndpoints

            for endpoint in Swift.Set(clusterEndpoints).union(externalEndpoints).sorted() {
                hairpin["\(endpoint.ip) . \(endpoint.ip)"] = ""
                if let seconds = port.affinitySeconds {
                    table.add(.init(.set, names.affinity(endpoint), "type ipv4_addr ; flags dynamic,timeout ; timeout \(seconds)s ;",
                                    kernelFilled: true))
                }
            }

            if clusterEndpoints.isEmpty {
                // kube-proxy: reject at once when nothing serves; drop when only other nodes' endpoints
                // exist for internalTrafficPolicy Local.
                noEndpointServices[vip] = port.endpoints.isEmpty || !port.internalPolicyLocal ? "goto reject-chain" : "drop"
            } else {
                table.add(.init(names.service, rules: choice(among: clusterEndpoints, port: port, names: names)))
                serviceIPs[vip] = "goto \(names.service)"
            }

            guard port.hasExternal else { continue }
            let external: String
            if externalEndpoints.isEmpty {
                external = clusterEndpoints.isEmpty ? "goto reject-chain" : "drop"
            } else if port.externalPolicyLocal {
                var rules: [String] = []
                if !clusterEndpoints.isEmpty {
                    // Pods and the node itself keep reaching every endpoint, as kube-proxy short-circuits them.
                    rules += ["ip saddr \(node.clusterCIDR) goto \(names.service)",
                              "fib saddr type local jump mark-for-masquerade",
                              "fib saddr type local goto \(names.service)"]
                }
                table.add(.init(names.external, rules: rules + choice(among: externalEndpoints, port: port, names: names)))
                external = "goto \(names.external)"
            } else {
                table.add(.init(names.external, rules: ["jump mark-for-masquerade", "goto \(names.service)"]))
                external = "goto \(names.external)"
            }
            let reachable = !external.hasPrefix("goto reject") && external != "drop"
            if let nodePort = port.nodePort {
                if reachable { serviceNodePorts["\(proto) . \(nodePort)"] = external } else { noEndpointNodePorts["\(proto) . \(nodePort)"] = external }
            }
            for ip in port.externalIPs {
                let key = "\(ip) . \(proto) . \(port.port)"
                if reachable { serviceIPs[key] = external } else { noEndpointServices[key] = external }
            }
        }

        let addressPortProto = "type ipv4_addr . inet_proto . inet_service : verdict ;"
        table.add(.init(.map, "service-ips", addressPortProto, elements: serviceIPs))
        table.add(.init(.map, "service-nodeports", "type inet_proto . inet_service : verdict ;", elements: serviceNodePorts))
        table.add(.init(.map, "no-endpoint-services", addressPortProto, elements: noEndpointServices))
        table.add(.init(.map, "no-endpoint-nodeports", "type inet_proto . inet_service : verdict ;", elements: noEndpointNodePorts))
        table.add(.init(.set, "cluster-ips", "type ipv4_addr ;", elements: clusterIPs))
        table.add(.init(.set, "hairpin-endpoints", "type ipv4_addr . ipv4_addr ;", elements: hairpin))
        return table
    }

    /// Rules that DNAT a new connection to one of `endpoints` (non-empty): a client with an affinity entry
    /// back to its endpoint, else endpoint k with probability 1/(N-k) among those left: uniform overall.
    /// With affinity, every choice also (re)starts the client's timer for that endpoint.
    static func choice(among endpoints: [ServicePort.Endpoint], port: ServicePort, names: ChainNames) -> [String] {
        func dnat(_ endpoint: ServicePort.Endpoint, modulus: Int?) -> DNATRule {
            DNATRule(modulus: modulus, proto: port.proto, address: endpoint.ip, port: endpoint.port)
        }
        guard port.affinitySeconds != nil else {
            return endpoints.enumerated().map { k, endpoint in
                let left = endpoints.count - k
                return dnat(endpoint, modulus: left > 1 ? left : nil).text
            }
        }
        // Affinity: the client's entry (re)started before its DNAT, whether found or chosen now.
        func remember(_ endpoint: ServicePort.Endpoint) -> String { "update @\(names.affinity(endpoint)) { ip saddr } " }
        return endpoints.map { "ip saddr @\(names.affinity($0)) \(remember($0))\(dnat($0, modulus: nil).text)" }
            + endpoints.enumerated().map { k, endpoint in
                let left = endpoints.count - k
                return (left > 1 ? "numgen random mod \(left) 0 " : "") + remember(endpoint) + dnat(endpoint, modulus: nil).text
            }
    }

    /// The chains every node has, whatever its services. Filter chains reject what has no endpoint (NAT
    /// chains cannot reject) and run before DNAT, or after it for the output path's check of cluster IPs.
    static let baseChains: [(String, String?, [String])] = [
        ("nat-prerouting", "type nat hook prerouting priority -100", ["jump services"]),
        ("nat-output", "type nat hook output priority -100", ["jump services"]),
        // A pod reaching itself through its service: after DNAT its source and destination are equal.
        ("nat-postrouting", "type nat hook postrouting priority 100",
         ["ct status dnat ip saddr . ip daddr @hairpin-endpoints jump mark-for-masquerade", "jump masquerading"]),
        ("filter-input", "type filter hook input priority -110",
         ["ct state new jump nodeport-endpoints-check", "ct state new jump service-endpoints-check"]),
        ("filter-forward", "type filter hook forward priority -110",
         ["ct state new jump service-endpoints-check", "ct state new jump cluster-ips-check"]),
        ("filter-output", "type filter hook output priority -110", ["ct state new jump service-endpoints-check"]),
        ("filter-output-post-dnat", "type filter hook output priority -90", ["ct state new jump cluster-ips-check"]),
        ("mark-for-masquerade", nil, ["meta mark set meta mark | \(masqueradeMark)"]),
        ("masquerading", nil, ["meta mark & \(masqueradeMark) == 0 return", "meta mark set meta mark ^ \(masqueradeMark)",
                               "masquerade fully-random"]),
        ("service-endpoints-check", nil, ["ip daddr . meta l4proto . th dport vmap @no-endpoint-services"]),
        ("nodeport-endpoints-check", nil, ["fib daddr type local meta l4proto . th dport vmap @no-endpoint-nodeports"]),
        // A cluster IP on a port no service has: refused rather than left to time out.
        ("cluster-ips-check", nil, ["ip daddr @cluster-ips reject"]),
        ("reject-chain", nil, ["reject"]),
    ]
}

/// Chain and set names of one service port: readable (`nft list ruleset` is for learning too) and unique,
/// since namespaces and service names cannot contain `/`.
struct ChainNames {
    let base: String

    init(_ port: ServicePort) {
        base = "\(port.namespace)/\(port.service)/\(port.proto.rawValue)/\(port.portName)"
    }

    var service: String { "service-\(base)" }
    var external: String { "external-\(base)" }
    func affinity(_ endpoint: ServicePort.Endpoint) -> String { "affinity-\(base)__\(endpoint.description)" }
}
