import KindlingAPI

/// The service proxy's nf_tables table for one node: a pure function of the node's service ports.
///
/// Shaped like kube-proxy's nftables mode. Lookup is one verdict-map access whatever the number of services
/// (`ip daddr . meta l4proto . th dport vmap @service-ips`), and each service port gets its own chains:
///
///     service-<ns>/<svc>/<proto>/<port>    traffic to the cluster IP: picks an endpoint (see `Slots`);
///                                          with ClientIP affinity, the client's endpoint first
///     nodeport-<...>, external-<...>       the node port, and external/LoadBalancer IPs: masquerade, then
///                                          pick; with externalTrafficPolicy Local only this node's
///                                          endpoints, keeping the client's address
///
/// Departures from kube-proxy, for speed at scale (KERNEL-NOTES.md, bench/): the random choice reads endpoint
/// slots from one data map per kind of key (`Slots`) instead of an anonymous `numgen ... vmap` per service
/// (anonymous sets make a full load quadratic in the kernel, ~60 s at 10,000 services), so an endpoint change
/// is a few map elements rather than rules; and there are no per-endpoint chains: hairpin traffic (a pod
/// reaching itself through its service) is found by one set lookup of `saddr . daddr` after DNAT, and traffic
/// from outside the pod network by one rule on the cluster-IP set. 10,000 services x 5 endpoints load in under
/// a second. Services with affinity keep a cascade of `numgen random mod (N-k) 0 ... dnat to <endpoint k>`
/// rules, whose affinity sets name each endpoint.
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
        var slots = Slots()

        for port in ports {
            let names = ChainNames(port)
            let proto = port.proto.rawValue
            let vip = "\(port.clusterIP) . \(proto) . \(port.port)"
            clusterIPs["\(port.clusterIP)"] = ""
            let clusterEndpoints = port.clusterEndpoints
            let externalEndpoints = port.externalEndpoints
            let sticky = port.affinitySeconds != nil

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
                let rules = sticky ? stickyChoice(among: clusterEndpoints, port: port, names: names)
                    : [slots.fill(.service, key: vip, clusterEndpoints)]
                table.add(.init(names.service, rules: rules))
                serviceIPs[vip] = "goto \(names.service)"
            }

            guard port.hasExternal else { continue }
            let unreachable: String? = externalEndpoints.isEmpty ? (clusterEndpoints.isEmpty ? "goto reject-chain" : "drop") : nil
            if sticky, unreachable == nil {
                // Affinity needs the service chain's own rules, whatever address the client used.
                var rules = ["jump mark-for-masquerade", "goto \(names.service)"]
                if port.externalPolicyLocal {
                    rules = clusterEndpoints.isEmpty ? [] : ["ip saddr \(node.clusterCIDR) goto \(names.service)",
                                                            "fib saddr type local jump mark-for-masquerade",
                                                            "fib saddr type local goto \(names.service)"]
                    rules += stickyChoice(among: externalEndpoints, port: port, names: names)
                }
                table.add(.init(names.external, rules: rules))
            }
            /// The chain for one kind of external entry (the node port, or the external IPs) and its endpoint slots,
            /// keyed by what that entry's packets carry; or the verdict when nothing may serve them.
            func externalChain(_ name: String, keys: [String], nodePort: Bool) -> String {
                if let unreachable { return unreachable }
                if sticky { return "goto \(names.external)" }
                var rules: [String] = []
                for key in keys {
                    if port.externalPolicyLocal {
                        // Pods and the node itself keep reaching every endpoint, as kube-proxy short-circuits them;
                        // other clients (keeping their address) only this node's.
                        let shortcut = clusterEndpoints.isEmpty ? [] : [slots.fill(nodePort ? .nodePort : .service, key: key, clusterEndpoints)]
                        let local = slots.fill(nodePort ? .localNodePort : .localService, key: key, externalEndpoints)
                        rules = shortcut.flatMap { ["ip saddr \(node.clusterCIDR) \($0)", "fib saddr type local jump mark-for-masquerade",
                                                    "fib saddr type local \($0)"] } + [local]
                    } else {
                        rules = ["jump mark-for-masquerade", slots.fill(nodePort ? .nodePort : .service, key: key, externalEndpoints)]
                    }
                }
                table.add(.init(name, rules: rules))
                return "goto \(name)"
            }
            if let nodePort = port.nodePort {
                let key = "\(proto) . \(nodePort)"
                let verdict = externalChain(names.nodePort, keys: [key], nodePort: true)
                if unreachable == nil { serviceNodePorts[key] = verdict } else { noEndpointNodePorts[key] = verdict }
            }
            if !port.externalIPs.isEmpty {
                let keys = port.externalIPs.map { "\($0) . \(proto) . \(port.port)" }
                let verdict = externalChain(names.external, keys: keys, nodePort: false)
                for key in keys {
                    if unreachable == nil { serviceIPs[key] = verdict } else { noEndpointServices[key] = verdict }
                }
            }
        }

        let addressPortProto = "type ipv4_addr . inet_proto . inet_service : verdict ;"
        table.add(.init(.map, "service-ips", addressPortProto, elements: serviceIPs))
        table.add(.init(.map, "service-nodeports", "type inet_proto . inet_service : verdict ;", elements: serviceNodePorts))
        table.add(.init(.map, "no-endpoint-services", addressPortProto, elements: noEndpointServices))
        table.add(.init(.map, "no-endpoint-nodeports", "type inet_proto . inet_service : verdict ;", elements: noEndpointNodePorts))
        table.add(.init(.set, "cluster-ips", "type ipv4_addr ;", elements: clusterIPs, layout: .init(key: [.ipv4])))
        table.add(.init(.set, "hairpin-endpoints", "type ipv4_addr . ipv4_addr ;", elements: hairpin, layout: .init(key: [.ipv4, .ipv4])))
        slots.add(to: &table)
        return table
    }

    /// ClientIP affinity's rules, DNATing a new connection to one of `endpoints` (not empty): a client with an
    /// affinity entry back to its endpoint, else endpoint k with probability 1/(N-k) among those left (uniform
    /// overall). Every choice (re)starts the client's timer for that endpoint.
    static func stickyChoice(among endpoints: [ServicePort.Endpoint], port: ServicePort, names: ChainNames) -> [String] {
        func remember(_ endpoint: ServicePort.Endpoint) -> String {
            "update @\(names.affinity(endpoint)) { ip saddr } meta l4proto \(port.proto.rawValue) dnat to \(endpoint.ip):\(endpoint.port)"
        }
        return endpoints.map { "ip saddr @\(names.affinity($0)) \(remember($0))" }
            + endpoints.enumerated().map { k, endpoint in
                let left = endpoints.count - k
                return (left > 1 ? "numgen random mod \(left) 0 " : "") + remember(endpoint)
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
    var nodePort: String { "nodeport-\(base)" }
    func affinity(_ endpoint: ServicePort.Endpoint) -> String { "affinity-\(base)__\(endpoint.description)" }
}

/// The endpoint maps and the shared chains that pick from them.
///
/// A service port's endpoints sit in slots 0..<N of a data map under the key its packets carry (`ip daddr .
/// meta l4proto . th dport`, or `meta l4proto . th dport` for a node port, whose address is any of the node's).
/// A shared chain `pick-<C>-<map>` DNATs to `<key> . numgen random mod C`, C the power of two at or above N: a
/// slot at or above N misses the map, so the next rule draws again (rejection sampling, uniform). With N > C/2 a
/// draw misses less than half the time; after 8 misses slot 0 is taken, which skews the choice by under 0.4%.
/// An endpoint change is then only map elements, which the kernel takes without re-validating the table
/// (any rule or verdict change makes it walk every chain: ~20 ms at 10,000 services, KERNEL-NOTES.md); only a
/// change of C rewrites the service chain's one `goto`.
struct Slots {
    enum Map: String, CaseIterable {
        case service = "service-endpoints", nodePort = "nodeport-endpoints"
        /// externalTrafficPolicy Local: what clients from outside get, this node's endpoints only.
        case localService = "local-service-endpoints", localNodePort = "local-nodeport-endpoints"

        var keyExpression: String {
            switch self {
            case .service, .localService: "ip daddr . meta l4proto . th dport"
            case .nodePort, .localNodePort: "meta l4proto . th dport"
            }
        }

        var layout: NftTable.ElementLayout {
            switch self {
            case .service, .localService: .init(key: [.ipv4, .proto, .port, .slot], value: [.ipv4, .port])
            case .nodePort, .localNodePort: .init(key: [.proto, .port, .slot], value: [.ipv4, .port])
            }
        }
    }

    /// Draws before falling back to slot 0.
    static let draws = 8
    static let smallestTop = 16

    private var elements: [Map: [String: String]] = [:]
    private var largest: [Map: Int] = [:]

    /// The smallest power of two at or above `count`.
    static func capacity(_ count: Int) -> Int {
        var capacity = 1
        while capacity < count { capacity *= 2 }
        return capacity
    }

    static func pickChain(_ map: Map, _ capacity: Int) -> String { "pick-\(capacity)-\(map.rawValue)" }

    /// Puts `endpoints` (not empty) in the slots of `key`; returns the rule that picks one of them.
    mutating func fill(_ map: Map, key: String, _ endpoints: [ServicePort.Endpoint]) -> String {
        for (slot, endpoint) in endpoints.enumerated() {
            elements[map, default: [:]]["\(key) . \(slot)"] = "\(endpoint.ip) . \(endpoint.port)"
        }
        let capacity = Self.capacity(endpoints.count)
        largest[map] = max(largest[map] ?? 1, capacity)
        return "goto \(Self.pickChain(map, capacity))"
    }

    /// The maps, and for each one in use its pick chains up to the largest capacity, and at least up to 16, so
    /// that endpoint counts moving up and down seldom create or delete a chain.
    func add(to table: inout NftTable) {
        for map in Map.allCases {
            // `typeof` because numgen's integer has no named type; its modulus here only sets the type.
            table.add(.init(.map, map.rawValue, "typeof \(map.keyExpression) . numgen random mod 2 : ip daddr . th dport ;",
                            elements: elements[map] ?? [:], layout: map.layout))
            guard let top = largest[map].map({ max($0, Self.smallestTop) }) else { continue }
            var capacity = 1
            while capacity <= top {
                let pick = "dnat ip to \(map.keyExpression) . numgen random mod \(capacity) map @\(map.rawValue)"
                // Capacity 1 and 2 are always full: one draw. Above, draws then the fallback to slot 0.
                let rules = capacity <= 2 ? [pick]
                    : Array(repeating: pick, count: Self.draws) + ["dnat ip to \(map.keyExpression) . numgen random mod 1 map @\(map.rawValue)"]
                table.add(.init(Self.pickChain(map, capacity), rules: rules))
                capacity *= 2
            }
        }
    }
}
