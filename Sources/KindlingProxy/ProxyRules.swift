import KindlingAPI

/// The service proxy's nf_tables table for one node: a pure function of the node's service ports.
///
/// Shaped like kube-proxy's nftables mode. Lookup is one verdict-map access whatever the number of services
/// (`ip daddr . meta l4proto . th dport vmap @service-ips`), and each service port gets its own chains:
///
///     service-<ns>/<svc>/<proto>/<port>    picks an endpoint: affinity first, then a random choice
///     endpoint-<...>__<ip>/<port>          DNATs to one endpoint (and marks hairpin traffic for masquerade)
///     external-<...>                       node ports and external IPs: masquerade then the service chain,
///                                          or with externalTrafficPolicy Local this node's endpoints only,
///                                          keeping the client's address
///
/// One departure from kube-proxy: the random choice is a cascade of `numgen random mod (N-k) 0 goto`
/// rules rather than an anonymous `numgen ... vmap { }` per service. Anonymous sets make a full load
/// quadratic in the kernel (~60 s at 10,000 services here, KERNEL-NOTES.md); the cascade stays linear
/// (~2 s), picks uniformly, and costs only the first packet of a connection (NAT rules see no other).
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

        var serviceIPs: [String: String] = [:]
        var serviceNodePorts: [String: String] = [:]
        var noEndpointServices: [String: String] = [:]
        var noEndpointNodePorts: [String: String] = [:]
        var clusterIPs: [String: String] = [:]

        for port in ports {
            let names = ChainNames(port)
            let proto = port.proto.rawValue
            let vip = "\(port.clusterIP) . \(proto) . \(port.port)"
            clusterIPs["\(port.clusterIP)"] = ""
            let clusterEndpoints = port.clusterEndpoints
            let externalEndpoints = port.externalEndpoints

            // Endpoint chains, for every endpoint either policy uses.
            let used = Swift.Set(clusterEndpoints).union(externalEndpoints).sorted()
            for endpoint in used {
                var rules = ["ip saddr \(endpoint.ip) jump mark-for-masquerade"]
                if port.affinitySeconds != nil { rules.append("update @\(names.affinity(endpoint)) { ip saddr }") }
                rules.append("meta l4proto \(proto) dnat to \(endpoint.ip):\(endpoint.port)")
                table.add(.init(names.endpoint(endpoint), rules: rules))
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
                var rules = ["ip daddr \(port.clusterIP) \(proto) dport \(port.port) ip saddr != \(node.clusterCIDR) jump mark-for-masquerade"]
                rules += choice(among: clusterEndpoints, names: names, affinity: port.affinitySeconds != nil)
                table.add(.init(names.service, rules: rules))
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
                table.add(.init(names.external, rules: rules + choice(among: externalEndpoints, names: names, affinity: port.affinitySeconds != nil)))
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
        return table
    }

    /// Rules that send a new connection to one of `endpoints` (non-empty): a client with an affinity entry
    /// to its endpoint, then endpoint k with probability 1/(N-k) among those left: uniform overall.
    static func choice(among endpoints: [ServicePort.Endpoint], names: ChainNames, affinity: Bool) -> [String] {
        var rules: [String] = []
        if affinity {
            rules += endpoints.map { "ip saddr @\(names.affinity($0)) goto \(names.endpoint($0))" }
        }
        for (k, endpoint) in endpoints.enumerated() {
            let left = endpoints.count - k
            rules.append(left == 1 ? "goto \(names.endpoint(endpoint))" : "numgen random mod \(left) 0 goto \(names.endpoint(endpoint))")
        }
        return rules
    }

    /// The chains every node has, whatever its services. Filter chains reject what has no endpoint (NAT
    /// chains cannot reject) and run before DNAT, or after it for the output path's check of cluster IPs.
    static let baseChains: [(String, String?, [String])] = [
        ("nat-prerouting", "type nat hook prerouting priority -100", ["jump services"]),
        ("nat-output", "type nat hook output priority -100", ["jump services"]),
        ("nat-postrouting", "type nat hook postrouting priority 100", ["jump masquerading"]),
        ("filter-input", "type filter hook input priority -110",
         ["ct state new jump nodeport-endpoints-check", "ct state new jump service-endpoints-check"]),
        ("filter-forward", "type filter hook forward priority -110",
         ["ct state new jump service-endpoints-check", "ct state new jump cluster-ips-check"]),
        ("filter-output", "type filter hook output priority -110", ["ct state new jump service-endpoints-check"]),
        ("filter-output-post-dnat", "type filter hook output priority -90", ["ct state new jump cluster-ips-check"]),
        ("mark-for-masquerade", nil, ["meta mark set meta mark | \(masqueradeMark)"]),
        ("masquerading", nil, ["meta mark & \(masqueradeMark) == 0 return", "meta mark set meta mark ^ \(masqueradeMark)",
                               "masquerade fully-random"]),
        // Node ports answer on every local address, 127.0.0.1 included (seed 002 curls localhost:30000).
        ("services", nil, ["ip daddr . meta l4proto . th dport vmap @service-ips",
                           "fib daddr type local meta l4proto . th dport vmap @service-nodeports"]),
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
    func endpoint(_ endpoint: ServicePort.Endpoint) -> String { "endpoint-\(base)__\(endpoint.description)" }
    func affinity(_ endpoint: ServicePort.Endpoint) -> String { "affinity-\(base)__\(endpoint.description)" }
}
