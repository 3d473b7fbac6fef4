import Crypto
import KindlingAPI

/// The same service behaviour as `ProxyRules`, in kube-proxy's iptables layout (`kubeProxyMode: iptables`):
/// KUBE-SERVICES matches each cluster IP and jumps to a KUBE-SVC-* chain, which picks a KUBE-SEP-* endpoint
/// chain with `statistic mode random probability 1/n`, 1/(n-1), ... ; the last endpoint takes the rest.
/// Chain names are kube-proxy's own (a SHA-256 of the service port's name), so they match a kind cluster's.
/// Pure: service ports in, iptables-restore text out.
public enum IptablesRules {
    /// One table's chains (in order) with their rules, each the arguments after `-A <chain>`.
    public struct Table: Hashable, Sendable {
        public let name: String
        public private(set) var chains: [String] = []
        public private(set) var rules: [String: [String]] = [:]

        init(_ name: String, chains: [String]) {
            self.name = name
            for chain in chains { add(chain) }
        }

        mutating func add(_ chain: String, _ newRules: [String] = []) {
            if rules[chain] == nil { chains.append(chain) }
            rules[chain, default: []] += newRules
        }
    }

    /// Jumps from the built-in chains into kube-proxy's, as (table, chain, rule).
    static let jumps: [(String, String, String)] = [
        ("nat", "PREROUTING", "-m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES"),
        ("nat", "OUTPUT", "-m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES"),
        ("nat", "POSTROUTING", "-m comment --comment \"kubernetes postrouting rules\" -j KUBE-POSTROUTING"),
        ("filter", "INPUT", "-m conntrack --ctstate NEW -m comment --comment \"kubernetes externally-visible service portals\" -j KUBE-EXTERNAL-SERVICES"),
        ("filter", "INPUT", "-m conntrack --ctstate NEW -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES"),
        ("filter", "FORWARD", "-m conntrack --ctstate NEW -m comment --comment \"kubernetes externally-visible service portals\" -j KUBE-EXTERNAL-SERVICES"),
        ("filter", "FORWARD", "-m conntrack --ctstate NEW -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES"),
        ("filter", "OUTPUT", "-m conntrack --ctstate NEW -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES"),
    ]

    public static func render(_ ports: [ServicePort], node: ProxyRules.Node) -> [Table] {
        let cidr = node.clusterCIDR.description
        var nat = Table("nat", chains: ["KUBE-SERVICES", "KUBE-NODEPORTS", "KUBE-POSTROUTING", "KUBE-MARK-MASQ"])
        var filter = Table("filter", chains: ["KUBE-SERVICES", "KUBE-EXTERNAL-SERVICES"])
        nat.add("KUBE-POSTROUTING", ["-m mark ! --mark 0x4000/0x4000 -j RETURN", "-j MARK --xor-mark 0x4000",
                                     "-m comment --comment \"kubernetes service traffic requiring SNAT\" -j MASQUERADE --random-fully"])
        nat.add("KUBE-MARK-MASQ", ["-j MARK --or-mark 0x4000"])

        for port in ports {
            let name = port.name
            let proto = port.proto.rawValue
            let svc = chainName("KUBE-SVC-", port)
            let ext = chainName("KUBE-EXT-", port)
            let clusterEndpoints = port.clusterEndpoints
            let externalEndpoints = port.externalEndpoints
            let vip = "-d \(port.clusterIP)/32 -p \(proto) -m comment --comment \"\(name) cluster IP\" -m \(proto) --dport \(port.port)"

            for endpoint in Set(clusterEndpoints).union(externalEndpoints).sorted() {
                let sep = endpointChainName(port, endpoint)
                let affinity = port.affinitySeconds != nil ? " -m recent --name \(sep) --set" : ""
                nat.add(sep, ["-s \(endpoint.ip)/32 -m comment --comment \"\(name)\" -j KUBE-MARK-MASQ",
                              "-p \(proto) -m comment --comment \"\(name)\"\(affinity) -m \(proto) -j DNAT --to-destination \(endpoint.ip):\(endpoint.port)"])
            }

            if clusterEndpoints.isEmpty {
                let verdict = port.endpoints.isEmpty || !port.internalPolicyLocal ? "-j REJECT --reject-with icmp-port-unreachable" : "-j DROP"
                filter.add("KUBE-SERVICES", ["-d \(port.clusterIP)/32 -p \(proto) -m comment --comment \"\(name) has no endpoints\" -m \(proto) --dport \(port.port) \(verdict)"])
            } else {
                nat.add("KUBE-SERVICES", ["\(vip) -j \(svc)"])
                nat.add(svc, ["! -s \(cidr) \(vip) -j KUBE-MARK-MASQ"] + choice(port, clusterEndpoints))
            }

            guard port.hasExternal else { continue }
            if externalEndpoints.isEmpty {
                let (verdict, why) = clusterEndpoints.isEmpty
                    ? ("-j REJECT --reject-with icmp-port-unreachable", "has no endpoints") : ("-j DROP", "has no local endpoints")
                if let nodePort = port.nodePort {
                    filter.add("KUBE-EXTERNAL-SERVICES", ["-p \(proto) -m comment --comment \"\(name) \(why)\" -m addrtype --dst-type LOCAL -m \(proto) --dport \(nodePort) \(verdict)"])
                }
                for ip in port.externalIPs {
                    filter.add("KUBE-EXTERNAL-SERVICES", ["-d \(ip)/32 -p \(proto) -m comment --comment \"\(name) \(why)\" -m \(proto) --dport \(port.port) \(verdict)"])
                }
                continue
            }
            if port.externalPolicyLocal {
                let local = chainName("KUBE-SVL-", port)
                var rules: [String] = []
                if !clusterEndpoints.isEmpty {
                    rules += ["-s \(cidr) -m comment --comment \"pod traffic for \(name) external destinations\" -j \(svc)",
                              "-m comment --comment \"masquerade LOCAL traffic for \(name) external destinations\" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ",
                              "-m comment --comment \"route LOCAL traffic for \(name) external destinations\" -m addrtype --src-type LOCAL -j \(svc)"]
                }
                nat.add(ext, rules + ["-j \(local)"])
                nat.add(local, choice(port, externalEndpoints))
            } else {
                nat.add(ext, ["-m comment --comment \"masquerade traffic for \(name) external destinations\" -j KUBE-MARK-MASQ", "-j \(svc)"])
            }
            if let nodePort = port.nodePort {
                nat.add("KUBE-NODEPORTS", ["-p \(proto) -m comment --comment \"\(name)\" -m \(proto) --dport \(nodePort) -j \(ext)"])
            }
            for ip in port.externalIPs {
                nat.add("KUBE-SERVICES", ["-d \(ip)/32 -p \(proto) -m comment --comment \"\(name) external IP\" -m \(proto) --dport \(port.port) -j \(ext)"])
            }
        }
        nat.add("KUBE-SERVICES", ["-m comment --comment \"kubernetes service nodeports; NOTE: this must be the last rule in this chain\" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS"])
        return [nat, filter]
    }

    /// Affinity first (a client seen within the timeout goes back to its endpoint), then endpoint k with
    /// probability 1/(n-k), written as kube-proxy writes it.
    static func choice(_ port: ServicePort, _ endpoints: [ServicePort.Endpoint]) -> [String] {
        var rules: [String] = []
        if let seconds = port.affinitySeconds {
            rules += endpoints.map { endpoint in
                let sep = endpointChainName(port, endpoint)
                return "-m comment --comment \"\(port.name) -> \(endpoint.ip):\(endpoint.port)\" -m recent --name \(sep) --rcheck --seconds \(seconds) --reap -j \(sep)"
            }
        }
        for (k, endpoint) in endpoints.enumerated() {
            let left = endpoints.count - k
            let statistic = left > 1 ? " -m statistic --mode random --probability \(probability(left))" : ""
            rules.append("-m comment --comment \"\(port.name) -> \(endpoint.ip):\(endpoint.port)\"\(statistic) -j \(endpointChainName(port, endpoint))")
        }
        return rules
    }

    /// 1/n with ten decimals, as kube-proxy formats it (iptables then shows 0.16666666651 for 1/6).
    static func probability(_ n: Int) -> String {
        let scaled = (10_000_000_000 + n / 2) / n
        let text = String(scaled)
        return "0." + String(repeating: "0", count: max(0, 10 - text.count)) + text
    }

    /// kube-proxy's names: the prefix and 16 base32 characters of SHA-256(port name + protocol [+ endpoint]).
    static func chainName(_ prefix: String, _ port: ServicePort) -> String {
        prefix + hash(port.name + port.proto.rawValue)
    }

    static func endpointChainName(_ port: ServicePort, _ endpoint: ServicePort.Endpoint) -> String {
        "KUBE-SEP-" + hash(port.name + port.proto.rawValue + "\(endpoint.ip):\(endpoint.port)")
    }

    static func hash(_ text: String) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
        var bits = 0, value = 0, out = ""
        for byte in SHA256.hash(data: Array(text.utf8)) {
            value = (value << 8) | Int(byte)
            bits += 8
            while bits >= 5 && out.count < 16 {
                out.append(alphabet[(value >> (bits - 5)) & 31])
                bits -= 5
            }
            value &= (1 << bits) - 1
            if out.count == 16 { break }
        }
        return out
    }

    /// `iptables-restore --noflush` input that makes kube-proxy's chains exactly `tables`: each declared
    /// chain is flushed and refilled, chains of ours no longer wanted are deleted, and a missing jump from a
    /// built-in chain is inserted. `existing` is what `iptables-save` printed, so the rest of the ruleset
    /// (anyone else's chains) stays as it is.
    public static func restoreInput(_ tables: [Table], existing: String) -> String {
        let saved = SavedRules(existing)
        var out = ""
        for table in tables {
            out += "*\(table.name)\n"
            for chain in table.chains { out += ":\(chain) - [0:0]\n" }
            let stale = saved.chains[table.name, default: []].filter { isOurs($0) && table.rules[$0] == nil }.sorted()
            for chain in stale { out += ":\(chain) - [0:0]\n" }
            for (jumpTable, chain, rule) in jumps where jumpTable == table.name && !saved.contains(table.name, "-A \(chain) \(rule)") {
                out += "-I \(chain) \(rule)\n"
            }
            for chain in table.chains {
                for rule in table.rules[chain] ?? [] { out += "-A \(chain) \(rule)\n" }
            }
            for chain in stale { out += "-X \(chain)\n" }
            out += "COMMIT\n"
        }
        return out
    }

    static func isOurs(_ chain: String) -> Bool { chain.hasPrefix("KUBE-") }

    /// The parts of `iptables-save` output that matter here: chains per table and rule lines.
    struct SavedRules {
        var chains: [String: Set<String>] = [:]
        var rules: [String: Set<String>] = [:]

        init(_ text: String) {
            var table = ""
            for line in text.split(separator: "\n") {
                if line.hasPrefix("*") {
                    table = String(line.dropFirst())
                } else if line.hasPrefix(":") {
                    chains[table, default: []].insert(String(line.dropFirst().split(separator: " ")[0]))
                } else if line.hasPrefix("-A ") {
                    rules[table, default: []].insert(String(line))
                }
            }
        }

        func contains(_ table: String, _ rule: String) -> Bool { rules[table]?.contains(rule) == true }
    }
}
