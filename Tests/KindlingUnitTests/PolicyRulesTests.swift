import KindlingAddresses
import KindlingAPI
import KindlingNftables
import KindlingPolicy
import Testing

/// The policy table of one node, rendered from policies, pods and namespaces: who is isolated, which peers
/// and ports each rule allows, named ports resolved where Kubernetes resolves them.
@Suite struct PolicyRulesTests {
    static func pod(_ namespace: String, _ name: String, _ ip: String, ports: [PolicyPod.NamedPort] = []) -> PolicyPod {
        PolicyPod(namespace: namespace, name: name, ip: IPv4Address(ip)!, labels: ["pod": name], namedPorts: ports)
    }

    let pods = [
        pod("x", "a", "10.244.1.2", ports: [.init(name: "http", proto: "TCP", port: 8080)]),
        pod("x", "b", "10.244.2.2"),
        pod("y", "a", "10.244.1.3", ports: [.init(name: "http", proto: "TCP", port: 9090)]),
        pod("y", "b", "10.244.2.3", ports: [.init(name: "http", proto: "TCP", port: 9090)]),
    ]
    let namespaces = ["x": ["kubernetes.io/metadata.name": "x"], "y": ["kubernetes.io/metadata.name": "y", "team": "blue"]]

    /// The table as the kernel lists it once written, in a model of nf_tables that refuses what the kernel
    /// refuses (a verdict naming a missing chain, say).
    func render(_ policies: [NetworkPolicy], local: [String] = ["10.244.1.2", "10.244.1.3"]) throws -> String {
        let nftables = FakeNftables()
        try nftables.run(table(policies, local: local).fullSyncCommands)
        return try nftables.run("list table inet \(PolicyRules.table)")
    }

    func table(_ policies: [NetworkPolicy], local: [String] = ["10.244.1.2", "10.244.1.3"]) -> NftTable {
        var defaulted = policies
        for i in defaulted.indices { defaulted[i].applyDefaults() }
        return PolicyRules.render(PolicyState(policies: defaulted, pods: pods, namespaceLabels: namespaces,
                                              localIPs: Set(local.compactMap(IPv4Address.init))))
    }

    func policy(_ name: String, selecting labels: [String: String] = ["pod": "a"], _ spec: NetworkPolicy.Spec, namespace: String = "x") -> NetworkPolicy {
        var spec = spec
        spec.podSelector = LabelSelector(matchLabels: labels)
        return NetworkPolicy(namespace: namespace, name: name, spec: spec)
    }

    @Test func podsNoPolicySelectsAreNotInTheMaps() throws {
        let table = try render([])
        #expect(table == "table inet kindling-policy {\n\tchain forward {\n\t\ttype filter hook forward priority filter; policy accept;\n\t\tct state established,related accept\n\t}\n}\n")
    }

    @Test func denyAllIsAChainThatOnlyDrops() throws {
        let table = try render([policy("deny", selecting: [:], .init(policyTypes: ["Ingress"]))])
        #expect(table.contains("\t\tip daddr vmap { 10.244.1.2 : jump ingress-10.244.1.2 }\n"))
        #expect(table.contains("\tchain ingress-10.244.1.2 {\n\t\tdrop\n\t}\n"))
        // Only pods of the policy's namespace, and only this node's.
        #expect(!table.contains("10.244.1.3 :") && !table.contains("10.244.2.2 :"))
        #expect(!table.contains("saddr vmap"))
    }

    @Test func peersBecomeAddressSetsAndBlocks() throws {
        let peers: [NetworkPolicy.Peer] = [
            .init(podSelector: LabelSelector(matchLabels: ["pod": "b"])),
            .init(namespaceSelector: LabelSelector(matchLabels: ["team": "blue"])),
            .init(podSelector: LabelSelector(matchLabels: ["pod": "b"]), namespaceSelector: LabelSelector(matchLabels: ["team": "blue"])),
            .init(ipBlock: .init(cidr: "172.18.0.0/16", except: ["172.18.1.0/24", "172.18.1.128/25"])),
            .init(podSelector: LabelSelector(matchLabels: ["pod": "nobody"])),
        ]
        let table = try render([policy("web", .init(ingress: [.init(from: peers)]))])
        // The three selector peers as one set (x/b; y's pods; y/b), the block with its except apart; a selector
        // that selects nobody adds nobody.
        #expect(table.contains("\t\tip saddr { 10.244.1.3, 10.244.2.2, 10.244.2.3 } return comment \"x/web ingress[0]\"\n"))
        #expect(table.contains("\t\tip saddr { 172.18.0.0/16 } ip saddr != { 172.18.1.0/24 } return comment \"x/web ingress[0]\"\n"))
        #expect(table.components(separatedBy: "return comment").count - 1 == 2)
    }

    /// Many policies allowing address blocks on the same ports are one rule with one set (a lookup per new
    /// connection), blocks inside other blocks dropped so the set's intervals never overlap.
    @Test func addressOnlyRulesWithTheSamePortsShareOneSet() throws {
        let policies = (0..<3).map { i in
            policy("p\(i)", .init(ingress: [.init(from: [.init(ipBlock: .init(cidr: i == 2 ? "10.1.0.0/16" : "10.1.\(i).0/24"))],
                                                    ports: [.init(port: .int(80))])]))
        }
        let table = try render(policies)
        #expect(table.contains("\t\tip saddr { 10.1.0.0/16 } meta l4proto tcp th dport { 80 } return comment \"x/p0 ingress[0] and 2 more\"\n"), "\(table)")
    }

    @Test func portsMergePerProtocolAndNamedPortsResolveOnTheRightPod() throws {
        let ports: [NetworkPolicy.Port] = [.init(port: .int(80)), .init(port: .int(80), endPort: 90), .init(protocol: "UDP", port: .int(53)),
                                           .init(protocol: "SCTP"), .init(port: .string("http"))]
        let ingress = try render([policy("in", .init(ingress: [.init(ports: ports)]))])
        #expect(ingress.contains("meta l4proto tcp th dport { 80-90 } return"))
        #expect(ingress.contains("meta l4proto udp th dport { 53 } return"))
        #expect(ingress.contains("meta l4proto sctp return"))
        // Ingress: x/a's own port named http.
        #expect(ingress.contains("\t\tmeta l4proto tcp th dport 8080 return"))
        let egress = try render([policy("out", .init(policyTypes: ["Egress"], egress: [.init(ports: [.init(port: .string("http"))])]))])
        #expect(egress.contains("\t\tip saddr vmap { 10.244.1.2 : jump egress-10.244.1.2 }\n") && !egress.contains("daddr vmap"))
        // Egress: each destination's own port of that name.
        #expect(egress.contains("ip daddr { 10.244.1.2 } meta l4proto tcp th dport 8080 return"))
        #expect(egress.contains("ip daddr { 10.244.1.3, 10.244.2.3 } meta l4proto tcp th dport 9090 return"))
    }

    @Test func policiesOnOnePodAreAUnionInNameOrder() throws {
        let table = try render([
            policy("b-second", .init(ingress: [.init(from: [.init(podSelector: LabelSelector(matchLabels: ["pod": "b"]))])])),
            policy("a-first", .init(ingress: [.init()])),
        ])
        let first = table.range(of: "x/a-first")!, second = table.range(of: "x/b-second")!
        #expect(first.lowerBound < second.lowerBound)
        #expect(table.contains("\t\treturn comment \"x/a-first ingress[0]\"\n"))
    }

    @Test func egressIsAPolicyTypeOnlyWithEgressRules() {
        var empty = NetworkPolicy(namespace: "x", name: "e", spec: .init(egress: []))
        empty.applyDefaults()
        #expect(empty.spec.policyTypes == ["Ingress"])
        var some = NetworkPolicy(namespace: "x", name: "e", spec: .init(egress: [.init()]))
        some.applyDefaults()
        #expect(some.spec.policyTypes == ["Ingress", "Egress"])
    }

    @Test func validationSpeaksKubernetesWords() {
        var bad = NetworkPolicy(namespace: "x", name: "bad", spec: .init(policyTypes: ["Sideways"], ingress: [
            .init(from: [.init(), .init(podSelector: LabelSelector(), ipBlock: .init(cidr: "10.0.0.0/8"))],
                  ports: [.init(port: .int(90), endPort: 80), .init(protocol: "ICMP")]),
            .init(from: [.init(ipBlock: .init(cidr: "10.0.0.0/8", except: ["11.0.0.0/8"]))]),
        ]))
        bad.applyDefaults()
        let messages = bad.validate().map(\.description)
        #expect(messages.contains(#"spec.policyTypes[0]: Unsupported value: "Sideways": supported values: "Ingress", "Egress""#))
        #expect(messages.contains("spec.ingress[0].from[0]: Required value: must specify a peer"))
        #expect(messages.contains("spec.ingress[0].from[1]: Forbidden: may not specify both ipBlock and another peer"))
        #expect(messages.contains("spec.ingress[0].ports[0].endPort: Invalid value: 80: must be greater than or equal to `port`"))
        #expect(messages.contains(#"spec.ingress[0].ports[1].protocol: Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP""#))
        #expect(messages.contains(#"spec.ingress[1].from[0].ipBlock.except[0]: Invalid value: "11.0.0.0/8": must be a strict subset of `cidr`"#))
    }
}
