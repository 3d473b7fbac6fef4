import Foundation
import KindlingAddresses
import KindlingAPI
@testable import KindlingAgent
import KindlingNftables
import KindlingPolicy
@testable import KindlingProxy
import Testing

/// The proxy's and the policy's writers against the model of nf_tables: which transaction each sync sends,
/// what happens when the kernel refuses one, and how a table someone else changed comes back.
@Suite struct NftablesAppliersTests {
    /// One service with `count` endpoints: from 4 to 3 and back, only slots' elements change (a raw batch).
    static func web(_ count: Int) -> [ServicePort] {
        let endpoints = (0..<count).map { ServicePort.Endpoint(ip: IPv4Address("10.244.0.\(2 + $0)")!, port: 8080, isLocal: false) }
        return [ServicePort(namespace: "dev", service: "web", clusterIP: IPv4Address("10.96.0.9")!, port: 80, endpoints: endpoints)]
    }

    /// ProxyTests' services of every shape, and one endpoint fewer: chains change too (libnftables text).
    static func changes() throws -> [(first: [ServicePort], second: [ServicePort])] {
        [(try ProxyTests.ports(), try ProxyTests.ports(dropping: "10.244.1.3")), (web(4), web(3))]
    }

    /// The table a full sync of `ports` leaves, as the model lists it.
    static func fullSyncListing(_ ports: [ServicePort]) throws -> String {
        let nftables = FakeNftables()
        _ = try NftablesBackend(node: ProxyTests.node, nftables: nftables).sync(ports)
        return try nftables.run("list table ip \(ProxyRules.tableName)")
    }

    @Test(arguments: [0, 1]) func partialSyncsLeaveWhatAFullSyncWould(change: Int) throws {
        let (first, second) = try Self.changes()[change]
        let nftables = FakeNftables()
        let backend = NftablesBackend(node: ProxyTests.node, nftables: nftables)
        #expect(try backend.sync(first).0 == .full)
        #expect(try backend.sync(first).0 == .unchanged)
        #expect(try backend.sync(second).0 == .partial)
        #expect(try nftables.run("list table ip kindling") == Self.fullSyncListing(second))
        #expect(try backend.sync(first).0 == .partial)
        #expect(try nftables.run("list table ip kindling") == Self.fullSyncListing(first))
        let channel: FakeNftables.Channel = change == 1 ? .batch : .text
        #expect((ProxyTests.delta(first, second)?.batchOperations != nil) == (change == 1))
        #expect(nftables.commits == [.text, channel, channel])
    }

    @Test func aRefusedBatchGoesAsTextAndRefusedTextAsAFullSync() throws {
        let nftables = FakeNftables()
        let backend = NftablesBackend(node: ProxyTests.node, nftables: nftables)
        let (first, second) = (Self.web(4), Self.web(3))
        _ = try backend.sync(first)
        nftables.refuseNext(.batch)
        #expect(try backend.sync(second).0 == .partial)
        nftables.refuseNext(.batch, .text)
        #expect(try backend.sync(first).0 == .full)
        #expect(nftables.commits == [.text, .text, .text])
        #expect(try nftables.run("list table ip kindling") == Self.fullSyncListing(first))
        // A full sync the kernel refuses throws, and the table stays as it was; the next sync writes it whole.
        let before = try nftables.run("list table ip kindling")
        nftables.refuseNext(.batch, .text, .text)
        #expect(throws: NftablesError.self) { try backend.sync(second) }
        #expect(try nftables.run("list table ip kindling") == before)
        #expect(try backend.sync(second).0 == .full)
    }

    @Test func aTableChangedBehindTheProxysBackIsWrittenWhole() throws {
        let nftables = FakeNftables()
        let backend = NftablesBackend(node: ProxyTests.node, nftables: nftables)
        let ports = try ProxyTests.ports()
        _ = try backend.sync(ports)
        #expect(try !backend.drifted())
        try nftables.run("flush chain ip kindling services")
        #expect(try backend.drifted())
        #expect(try backend.sync(ports).0 == .full)
        #expect(try !backend.drifted())
        try nftables.run("delete table ip kindling")
        #expect(try backend.sync(ports).0 == .full)
        #expect(try nftables.run("list table ip kindling") == Self.fullSyncListing(ports))
    }

    static func policyTable(allowing cidr: String) -> NftTable {
        var policy = NetworkPolicy(namespace: "x", name: "web", spec: .init(
            podSelector: LabelSelector(matchLabels: ["app": "web"]), ingress: [.init(from: [.init(ipBlock: .init(cidr: cidr))])]))
        policy.applyDefaults()
        let pod = PolicyPod(namespace: "x", name: "web", ip: IPv4Address("10.244.1.2")!, labels: ["app": "web"])
        return PolicyRules.render(PolicyState(policies: [policy], pods: [pod], namespaceLabels: [:], localIPs: [pod.ip]))
    }

    @Test func thePolicyTableIsWrittenOnceAndRepairedWhenChanged() throws {
        let nftables = FakeNftables()
        let applier = PolicyApplier(nftables)
        let table = Self.policyTable(allowing: "10.1.0.0/16")
        #expect(try applier.drifted())
        #expect(try applier.apply(table, full: true))
        #expect(try !applier.apply(table, full: false))
        #expect(try !applier.drifted())
        // Another table's commit moves the generation: a full sync finds the policy table as written.
        try nftables.run("add table ip other")
        #expect(try applier.drifted())
        #expect(try !applier.apply(table, full: true))
        #expect(try !applier.drifted())
        // A rule taken out by hand, or the whole table, comes back on the next full sync.
        try nftables.run("flush chain inet kindling-policy ingress-10.244.1.2")
        #expect(try applier.drifted())
        #expect(try applier.apply(table, full: true))
        try nftables.run("delete table inet kindling-policy")
        #expect(try applier.apply(table, full: true))
        #expect(nftables.table("inet", PolicyRules.table) == table)
        // A changed policy is written, in one transaction.
        let commits = nftables.commits.count
        #expect(try applier.apply(Self.policyTable(allowing: "10.2.0.0/16"), full: false))
        #expect(nftables.commits.count == commits + 1)
    }

    @Test func aRefusedPolicyTableLeavesTheOldOneAndIsTriedAgain() throws {
        let nftables = FakeNftables()
        let applier = PolicyApplier(nftables)
        let old = Self.policyTable(allowing: "10.1.0.0/16"), new = Self.policyTable(allowing: "10.2.0.0/16")
        _ = try applier.apply(old, full: true)
        nftables.refuseNext(.text)
        #expect(throws: NftablesError.self) { try applier.apply(new, full: false) }
        #expect(nftables.table("inet", PolicyRules.table) == old)
        #expect(try applier.drifted())
        #expect(try applier.apply(new, full: false))
        #expect(nftables.table("inet", PolicyRules.table) == new)
    }

    @Test func policyTableMatchesGolden() throws {
        let pods = [
            PolicyPod(namespace: "x", name: "a", ip: IPv4Address("10.244.1.2")!, labels: ["pod": "a"], namedPorts: [.init(name: "http", proto: "TCP", port: 8080)]),
            PolicyPod(namespace: "x", name: "b", ip: IPv4Address("10.244.2.2")!, labels: ["pod": "b"]),
            PolicyPod(namespace: "y", name: "c", ip: IPv4Address("10.244.1.3")!, labels: ["pod": "c"], namedPorts: [.init(name: "http", proto: "TCP", port: 9090)]),
        ]
        var policies = [
            NetworkPolicy(namespace: "x", name: "deny-all", spec: .init(podSelector: LabelSelector(), policyTypes: ["Ingress", "Egress"])),
            NetworkPolicy(namespace: "x", name: "web", spec: .init(
                podSelector: LabelSelector(matchLabels: ["pod": "a"]),
                ingress: [
                    .init(from: [.init(podSelector: LabelSelector(matchLabels: ["pod": "b"])), .init(ipBlock: .init(cidr: "172.18.0.0/16", except: ["172.18.1.0/24"]))],
                          ports: [.init(port: .int(80)), .init(port: .int(8000), endPort: 8100), .init(protocol: "UDP", port: .int(53))]),
                    .init(ports: [.init(port: .string("http"))]),
                ],
                egress: [.init(to: [.init(namespaceSelector: LabelSelector())], ports: [.init(port: .string("http"))])])),
        ]
        for index in policies.indices { policies[index].applyDefaults() }
        let table = PolicyRules.render(PolicyState(policies: policies, pods: pods, namespaceLabels: [:], localIPs: [pods[0].ip, pods[2].ip]))
        try Golden.expect(table.fullSyncCommands, "policy.nft")
        // The model takes it as the kernel would: every verdict names a chain that exists.
        try FakeNftables().run(table.fullSyncCommands)
    }
}
