import Foundation
import KindlingAddresses
import KindlingAPI
import KindlingNet
@testable import KindlingNftables
@testable import KindlingProxy
import Testing

/// The applier against the real kernel, in a throwaway node namespace: full and partial syncs leave the
/// same table, drift is noticed and repaired, and a failed transaction changes nothing.
@Suite(.enabled(if: isRoot, "needs root: programs nf_tables in a network namespace"))
struct ProxyApplierTests {
    static let node = ProxyRules.Node(clusterCIDR: IPv4CIDR("10.244.0.0/16")!)

    /// Three services: a NodePort with two endpoints (or one, without `dropping`), a sticky UDP one and
    /// one without endpoints.
    static func ports(dropping: String? = nil, sticky: Bool = true) -> [ServicePort] {
        func endpoints(_ hosts: [String], port: Int) -> [ServicePort.Endpoint] {
            hosts.filter { $0 != dropping }.map { ServicePort.Endpoint(ip: IPv4Address($0)!, port: port, isLocal: $0.hasPrefix("10.244.0.")) }
        }
        return [
            ServicePort(namespace: "dev", service: "web", portName: "http", clusterIP: IPv4Address("10.96.0.20")!, port: 80,
                        nodePort: 30000, endpoints: endpoints(["10.244.0.2", "10.244.1.3"], port: 8080)),
            ServicePort(namespace: "dev", service: "sticky", proto: .udp, clusterIP: IPv4Address("10.96.0.22")!, port: 53,
                        affinitySeconds: sticky ? 60 : nil, endpoints: endpoints(["10.244.1.3", "10.244.1.4"], port: 5353)),
            ServicePort(namespace: "dev", service: "empty", clusterIP: IPv4Address("10.96.0.23")!, port: 80, endpoints: []),
        ]
    }

    static func table(dropping: String? = nil, sticky: Bool = true) -> NftTable {
        ProxyRules.render(ports(dropping: dropping, sticky: sticky), node: node)
    }

    /// The table as the kernel lists it, reduced to what matters: each chain's rules in order (handles
    /// dropped) and each set's elements as a set, so the order objects were created in does not count.
    static func kernelTable(_ netns: NetNamespace) throws -> [String: [String]] {
        let listing = try inNetns(netns, ["nft", "-j", "list", "table", "ip", ProxyRules.tableName])
        try #require(listing.status == 0, "\(listing.output)")
        let root = try JSONSerialization.jsonObject(with: Data(listing.output.utf8)) as? [String: Any]
        var table: [String: [String]] = [:]
        func text(_ value: Any) throws -> String {
            String(decoding: try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed]), as: UTF8.self)
        }
        for item in root?["nftables"] as? [[String: Any]] ?? [] {
            if var rule = item["rule"] as? [String: Any] {
                rule["handle"] = nil
                table["chain " + (rule["chain"] as? String ?? ""), default: []].append(try text(rule["expr"] ?? []))
            } else if let chain = item["chain"] as? [String: Any] {
                table["chain " + (chain["name"] as? String ?? ""), default: []] += []
            } else if let set = (item["set"] ?? item["map"]) as? [String: Any] {
                table["set " + (set["name"] as? String ?? "")] = try (set["elem"] as? [Any] ?? []).map(text).sorted()
            }
        }
        return table
    }

    /// With affinity in the table, partial syncs go as libnftables text; without, an endpoint change goes as a
    /// raw nfnetlink batch (the unit tests say which changes do). Either way the kernel must end up as a full
    /// sync leaves it, there and back.
    @Test(arguments: [true, false]) func partialSyncsLeaveWhatAFullSyncWould(sticky: Bool) throws {
        let cluster = try TestCluster(sticky ? "nft" : "nftbatch")
        defer { cluster.teardown() }
        let (a, b) = (cluster.topology.nodes[0].netns, cluster.topology.nodes[1].netns)
        let thread = NamespaceThread(name: "test-nft")
        let backendA = NftablesBackend(node: Self.node), backendB = NftablesBackend(node: Self.node)
        let first = Self.ports(sticky: sticky), second = Self.ports(dropping: "10.244.1.3", sticky: sticky)
        var state = ProxyTableState(first, node: Self.node)
        #expect((state.update(to: second)?.batchOperations != nil) == !sticky)

        #expect(try thread.run(in: a) { try backendA.sync(first).0 } == .full)
        #expect(try thread.run(in: a) { try backendA.sync(first).0 } == .unchanged)
        #expect(try thread.run(in: a) { try backendA.sync(second).0 } == .partial)
        #expect(try thread.run(in: b) { try backendB.sync(second).0 } == .full)
        #expect(try Self.kernelTable(a) == Self.kernelTable(b))
        // And back again, which re-creates what the first partial sync removed.
        #expect(try thread.run(in: a) { try backendA.sync(first).0 } == .partial)
        #expect(try thread.run(in: b) { try backendB.sync(first).0 } == .partial)
        #expect(try Self.kernelTable(a) == Self.kernelTable(b))
        #expect(try Self.kernelTable(a)["chain service-dev/web/tcp/http"]?.count == 1)
        #expect(try Self.kernelTable(a)["set service-endpoints"]?.count == (sticky ? 2 : 4))
        // Sticky: one affinity rule and one random choice per endpoint; otherwise one goto to a pick chain.
        #expect(try Self.kernelTable(a)["chain service-dev/sticky/udp/"]?.count == (sticky ? 4 : 1))
        #expect(try thread.run(in: a) { try backendA.drifted() } == false)
    }

    @Test func driftIsRepairedByAFullSync() throws {
        let cluster = try TestCluster("nftdrift")
        defer { cluster.teardown() }
        let netns = cluster.topology.nodes[0].netns
        let thread = NamespaceThread(name: "test-nft")
        let backend = NftablesBackend(node: Self.node)
        #expect(try thread.run(in: netns) { try backend.sync(Self.ports()).0 } == .full)
        let expected = try Self.kernelTable(netns)
        #expect(try thread.run(in: netns) { try backend.drifted() } == false)

        try inNetns(netns, ["nft", "flush", "map", "ip", "kindling", "service-ips"])
        try inNetns(netns, ["nft", "flush", "chain", "ip", "kindling", "nodeport-dev/web/tcp/http"])
        #expect(try thread.run(in: netns) { try backend.drifted() } == true)
        #expect(try thread.run(in: netns) { try backend.sync(Self.ports()).0 } == .full)
        #expect(try Self.kernelTable(netns) == expected)
    }

    @Test func aFailedTransactionChangesNothing() throws {
        let cluster = try TestCluster("nftfail")
        defer { cluster.teardown() }
        let netns = cluster.topology.nodes[0].netns
        let thread = NamespaceThread(name: "test-nft")
        let applier = ProxyApplier()
        let good = Self.table()
        try thread.run(in: netns) { try applier.applyFull(good) }
        let before = try Self.kernelTable(netns)

        // A rule jumping to a chain that does not exist: the kernel refuses the whole transaction, whole table
        // or difference.
        var bad = Self.table(dropping: "10.244.1.3")
        bad.add(.init("broken", rules: ["goto no-such-chain"]))
        #expect(throws: NftablesError.self) { try thread.run(in: netns) { try applier.applyFull(bad) } }
        #expect(try Self.kernelTable(netns) == before)
        var state = ProxyTableState(Self.ports(), node: Self.node)
        let update = state.update(to: Self.ports(dropping: "10.244.1.3"))
        var delta = try #require(update)
        delta.changedChains.append(.init("service-dev/web/tcp/http", rules: ["goto no-such-chain"]))
        #expect(throws: NftablesError.self) { try thread.run(in: netns) { try applier.apply(delta) } }
        #expect(try Self.kernelTable(netns) == before)
    }
}

extension ProxyApplierTests {
    /// A change sent as raw nfnetlink messages leaves the kernel exactly as a full sync of the new table:
    /// map elements with concatenated keys and values, set elements, and chains of gotos.
    @Test func rawBatchesWriteWhatTheTextWouldHave() throws {
        let cluster = try TestCluster("nftraw")
        defer { cluster.teardown() }
        let (a, b) = (cluster.topology.nodes[0].netns, cluster.topology.nodes[1].netns)
        let thread = NamespaceThread(name: "test-nft")
        let applierA = ProxyApplier(), applierB = ProxyApplier()
        let before = Self.table(sticky: false), after = Self.table(dropping: "10.244.1.3", sticky: false)
        var state = ProxyTableState(Self.ports(sticky: false), node: Self.node)
        let update = state.update(to: Self.ports(dropping: "10.244.1.3", sticky: false))
        let operations = try #require(update?.batchOperations)
        #expect(operations.contains { if case .element(_, _, _, let value?) = $0 { !value.isEmpty } else { false } }
                && operations.contains { if case .verdict = $0 { true } else { false } })
        try thread.run(in: a) { try applierA.applyFull(before) }
        try thread.run(in: b) { try applierB.applyFull(after) }
        try thread.run(in: a) { try NftBatch.commit(operations, table: ProxyRules.tableName, on: NftSocket()) }
        #expect(try Self.kernelTable(a) == Self.kernelTable(b))

        // A refused batch (a goto to a chain that does not exist) changes nothing.
        let unchanged = try Self.kernelTable(a)
        #expect(throws: NftablesError.self) {
            try thread.run(in: a) {
                try NftBatch.commit([.flush(chain: "service-dev/web/tcp/http"),
                                     .verdict(chain: "service-dev/web/tcp/http", goto: true, target: "no-such-chain")],
                                    table: ProxyRules.tableName, on: NftSocket())
            }
        }
        #expect(try Self.kernelTable(a) == unchanged)
    }
}
