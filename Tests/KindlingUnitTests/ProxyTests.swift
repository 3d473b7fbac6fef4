import Foundation
import KindlingAddresses
import KindlingAPI
@testable import KindlingNftables
@testable import KindlingProxy
import Testing

/// The proxy's pure parts: services + endpoint slices -> service ports -> this node's nf_tables table.
@Suite struct ProxyTests {
    static let node = ProxyRules.Node(clusterCIDR: IPv4CIDR("10.244.0.0/16")!)

    /// Services and slices of every shape the renderer distinguishes, written as a user would apply them.
    static let manifests = """
        apiVersion: v1
        kind: Service
        metadata: {name: web, namespace: dev}
        spec:
          clusterIP: 10.96.0.20
          type: NodePort
          externalTrafficPolicy: Cluster
          selector: {app: web}
          ports: [{name: http, port: 80, protocol: TCP, targetPort: http, nodePort: 30000}]
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: local, namespace: dev}
        spec:
          clusterIP: 10.96.0.21
          type: NodePort
          externalTrafficPolicy: Local
          selector: {app: web}
          ports: [{port: 8080, protocol: TCP, nodePort: 30001}]
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: sticky, namespace: dev}
        spec:
          clusterIP: 10.96.0.22
          sessionAffinity: ClientIP
          sessionAffinityConfig: {clientIP: {timeoutSeconds: 60}}
          selector: {app: web}
          ports: [{port: 53, protocol: UDP}]
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: empty, namespace: dev}
        spec:
          clusterIP: 10.96.0.23
          type: NodePort
          selector: {app: none}
          ports: [{port: 80, protocol: TCP, nodePort: 30002}]
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: headless, namespace: dev}
        spec: {clusterIP: None, selector: {app: web}, ports: [{port: 80}]}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: db, namespace: dev}
        spec: {type: ExternalName, externalName: db.example.com}
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata: {name: web-abc, namespace: dev, labels: {kubernetes.io/service-name: web}}
        addressType: IPv4
        ports: [{name: http, port: 8080, protocol: TCP}]
        endpoints:
        - {addresses: [10.244.1.3], nodeName: node-b, conditions: {ready: true}}
        - {addresses: [10.244.0.2], nodeName: node-a, conditions: {ready: true}}
        - {addresses: [10.244.2.2], nodeName: node-c, conditions: {ready: false, serving: true, terminating: true}}
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata: {name: local-abc, namespace: dev, labels: {kubernetes.io/service-name: local}}
        addressType: IPv4
        ports: [{name: "", port: 8080, protocol: TCP}]
        endpoints:
        - {addresses: [10.244.0.2], nodeName: node-a, conditions: {ready: true}}
        - {addresses: [10.244.1.3], nodeName: node-b, conditions: {ready: true}}
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata: {name: sticky-abc, namespace: dev, labels: {kubernetes.io/service-name: sticky}}
        addressType: IPv4
        ports: [{name: "", port: 5353, protocol: UDP}]
        endpoints:
        - {addresses: [10.244.1.4], nodeName: node-b}
        """

    static func objects() throws -> (services: [Service], slices: [EndpointSlice]) {
        let decoder = JSONDecoder()
        var services: [Service] = []
        var slices: [EndpointSlice] = []
        for object in try Manifest.parse(manifests, source: "fixture") {
            if object.kind == "Service" {
                var service = try decoder.decode(Service.self, from: object.json)
                service.applyDefaults()
                services.append(service)
            } else {
                slices.append(try decoder.decode(EndpointSlice.self, from: object.json))
            }
        }
        return (services, slices)
    }

    static func ports(nodeName: String = "node-a", dropping: String? = nil) throws -> [ServicePort] {
        let (services, slices) = try objects()
        let kept = slices.map { slice in
            var slice = slice
            slice.endpoints = slice.endpoints?.filter { $0.addresses.first != dropping }
            return slice
        }
        return ServicePort.from(services: services, slices: kept, nodeName: nodeName)
    }

    @Test func servicePortsResolveSlicesByPortName() throws {
        let ports = try ProxyTests.ports()
        #expect(ports.map(\.name) == ["dev/empty", "dev/local", "dev/sticky", "dev/web:http"])
        let web = try #require(ports.last)
        #expect(web.port == 80 && web.nodePort == 30000 && web.proto == .tcp)
        #expect(web.endpoints.map(\.description) == ["10.244.0.2/8080", "10.244.1.3/8080", "10.244.2.2/8080"])
        #expect(web.endpoints.filter(\.isLocal).map(\.description) == ["10.244.0.2/8080"])
        // The terminating endpoint is left out while others are ready...
        #expect(web.clusterEndpoints.map(\.description) == ["10.244.0.2/8080", "10.244.1.3/8080"])
        // ...and used when it is the only one still serving.
        #expect(ServicePort.usable(web.endpoints.filter(\.terminating)).map(\.description) == ["10.244.2.2/8080"])
        // Unset conditions mean ready.
        #expect(ports[2].endpoints.first?.ready == true && ports[2].affinitySeconds == 60)
        #expect(ports[0].endpoints.isEmpty)
    }

    @Test func externalTrafficPolicyLocalUsesOnlyThisNodesEndpoints() throws {
        let onA = try ProxyTests.ports(nodeName: "node-a").first { $0.service == "local" }!
        #expect(onA.externalEndpoints.map(\.description) == ["10.244.0.2/8080"])
        #expect(onA.clusterEndpoints.count == 2)
        let onC = try ProxyTests.ports(nodeName: "node-c").first { $0.service == "local" }!
        #expect(onC.externalEndpoints.isEmpty)
        let table = ProxyRules.render([onC], node: ProxyTests.node)
        // Other nodes' endpoints exist: external traffic here is dropped (kube-proxy's choice), not rejected.
        #expect(table.sets.first { $0.name == "no-endpoint-nodeports" }?.elements == ["tcp . 30001": "drop"])
    }

    @Test func fullRulesetMatchesGolden() throws {
        let table = ProxyRules.render(try ProxyTests.ports(), node: ProxyTests.node)
        try Golden.expect(table.fullSyncCommands, "proxy-full.nft")
    }

    /// The difference a sync sends when `old` ports become `new`.
    static func delta(_ old: [ServicePort], _ new: [ServicePort]) -> NftTable.Delta? {
        var state = ProxyTableState(old, node: node)
        return state.update(to: new)
    }

    @Test func partialSyncWritesOnlyTheDifference() throws {
        let commands = try #require(Self.delta(try ProxyTests.ports(), try ProxyTests.ports(dropping: "10.244.1.3"))?.commands)
        try Golden.expect(commands, "proxy-partial.nft")
        #expect(Self.delta(try ProxyTests.ports(), try ProxyTests.ports())?.commands == "")
        #expect(!commands.contains("delete table") && !commands.contains("service-dev/sticky"))
    }

    @Test func endpointsSitInSlotsThatSharedChainsPickUniformly() throws {
        #expect((1...9).map(Slots.capacity) == [1, 2, 4, 4, 8, 8, 8, 8, 16])
        let endpoints = (2...4).map { ServicePort.Endpoint(ip: IPv4Address("10.244.0.\($0)")!, port: 80, isLocal: false) }
        let port = ServicePort(namespace: "ns", service: "s", clusterIP: IPv4Address("10.96.0.9")!, port: 80, endpoints: endpoints)
        let table = ProxyRules.render([port], node: ProxyTests.node)
        #expect(table.chains.first { $0.name == "service-ns/s/tcp/" }?.rules == ["goto pick-4-service-endpoints"])
        #expect(table.sets.first { $0.name == "service-endpoints" }?.elements == [
            "10.96.0.9 . tcp . 80 . 0": "10.244.0.2 . 80", "10.96.0.9 . tcp . 80 . 1": "10.244.0.3 . 80", "10.96.0.9 . tcp . 80 . 2": "10.244.0.4 . 80",
        ])
        let pick = try #require(table.chains.first { $0.name == "pick-4-service-endpoints" })
        #expect(pick.rules.count == Slots.draws + 1)
        #expect(pick.rules.first == "dnat ip to ip daddr . meta l4proto . th dport . numgen random mod 4 map @service-endpoints")
        #expect(pick.rules.last == "dnat ip to ip daddr . meta l4proto . th dport . numgen random mod 1 map @service-endpoints")
        // Chains up to capacity 16 exist for every map in use, whatever the counts, and none for unused maps.
        #expect(table.chains.filter { $0.name.hasPrefix("pick-") }.map(\.name) == [1, 2, 4, 8, 16].map { "pick-\($0)-service-endpoints" })
        // Every draw is uniform over the filled slots; only the fallback after `draws` misses favours slot 0.
        for count in 1...40 {
            let capacity = Double(Slots.capacity(count))
            let fallback = pow((capacity - Double(count)) / capacity, Double(capacity <= 2 ? 1 : Slots.draws))
            #expect(fallback * (1 - 1 / Double(count)) < 0.004, "\(count) endpoints")
        }
    }

    @Test func lookupIsOneMapWhateverTheNumberOfServices() throws {
        let ports = try ProxyTests.ports()
        let table = ProxyRules.render(ports + ports.map { port in
            ServicePort(namespace: "other", service: port.service, portName: port.portName, proto: port.proto,
                        clusterIP: IPv4Address(port.clusterIP.value + 100), port: port.port, nodePort: nil, externalIPs: [],
                        externalPolicyLocal: false, internalPolicyLocal: false, affinitySeconds: nil, endpoints: port.endpoints)
        }, node: ProxyTests.node)
        let services = try #require(table.chains.first { $0.name == "services" })
        #expect(services.rules.count == 3)
        #expect(!table.chains.contains { $0.name.hasPrefix("endpoint-") })
        #expect(table.sets.first { $0.name == "service-ips" }?.elements.count == 6)
    }
}

extension ProxyTests {
    @Test func conntrackEntriesOfRemovedUDPEndpointsAreDeleted() throws {
        let before = try ProxyTests.ports()
        let after = try ProxyTests.ports(dropping: "10.244.1.4")
        // Only the UDP service's endpoint went away; TCP endpoints need no cleanup (their connections end).
        #expect(ConntrackCleanup.commands(old: before, new: after) == [
            ["-D", "-p", "udp", "--orig-dst", "10.96.0.22", "--dst-nat", "10.244.1.4"],
        ])
        // Back again: the service had no endpoint, now has one.
        #expect(ConntrackCleanup.commands(old: after, new: before) == [["-D", "-p", "udp", "--orig-dst", "10.96.0.22"]])
        #expect(ConntrackCleanup.commands(old: before, new: before).isEmpty)
        #expect(ConntrackCleanup.commands(old: before, new: []) == [["-D", "-p", "udp", "--orig-dst", "10.96.0.22", "--orig-port-dst", "53"]])
    }
}

/// The iptables backend's renderer: kube-proxy's chain names, probabilities and restore input.
@Suite struct IptablesRulesTests {
    @Test func chainNamesAreKubeProxysOwn() {
        // The names kube-proxy gives ns1/svc1:p80 and its endpoint 10.180.0.1:80 in its own tests.
        let port = ServicePort(namespace: "ns1", service: "svc1", portName: "p80", clusterIP: IPv4Address("172.30.0.41")!, port: 80,
                               endpoints: [.init(ip: IPv4Address("10.180.0.1")!, port: 80, isLocal: false)])
        #expect(IptablesRules.chainName("KUBE-SVC-", port) == "KUBE-SVC-XPGD46QRK7WJZT7O")
        #expect(IptablesRules.endpointChainName(port, port.endpoints[0]) == "KUBE-SEP-SXIVWICOYRO3J4NJ")
    }

    @Test func probabilitiesAsKubeProxyWritesThem() {
        #expect((2...6).reversed().map(IptablesRules.probability) == ["0.1666666667", "0.2000000000", "0.2500000000", "0.3333333333", "0.5000000000"])
    }

    @Test func restoreInputMatchesGolden() throws {
        let tables = IptablesRules.render(try ProxyTests.ports(), node: ProxyTests.node)
        try Golden.expect(IptablesRules.restoreInput(tables, existing: ""), "proxy-iptables.rules")
    }

    @Test func restoreKeepsJumpsOnceAndDeletesStaleChains() {
        let tables = IptablesRules.render([], node: ProxyTests.node)
        let existing = """
            *nat
            :PREROUTING ACCEPT [0:0]
            :KUBE-SERVICES - [0:0]
            :KUBE-SVC-OLD - [0:0]
            :DOCKER - [0:0]
            -A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
            -A KUBE-SERVICES -j KUBE-SVC-OLD
            COMMIT
            """
        let input = IptablesRules.restoreInput(tables, existing: existing)
        #expect(!input.contains("-I PREROUTING") && input.contains("-I OUTPUT -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES"))
        #expect(input.contains(":KUBE-SVC-OLD - [0:0]\n") && input.contains("-X KUBE-SVC-OLD\n"))
        #expect(!input.contains("DOCKER"))
    }
}

extension ProxyTests {
    @Test func elementsEncodeAsTheKernelStoresThem() {
        typealias Layout = NftTable.ElementLayout
        // In a concatenation each field takes four bytes: address, protocol, port in network order, slot in host order.
        let slot: [UInt8] = withUnsafeBytes(of: UInt32(3), Array.init)
        #expect(Layout.encode("10.96.0.20 . tcp . 80 . 3", [.ipv4, .proto, .port, .slot]) == [10, 96, 0, 20, 6, 0, 0, 0, 0, 80, 0, 0] + slot)
        #expect(Layout.encode("10.244.0.2 . 8080", [.ipv4, .port]) == [10, 244, 0, 2, 0x1f, 0x90, 0, 0])
        #expect(Layout.encode("udp . 30000 . 0", [.proto, .port, .slot]) == [17, 0, 0, 0, 0x75, 0x30, 0, 0, 0, 0, 0, 0])
        #expect(Layout.encode("10.96.0.20", [.ipv4]) == [10, 96, 0, 20])
        for (text, fields) in [("10.96.0.20 . sctp . 80", [Layout.Field.ipv4, .proto, .port]), ("10.96.0.20 . tcp", [.ipv4, .proto, .port]),
                               ("10.96.0.256", [.ipv4]), ("tcp . 70000", [.proto, .port]), ("tcp . -1", [.proto, .slot])] {
            #expect(Layout.encode(text, fields) == nil, "\(text)")
        }
    }

    @Test func anEndpointChangeIsARawBatchAndOtherChangesAreText() throws {
        typealias Layout = NftTable.ElementLayout
        // Without the sticky (affinity) and the Local service, an endpoint removed is map elements and chains
        // of gotos only (two endpoints to one: the chains move to the smaller pick chains).
        let plain = try ProxyTests.ports().filter { $0.affinitySeconds == nil && !$0.externalPolicyLocal }
        let dropped = try ProxyTests.ports(dropping: "10.244.1.3").filter { $0.affinitySeconds == nil && !$0.externalPolicyLocal }
        let delta = try #require(Self.delta(plain, dropped))
        let key = Layout.encode("10.96.0.20 . tcp . 80 . 1", [.ipv4, .proto, .port, .slot])!
        #expect(delta.batchOperations == [
            .element(set: "hairpin-endpoints", add: false, key: Layout.encode("10.244.1.3 . 10.244.1.3", [.ipv4, .ipv4])!, value: nil),
            .element(set: "service-endpoints", add: false, key: key, value: nil),
            .element(set: "nodeport-endpoints", add: false, key: Layout.encode("tcp . 30000 . 1", [.proto, .port, .slot])!, value: nil),
            .flush(chain: "service-dev/web/tcp/http"),
            .verdict(chain: "service-dev/web/tcp/http", goto: true, target: "pick-1-service-endpoints"),
            .flush(chain: "nodeport-dev/web/tcp/http"),
            .verdict(chain: "nodeport-dev/web/tcp/http", goto: false, target: "mark-for-masquerade"),
            .verdict(chain: "nodeport-dev/web/tcp/http", goto: true, target: "pick-1-nodeport-endpoints"),
        ])
        // An endpoint replaced by another (a pod re-created) is elements only.
        let replaced = plain.map { port in port.with(endpoints: port.endpoints.map { endpoint in
            endpoint.ip == IPv4Address("10.244.1.3")! ? ServicePort.Endpoint(ip: IPv4Address("10.244.1.9")!, port: 8080, isLocal: false) : endpoint
        }) }
        let replacing = try #require(Self.delta(plain, replaced)?.batchOperations)
        #expect(replacing.allSatisfy { if case .element = $0 { true } else { false } } && replacing.count == 6)
        #expect(replacing.contains(.element(set: "service-endpoints", add: true, key: key,
                                            value: Layout.encode("10.244.1.9 . 8080", [.ipv4, .port])!)))
        // A new service adds chains and map elements with verdicts, and a Local service's chains match
        // addresses: those go as text.
        #expect(Self.delta(plain, try ProxyTests.ports())?.batchOperations == nil)
        let local = try ProxyTests.ports().filter { $0.externalPolicyLocal }, localDropped = try ProxyTests.ports(dropping: "10.244.1.3").filter { $0.externalPolicyLocal }
        #expect(Self.delta(local, localDropped)?.batchOperations == nil)
        #expect(Self.delta(plain, plain)?.batchOperations == [])
    }
}

extension ProxyTests {
    /// A table as plain values: chain -> rules, set -> elements.
    struct Model: Equatable {
        var chains: [String: [String]] = [:]
        var sets: [String: [String: String]] = [:]

        init(_ table: NftTable) {
            for chain in table.chains { chains[chain.name] = chain.rules }
            for set in table.sets { sets[set.name] = set.elements }
        }

        /// What the kernel holds after `delta` (in the order `Delta.commands` writes it).
        mutating func apply(_ delta: NftTable.Delta) {
            for set in delta.newSets { sets[set.name] = set.elements }
            for chain in delta.newChains + delta.changedChains { chains[chain.name] = chain.rules }
            for (set, keys) in delta.staleElements { for key in keys { sets[set.name]?[key] = nil } }
            for (set, keys) in delta.addedElements { for key in keys { sets[set.name]?[key] = set.elements[key] } }
            for chain in delta.deletedChains { chains[chain] = nil }
            for set in delta.deletedSets { sets[set.name] = nil }
        }
    }

    /// Random service ports changing step by step, sharing pods, cluster IPs and external IPs: after every
    /// step, the table the differences built equals the table rendered whole.
    @Test func differencesAddUpToTheWholeTable() {
        var seed: UInt64 = 0x5eed
        func random(_ n: Int) -> Int {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Int((seed >> 33) % UInt64(n))
        }
        let pods = (2...9).map { IPv4Address("10.244.\($0 % 3).\($0)")! }
        func port(_ service: Int, _ index: Int) -> ServicePort {
            let endpoints = pods.filter { _ in random(3) == 0 }.map {
                ServicePort.Endpoint(ip: $0, port: 8080, isLocal: $0.description.hasPrefix("10.244.0."), ready: random(5) != 0)
            }
            return ServicePort(namespace: "ns", service: "s\(service)", portName: "p\(index)", proto: random(4) == 0 ? .udp : .tcp,
                               clusterIP: IPv4Address("10.96.0.\(service + 1)")!, port: 80 + index,
                               nodePort: random(2) == 0 ? 30000 + service * 2 + index : nil,
                               externalIPs: random(3) == 0 ? [IPv4Address("172.18.0.\(200 + random(2))")!] : [],
                               externalPolicyLocal: random(2) == 0, internalPolicyLocal: random(6) == 0,
                               affinitySeconds: random(5) == 0 ? 30 : nil, endpoints: endpoints)
        }
        var ports: [String: ServicePort] = [:]
        var state = ProxyTableState([], node: ProxyTests.node)
        var model = Model(state.table)
        for step in 0..<400 {
            let (service, index) = (random(6), random(2))
            let id = "s\(service)/\(index)"
            if random(4) == 0 { ports[id] = nil } else { ports[id] = port(service, index) }
            let current = Array(ports.values)
            guard let delta = state.update(to: current) else { Issue.record("step \(step): no delta"); return }
            model.apply(delta)
            let whole = ProxyRules.render(current, node: ProxyTests.node)
            #expect(model == Model(state.table), "step \(step)")
            guard model == Model(whole) else {
                let expected = Model(whole)
                let chains = Set(model.chains.keys).union(expected.chains.keys).filter { model.chains[$0] != expected.chains[$0] }
                let sets = Set(model.sets.keys).union(expected.sets.keys).filter { model.sets[$0] != expected.sets[$0] }
                Issue.record("step \(step): chains \(chains.sorted()) and sets \(sets.sorted()) differ from the whole table's")
                return
            }
        }
    }
}

extension ProxyTests {
    /// Services and slices changing at random: the incremental resolver gives what resolving everything gives,
    /// and its changes clean up the same conntrack entries as comparing everything.
    @Test func resolvingOnlyWhatChangedMatchesResolvingEverything() throws {
        var seed: UInt64 = 0xca11
        func random(_ n: Int) -> Int {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Int((seed >> 33) % UInt64(n))
        }
        let decoder = JSONDecoder()
        var version = 0
        func service(_ i: Int) throws -> Service {
            version += 1
            let proto = random(2) == 0 ? "UDP" : "TCP"
            var service = try decoder.decode(Service.self, from: Data("""
                {"metadata":{"name":"s\(i)","namespace":"ns","resourceVersion":"\(version)"},
                 "spec":{"clusterIP":"10.96.0.\(i + 1)","selector":{"app":"a"},"ports":[{"name":"p","port":\(80 + random(2)),"protocol":"\(proto)"}]}}
                """.utf8))
            service.applyDefaults()
            return service
        }
        func slice(_ i: Int, _ n: Int) throws -> EndpointSlice {
            version += 1
            let endpoints = (0..<random(4)).map { _ in
                #"{"addresses":["10.244.\#(random(2)).\#(2 + random(6))"],"nodeName":"node-\#(random(2) == 0 ? "a" : "b")"}"#
            }
            return try decoder.decode(EndpointSlice.self, from: Data("""
                {"metadata":{"name":"s\(i)-\(n)","namespace":"ns","resourceVersion":"\(version)","labels":{"kubernetes.io/service-name":"s\(random(4) == 0 ? (i + 1) % 5 : i)"}},
                 "addressType":"IPv4","ports":[{"name":"p","port":8080,"protocol":"\(random(2) == 0 ? "UDP" : "TCP")"}],"endpoints":[\(endpoints.joined(separator: ","))]}
                """.utf8))
        }
        func sorted(_ ports: [ServicePort]) -> [ServicePort] { ports.sorted { ($0.name, $0.proto) < ($1.name, $1.proto) } }
        var services: [String: Service] = [:]
        var slices: [String: EndpointSlice] = [:]
        var resolver = ServicePortResolver(nodeName: "node-a")
        var previous: [ServicePort] = []
        for step in 0..<300 {
            let i = random(5)
            switch random(5) {
            case 0: services["ns/s\(i)"] = nil
            case 1, 2: services["ns/s\(i)"] = try service(i)
            case 3: slices["ns/s\(i)-\(random(2))"] = nil
            default: let n = random(2); slices["ns/s\(i)-\(n)"] = try slice(i, n)
            }
            let (ports, changes) = resolver.resolve(services: services, slices: slices)
            let everything = ServicePort.from(services: Array(services.values), slices: Array(slices.values), nodeName: "node-a")
            #expect(sorted(ports) == everything, "step \(step)")
            #expect(Set(ConntrackCleanup.commands(old: changes.old, new: changes.new)) == Set(ConntrackCleanup.commands(old: previous, new: everything)),
                    "step \(step)")
            previous = everything
        }
    }
}
