import Foundation
import KindlingAPI
import KindlingNet
import KindlingProxy
import Testing

/// The applier against the real kernel, in a throwaway node namespace: full and partial syncs leave the
/// same table, drift is noticed and repaired, and a failed transaction changes nothing.
@Suite(.enabled(if: isRoot, "needs root: programs nf_tables in a network namespace"))
struct ProxyApplierTests {
    static let node = ProxyRules.Node(clusterCIDR: IPv4CIDR("10.244.0.0/16")!)

    /// Three services: a NodePort with two endpoints (or one, without `dropping`), a sticky UDP one and
    /// one without endpoints.
    static func table(dropping: String? = nil) -> NftTable {
        func endpoints(_ hosts: [String], port: Int) -> [ServicePort.Endpoint] {
            hosts.filter { $0 != dropping }.map { ServicePort.Endpoint(ip: IPv4Address($0)!, port: port, isLocal: $0.hasPrefix("10.244.0.")) }
        }
        return ProxyRules.render([
            ServicePort(namespace: "dev", service: "web", portName: "http", clusterIP: IPv4Address("10.96.0.20")!, port: 80,
                        nodePort: 30000, endpoints: endpoints(["10.244.0.2", "10.244.1.3"], port: 8080)),
            ServicePort(namespace: "dev", service: "sticky", proto: .udp, clusterIP: IPv4Address("10.96.0.22")!, port: 53,
                        affinitySeconds: 60, endpoints: endpoints(["10.244.1.3", "10.244.1.4"], port: 5353)),
            ServicePort(namespace: "dev", service: "empty", clusterIP: IPv4Address("10.96.0.23")!, port: 80, endpoints: []),
        ], node: node)
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

    @Test func partialSyncsLeaveWhatAFullSyncWould() throws {
        let cluster = try TestCluster("nft")
        defer { cluster.teardown() }
        let (a, b) = (cluster.topology.nodes[0].netns, cluster.topology.nodes[1].netns)
        let thread = NamespaceThread(name: "test-nft")
        let applierA = ProxyApplier(), applierB = ProxyApplier()
        let first = Self.table()
        let second = Self.table(dropping: "10.244.1.3")

        #expect(try thread.run(in: a) { try applierA.apply(first) } == .full)
        #expect(try thread.run(in: a) { try applierA.apply(first) } == .unchanged)
        #expect(try thread.run(in: a) { try applierA.apply(second) } == .partial)
        #expect(try thread.run(in: b) { try applierB.apply(second) } == .full)
        #expect(try Self.kernelTable(a) == Self.kernelTable(b))
        // And back again, which re-creates the chains the first partial sync deleted.
        #expect(try thread.run(in: a) { try applierA.apply(first) } == .partial)
        #expect(try thread.run(in: b) { try applierB.apply(first) } == .partial)
        #expect(try Self.kernelTable(a) == Self.kernelTable(b))
        #expect(try Self.kernelTable(a)["chain service-dev/web/tcp/http"]?.count == 2)
        // Sticky: one affinity rule and one random choice per endpoint.
        #expect(try Self.kernelTable(a)["chain service-dev/sticky/udp/"]?.count == 4)
    }

    @Test func driftIsRepairedByAFullSync() throws {
        let cluster = try TestCluster("nftdrift")
        defer { cluster.teardown() }
        let netns = cluster.topology.nodes[0].netns
        let thread = NamespaceThread(name: "test-nft")
        let applier = ProxyApplier()
        let table = Self.table()
        #expect(try thread.run(in: netns) { try applier.apply(table) } == .full)
        let expected = try Self.kernelTable(netns)
        #expect(try thread.run(in: netns) { try applier.drifted() } == false)

        try inNetns(netns, ["nft", "flush", "map", "ip", "kindling", "service-ips"])
        try inNetns(netns, ["nft", "flush", "chain", "ip", "kindling", "external-dev/web/tcp/http"])
        #expect(try thread.run(in: netns) { try applier.drifted() } == true)
        #expect(try thread.run(in: netns) { try applier.apply(table) } == .full)
        #expect(try Self.kernelTable(netns) == expected)
    }

    @Test func aFailedTransactionChangesNothing() throws {
        let cluster = try TestCluster("nftfail")
        defer { cluster.teardown() }
        let netns = cluster.topology.nodes[0].netns
        let thread = NamespaceThread(name: "test-nft")
        let applier = ProxyApplier()
        let good = Self.table()
        _ = try thread.run(in: netns) { try applier.apply(good) }
        let before = try Self.kernelTable(netns)

        // A rule jumping to a chain that does not exist: the kernel refuses the whole transaction.
        var bad = Self.table(dropping: "10.244.1.3")
        bad.add(.init("broken", rules: ["goto no-such-chain"]))
        #expect(throws: ProxyError.self) { try thread.run(in: netns) { try applier.apply(bad) } }
        #expect(try Self.kernelTable(netns) == before)
        #expect(try thread.run(in: netns) { try applier.apply(good) } == .full)
    }
}
