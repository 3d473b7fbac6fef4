import KindlingAddresses
import KindlingAPI
import KindlingNftables

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

    /// The whole table for `ports` (what a full sync writes). See `ProxyTableState` for the incremental form.
    public static func render(_ ports: [ServicePort], node: Node) -> NftTable {
        ProxyTableState(ports, node: node).table
    }

    /// What one service port adds to the table: its chains and sets, its elements of the shared sets and maps,
    /// and the pick chains it uses. Two ports may add the same element (a cluster IP, an endpoint's hairpin pair).
    public struct Part: Sendable {
        /// One element of a shared set or map (`value` `""` for a set).
        struct Element: Hashable, Sendable {
            let set: String
            let key: String
            let value: String
        }

        public internal(set) var chains: [NftTable.Chain] = []
        public internal(set) var sets: [NftTable.Set] = []
        var elements: [Element] = []
        /// The pick chains this port's rules go to.
        var picks: [Slots.Pick] = []

        mutating func add(_ set: String, _ key: String, _ value: String = "") { elements.append(.init(set: set, key: key, value: value)) }

        var ruleCount: Int { chains.reduce(0) { $0 + $1.rules.count } }

        /// Puts `endpoints` (not empty) in the slots of `key` in `map`; returns the rule that picks one of them.
        mutating func fill(_ map: Slots.Map, key: String, _ endpoints: [ServicePort.Endpoint]) -> String {
            for (slot, endpoint) in endpoints.enumerated() { add(map.rawValue, "\(key) . \(slot)", "\(endpoint.ip) . \(endpoint.port)") }
            let pick = Slots.Pick(map: map, capacity: Slots.capacity(endpoints.count))
            if !picks.contains(pick) { picks.append(pick) }
            return "goto \(pick.chain)"
        }
    }

    /// The part of one service port. Pure.
    public static func part(_ port: ServicePort, node: Node) -> Part {
        var part = Part()
        let names = ChainNames(port)
        let proto = port.proto.rawValue
        let vip = "\(port.clusterIP) . \(proto) . \(port.port)"
        part.add("cluster-ips", "\(port.clusterIP)")
        let clusterEndpoints = port.clusterEndpoints
        let externalEndpoints = port.externalEndpoints
        let sticky = port.affinitySeconds != nil

        for endpoint in Swift.Set(clusterEndpoints).union(externalEndpoints).sorted() {
            part.add("hairpin-endpoints", "\(endpoint.ip) . \(endpoint.ip)")
            if let seconds = port.affinitySeconds {
                part.sets.append(.init(.set, names.affinity(endpoint), "type ipv4_addr ; flags dynamic,timeout ; timeout \(seconds)s ;",
                                       kernelFilled: true))
            }
        }

        if clusterEndpoints.isEmpty {
            // kube-proxy: reject at once when nothing serves; drop when only other nodes' endpoints
            // exist for internalTrafficPolicy Local.
            part.add("no-endpoint-services", vip, port.endpoints.isEmpty || !port.internalPolicyLocal ? "goto reject-chain" : "drop")
        } else {
            let rules = sticky ? stickyChoice(among: clusterEndpoints, port: port, names: names)
                : [part.fill(.service, key: vip, clusterEndpoints)]
            part.chains.append(.init(names.service, rules: rules))
            part.add("service-ips", vip, "goto \(names.service)")
        }

        guard port.hasExternal else { return part }
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
            part.chains.append(.init(names.external, rules: rules))
        }
        /// The chain for one kind of external entry (the node port, or the external IPs) and its endpoint slots,
        /// keyed by what that entry's packets carry; or the verdict when nothing may serve them.
        func externalChain(_ name: String, keys: [String], nodePort: Bool) -> String {
            if let unreachable { return unreachable }
            if sticky { return "goto \(names.external)" }
            var rules: [String] = []
            for key in keys {
                // The same rules for every key: they depend only on the number of endpoints.
                if port.externalPolicyLocal {
                    // Pods and the node itself keep reaching every endpoint, as kube-proxy short-circuits them;
                    // other clients (keeping their address) only this node's.
                    let shortcut = clusterEndpoints.isEmpty ? [] : [part.fill(nodePort ? .nodePort : .service, key: key, clusterEndpoints)]
                    let local = part.fill(nodePort ? .localNodePort : .localService, key: key, externalEndpoints)
                    rules = shortcut.flatMap { ["ip saddr \(node.clusterCIDR) \($0)", "fib saddr type local jump mark-for-masquerade",
                                                "fib saddr type local \($0)"] } + [local]
                } else {
                    rules = ["jump mark-for-masquerade", part.fill(nodePort ? .nodePort : .service, key: key, externalEndpoints)]
                }
            }
            part.chains.append(.init(name, rules: rules))
            return "goto \(name)"
        }
        if let nodePort = port.nodePort {
            let key = "\(proto) . \(nodePort)"
            let verdict = externalChain(names.nodePort, keys: [key], nodePort: true)
            part.add(unreachable == nil ? "service-nodeports" : "no-endpoint-nodeports", key, verdict)
        }
        if !port.externalIPs.isEmpty {
            let keys = port.externalIPs.map { "\($0) . \(proto) . \(port.port)" }
            let verdict = externalChain(names.external, keys: keys, nodePort: false)
            for key in keys { part.add(unreachable == nil ? "service-ips" : "no-endpoint-services", key, verdict) }
        }
        return part
    }

    /// The rules of `fixedChains`, whatever the node.
    static let fixedRuleCount = fixedChains(Node(clusterCIDR: IPv4CIDR("10.0.0.0/8")!)).reduce(0) { $0 + $1.rules.count }

    /// The chains every table has before the services' own: the base chains, then `services`.
    static func fixedChains(_ node: Node) -> [NftTable.Chain] {
        baseChains.map { NftTable.Chain($0.0, hook: $0.1, rules: $0.2) } + [
            .init("services", rules: [
                "ip daddr @cluster-ips ip saddr != \(node.clusterCIDR) jump mark-for-masquerade",
                "ip daddr . meta l4proto . th dport vmap @service-ips",
                // Node ports answer on every local address, 127.0.0.1 included (seed 002 curls localhost:30000).
                "fib daddr type local meta l4proto . th dport vmap @service-nodeports",
            ]),
        ]
    }

    /// The sets and maps the services share, empty; their elements come from the parts.
    static let sharedSets: [NftTable.Set] = {
        let addressPortProto = "type ipv4_addr . inet_proto . inet_service : verdict ;"
        return [
            .init(.map, "service-ips", addressPortProto),
            .init(.map, "service-nodeports", "type inet_proto . inet_service : verdict ;"),
            .init(.map, "no-endpoint-services", addressPortProto),
            .init(.map, "no-endpoint-nodeports", "type inet_proto . inet_service : verdict ;"),
            .init(.set, "cluster-ips", "type ipv4_addr ;", layout: .init(key: [.ipv4])),
            .init(.set, "hairpin-endpoints", "type ipv4_addr . ipv4_addr ;", layout: .init(key: [.ipv4, .ipv4])),
        ] + Slots.Map.allCases.map { map in
            // `typeof` because numgen's integer has no named type; its modulus here only sets the type.
            .init(.map, map.rawValue, "typeof \(map.keyExpression) . numgen random mod 2 : ip daddr . th dport ;", layout: map.layout)
        }
    }()

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
enum Slots {
    enum Map: String, CaseIterable, Comparable {
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

        static func < (a: Map, b: Map) -> Bool { allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)! }
    }

    /// One shared chain: pick among `capacity` slots of `map`.
    struct Pick: Hashable, Sendable, Comparable {
        let map: Map
        let capacity: Int

        var chain: String { "pick-\(capacity)-\(map.rawValue)" }

        var rules: [String] {
            let draw = "dnat ip to \(map.keyExpression) . numgen random mod \(capacity) map @\(map.rawValue)"
            // Capacity 1 and 2 are always full: one draw. Above, draws then the fallback to slot 0.
            return capacity <= 2 ? [draw]
                : Array(repeating: draw, count: Slots.draws) + ["dnat ip to \(map.keyExpression) . numgen random mod 1 map @\(map.rawValue)"]
        }

        static func < (a: Pick, b: Pick) -> Bool { (a.map, a.capacity) < (b.map, b.capacity) }
    }

    /// Draws before falling back to slot 0.
    static let draws = 8
    /// Pick chains exist at least up to this capacity for a map in use, so that endpoint counts moving up and
    /// down seldom create or delete one.
    static let smallestTop = 16

    /// The smallest power of two at or above `count`.
    static func capacity(_ count: Int) -> Int {
        var capacity = 1
        while capacity < count { capacity *= 2 }
        return capacity
    }

    /// The pick chains a table has when its parts use `used`: for each map in use, every capacity up to the
    /// largest used (at least `smallestTop`).
    static func chains(for used: some Sequence<Pick>) -> [Pick] {
        var top: [Map: Int] = [:]
        for pick in used { top[pick.map] = max(top[pick.map] ?? 0, pick.capacity, smallestTop) }
        return top.keys.sorted().flatMap { map in
            sequence(first: 1) { $0 * 2 }.prefix { $0 <= top[map]! }.map { Pick(map: map, capacity: $0) }
        }
    }
}
