import Foundation
import KindlingAddresses
import KindlingAPI
import Testing

/// What an agent owns in its node's kernel comes back after someone removes it by hand (issue 16): the
/// policy table and the proxy's table through the ruleset's generation, checked every second; routes to the
/// other nodes' pod CIDRs through a read of the routing table every second.
@Suite(.enabled(if: isRoot, "needs root: builds clusters"))
struct DriftRepairTests {
    let cli = CLITests()

    /// Runs a command inside the first worker's namespace.
    func onWorker(_ cluster: String, _ arguments: [String]) -> CommandResult? {
        try? sh(["ip", "netns", "exec", ClusterNames(cluster: cluster).nodeNetns(node: "\(cluster)-worker")] + arguments)
    }

    /// Issue 16's bound. The checks come every second and a repair takes milliseconds, so 2 s leaves a
    /// second for a loaded machine.
    static let repairWithin = 2.0

    /// The chains of a table: what it had before must be there again (a new cluster's system Services may
    /// still be adding theirs).
    static func chains(_ listing: String?) -> Set<String> {
        Set((listing ?? "").split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { $0.hasPrefix("chain ") })
    }

    @Test func tablesAndRoutesDeletedByHandComeBack() throws {
        try cli.withCluster("drift") { name in
            for table in [["inet", "kindling-policy"], ["ip", "kindling"]] {
                var chains: Set<String> = []
                try #require(eventually(15) {
                    chains = Self.chains(onWorker(name, ["nft", "list", "table"] + table)?.output)
                    return !chains.isEmpty
                }, "the agent never wrote table \(table)")
                #expect(onWorker(name, ["nft", "delete", "table"] + table)?.status == 0)
                #expect(eventually(Self.repairWithin) { Self.chains(onWorker(name, ["nft", "list", "table"] + table)?.output).isSuperset(of: chains) },
                        "table \(table) was not written again")
            }

            var route = ""
            try #require(eventually(15) {
                route = onWorker(name, ["ip", "-o", "route", "show"])?.output.split(separator: "\n")
                    .first { $0.hasPrefix("10.244.") && $0.contains(" via ") }.map(String.init) ?? ""
                return !route.isEmpty
            }, "no route to another node's pods")
            let destination = String(route.split(separator: " ")[0])
            #expect(onWorker(name, ["ip", "route", "del", destination])?.status == 0)
            #expect(eventually(Self.repairWithin) {
                onWorker(name, ["ip", "-o", "route", "show", destination])?.output.contains(" via ") == true
            }, "route \(route) was not added again")
        }
    }
}
