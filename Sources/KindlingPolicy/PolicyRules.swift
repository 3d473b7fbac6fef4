import KindlingAddresses
import KindlingAPI
import KindlingNftables

/// A pod as policies see it: where it is, its labels, and its named container ports.
public struct PolicyPod: Hashable, Sendable {
    public struct NamedPort: Hashable, Sendable {
        public var name: String
        public var proto: String
        public var port: Int

        public init(name: String, proto: String, port: Int) {
            self.name = name
            self.proto = proto
            self.port = port
        }
    }

    public var namespace: String
    public var name: String
    public var ip: IPv4Address
    public var labels: [String: String]
    public var namedPorts: [NamedPort]

    public init(namespace: String, name: String, ip: IPv4Address, labels: [String: String], namedPorts: [NamedPort] = []) {
        self.namespace = namespace
        self.name = name
        self.ip = ip
        self.labels = labels
        self.namedPorts = namedPorts
    }

    /// A running pod with an address; nil for one without (pending, or gone).
    public init?(_ pod: Pod) {
        guard pod.metadata.deletionTimestamp == nil, let text = pod.status?.podIP, let ip = IPv4Address(text) else { return nil }
        let ports = pod.spec.containers.flatMap { $0.ports ?? [] }.compactMap { port in
            port.name.map { NamedPort(name: $0, proto: port.protocol ?? "TCP", port: port.containerPort) }
        }
        self.init(namespace: pod.namespace, name: pod.name, ip: ip, labels: pod.metadata.labels ?? [:], namedPorts: ports)
    }

    func port(named name: String, proto: String) -> Int? {
        namedPorts.first { $0.name == name && $0.proto == proto }?.port
    }
}

/// Everything one node's policy table depends on.
public struct PolicyState: Equatable, Sendable {
    public var policies: [NetworkPolicy]
    /// Every pod of the cluster that has an address.
    public var pods: [PolicyPod]
    /// Each namespace's labels (with `kubernetes.io/metadata.name`).
    public var namespaceLabels: [String: [String: String]]
    /// The addresses of this node's pods: the only ones this table enforces for.
    public var localIPs: Set<IPv4Address>

    public init(policies: [NetworkPolicy], pods: [PolicyPod], namespaceLabels: [String: [String: String]], localIPs: Set<IPv4Address>) {
        self.policies = policies
        self.pods = pods
        self.namespaceLabels = namespaceLabels
        self.localIPs = localIPs
    }
}

/// NetworkPolicy as an nf_tables table of each node, apart from the proxy's: in the forward hook (after the
/// proxy's DNAT, so traffic through a service VIP is judged against the pod it reaches), packets of
/// established connections pass, then a pod isolated for egress has its packets checked in its egress chain
/// and a pod isolated for ingress its arriving packets in its ingress chain; each chain holds the allowed
/// (peers, ports) of every policy selecting the pod, peers with the same ports in one set, as rules that
/// `return`, and drops the rest. Pods no
/// policy isolates are not in the maps at all. Traffic from the node itself (kubelet's probes) is not
/// forwarded, so never judged, as with most network policy implementations. Pure.
public enum PolicyRules {
    public static let table = "kindling-policy"

    /// The whole table; its `fullSyncCommands` replace the old one in one transaction.
    public static func render(_ state: PolicyState) -> NftTable {
        let policies = state.policies.sorted { ($0.namespace, $0.name) < ($1.namespace, $1.name) }
        let local = state.pods.filter { state.localIPs.contains($0.ip) }.sorted { $0.ip < $1.ip }
        var chains: [(name: String, rules: [String])] = []
        var egressMap: [String] = [], ingressMap: [String] = []
        for pod in local {
            let selecting = policies.filter { $0.namespace == pod.namespace && ($0.spec.podSelector ?? LabelSelector()).matches(pod.labels) }
            for ingress in [false, true] {
                let direction = ingress ? "ingress" : "egress"
                let applying = selecting.filter { $0.spec.policyTypes?.contains(ingress ? "Ingress" : "Egress") ?? ingress }
                guard !applying.isEmpty else { continue }
                let name = "\(direction)-\(pod.ip)"
                if ingress { ingressMap.append("\(pod.ip) : jump \(name)") } else { egressMap.append("\(pod.ip) : jump \(name)") }
                var allowed: [(match: Match, origin: String)] = []
                for policy in applying {
                    let policyRules = ingress ? (policy.spec.ingress ?? []).map { ($0.from, $0.ports) } : (policy.spec.egress ?? []).map { ($0.to, $0.ports) }
                    for (index, rule) in policyRules.enumerated() {
                        let origin = "\(policy.namespace)/\(policy.name) \(direction)[\(index)]"
                        allowed += matches(peers: rule.0, ports: rule.1, policy: policy, target: pod, ingress: ingress, state: state).map { ($0, origin) }
                    }
                }
                let field = ingress ? "saddr" : "daddr"
                chains.append((name, merged(allowed).map { rule in
                    ([rule.match.text(field), "return", "comment \"\(rule.origin)\""].filter { !$0.isEmpty }).joined(separator: " ")
                } + ["drop"]))
            }
        }
        var forward = ["ct state established,related accept"]
        if !egressMap.isEmpty { forward.append("ip saddr vmap { \(egressMap.joined(separator: ", ")) }") }
        if !ingressMap.isEmpty { forward.append("ip daddr vmap { \(ingressMap.joined(separator: ", ")) }") }
        var result = NftTable(family: "inet", name: table)
        result.add(NftTable.Chain("forward", hook: "type filter hook forward priority filter; policy accept", rules: forward))
        for chain in chains { result.add(NftTable.Chain(chain.name, rules: chain.rules)) }
        return result
    }

    /// What one allowing rule matches: source (ingress) or destination (egress) addresses, nil for any, less
    /// `except`; and a port clause (`meta l4proto tcp th dport { 80 }`), nil for any.
    struct Match: Hashable {
        var addresses: [IPv4CIDR]?
        var except: [IPv4CIDR] = []
        var ports: String?

        func text(_ field: String) -> String {
            var parts: [String] = []
            if let addresses { parts.append("ip \(field) { \(addresses.map(PolicyRules.element).joined(separator: ", ")) }") }
            if !except.isEmpty { parts.append("ip \(field) != { \(except.map(PolicyRules.element).joined(separator: ", ")) }") }
            if let ports { parts.append(ports) }
            return parts.joined(separator: " ")
        }
    }

    static func element(_ cidr: IPv4CIDR) -> String { cidr.prefixLength == 32 ? cidr.network.description : cidr.description }

    /// Address-only matches with the same ports become one rule with one set (a lookup, not a rule per
    /// policy, for each new connection); addresses inside other addresses of the set go, as a set of
    /// intervals may not overlap.
    static func merged(_ allowed: [(match: Match, origin: String)]) -> [(match: Match, origin: String)] {
        var result: [(match: Match, origin: String)] = []
        var groups: [String?: Int] = [:]
        var origins: [Int: Set<String>] = [:]
        for (match, origin) in allowed {
            guard let addresses = match.addresses, match.except.isEmpty else {
                result.append((match, origin))
                continue
            }
            if let index = groups[match.ports] {
                result[index].match.addresses! += addresses
                origins[index, default: []].insert(origin)
            } else {
                groups[match.ports] = result.count
                origins[result.count] = [origin]
                result.append((match, origin))
            }
        }
        for (index, merged) in origins where merged.count > 1 {
            result[index].origin += " and \(merged.count - 1) more"
        }
        for index in result.indices {
            guard let addresses = result[index].match.addresses else { continue }
            let unique = Array(Set(addresses))
            result[index].match.addresses = unique.filter { inner in !unique.contains { $0 != inner && $0.contains(inner) } }.sorted()
        }
        return result
    }

    /// The matches of one ingress or egress rule for `target`: one per peer and protocol; named ports resolved
    /// on the target pod (ingress) or on each destination pod (egress).
    static func matches(peers: [NetworkPolicy.Peer]?, ports: [NetworkPolicy.Port]?, policy: NetworkPolicy, target: PolicyPod,
                        ingress: Bool, state: PolicyState) -> [Match] {
        let ports = ports ?? []
        let numeric = ports.filter { if case .string = $0.port { return false } else { return true } }
        let named = ports.compactMap { port -> (proto: String, name: String)? in
            if case .string(let name)? = port.port { return (port.protocol ?? "TCP", name) }
            return nil
        }
        func hosts(_ ips: [IPv4Address]) -> [IPv4CIDR] { Set(ips).sorted().compactMap { IPv4CIDR(network: $0, prefixLength: 32) } }
        var result: [Match] = []
        for peer in (peers?.isEmpty == false ? peers!.map(Optional.some) : [nil]) {
            // Who the peer is: anyone (no peers), the pods selected, or an address block.
            var peerMatch = Match()
            var candidates: [PolicyPod]?
            if let peer, let block = peer.ipBlock {
                guard let cidr = IPv4CIDR(block.cidr) else { continue }
                // Excepts inside other excepts would overlap in the set: only the outermost stay.
                let excepts = (block.except ?? []).compactMap(IPv4CIDR.init)
                peerMatch.addresses = [cidr]
                peerMatch.except = Set(excepts.filter { inner in !excepts.contains { $0 != inner && $0.contains(inner) } }).sorted()
            } else if let peer {
                let pods = selected(peer, policyNamespace: policy.namespace, state: state)
                guard !pods.isEmpty else { continue }
                candidates = pods
                peerMatch.addresses = hosts(pods.map(\.ip))
            }
            if ports.isEmpty {
                result.append(peerMatch)
                continue
            }
            for clause in portClauses(numeric) { result.append(Match(addresses: peerMatch.addresses, except: peerMatch.except, ports: clause)) }
            for (proto, name) in named {
                if ingress {
                    // The target's own port of that name.
                    guard let port = target.port(named: name, proto: proto) else { continue }
                    result.append(Match(addresses: peerMatch.addresses, except: peerMatch.except, ports: "meta l4proto \(proto.lowercased()) th dport \(port)"))
                } else {
                    // Each destination pod's port of that name (named ports never match address blocks).
                    if peer?.ipBlock != nil { continue }
                    let pods = candidates ?? state.pods
                    var byPort: [Int: [IPv4Address]] = [:]
                    for pod in pods { if let port = pod.port(named: name, proto: proto) { byPort[port, default: []].append(pod.ip) } }
                    for (port, ips) in byPort.sorted(by: { $0.key < $1.key }) {
                        result.append(Match(addresses: hosts(ips), ports: "meta l4proto \(proto.lowercased()) th dport \(port)"))
                    }
                }
            }
        }
        return result
    }

    /// The pods a selector peer names: by podSelector in the policy's namespace, by namespaceSelector in the
    /// namespaces it selects, or both at once.
    static func selected(_ peer: NetworkPolicy.Peer, policyNamespace: String, state: PolicyState) -> [PolicyPod] {
        state.pods.filter { pod in
            if let namespaces = peer.namespaceSelector {
                guard namespaces.matches(state.namespaceLabels[pod.namespace] ?? ["kubernetes.io/metadata.name": pod.namespace]) else { return false }
            } else if pod.namespace != policyNamespace {
                return false
            }
            return peer.podSelector.map { $0.matches(pod.labels) } ?? true
        }
    }

    /// Numeric ports and ranges as one clause per protocol (`meta l4proto tcp th dport { 80, 8000-8100 }`);
    /// a protocol without a port matches all of its ports.
    static func portClauses(_ ports: [NetworkPolicy.Port]) -> [String] {
        var byProtocol: [String: [String]] = [:]
        var anyPort: Set<String> = []
        for port in ports {
            let proto = (port.protocol ?? "TCP").lowercased()
            guard case .int(let number)? = port.port else {
                anyPort.insert(proto)
                continue
            }
            byProtocol[proto, default: []].append("\(number)-\(max(port.endPort ?? number, number))")
        }
        // An nf_tables set refuses overlapping intervals: merge them (80, 80-90 -> 80-90).
        byProtocol = byProtocol.mapValues { values in
            let ranges = values.map { text -> (Int, Int) in
                let bounds = text.split(separator: "-").compactMap { Int($0) }
                return (bounds[0], bounds[1])
            }.sorted { $0.0 < $1.0 }
            var merged: [(Int, Int)] = []
            for range in ranges {
                if let last = merged.last, range.0 <= last.1 + 1 { merged[merged.count - 1].1 = max(last.1, range.1) } else { merged.append(range) }
            }
            return merged.map { $0.0 == $0.1 ? "\($0.0)" : "\($0.0)-\($0.1)" }
        }
        var clauses = anyPort.sorted().map { "meta l4proto \($0)" }
        for (proto, values) in byProtocol.sorted(by: { $0.key < $1.key }) where !anyPort.contains(proto) {
            clauses.append("meta l4proto \(proto) th dport { \(values.joined(separator: ", ")) }")
        }
        return clauses
    }
}
