import Foundation
import KindlingAPI
import KindlingClient
import KindlingNet
import KindlingNftables
import KindlingPolicy
import KindlingReconcile
import Logging

/// NetworkPolicy in the agent, as kindnet enforces it: watches policies, pods and namespaces, renders this
/// node's policy table (`PolicyRules`) and replaces it in one nf_tables transaction when it changed, through
/// the agents' `ReconcileLoop`. A sync is ~ms, so a changed policy holds for new connections well within 1 s;
/// the ruleset's generation is checked every second, so a table someone changed or deleted comes back.
struct PolicyLoop: Sendable {
    let nodeName: String
    let client: APIClient
    let logger: Logger
    /// libnftables must be called from one thread; this one never leaves the agent's (the node's) namespace.
    let thread = NamespaceThread(name: "kindling-policy")

    /// What the table depends on; the pods of every node, as policies select peers anywhere.
    static func state(_ snapshot: ReconcileSnapshot, nodeName: String) -> PolicyState {
        let addressed = snapshot.objects(Pod.self).values.compactMap { pod in PolicyPod(pod).map { (pod, $0) } }
        return PolicyState(policies: Array(snapshot.objects(NetworkPolicy.self).values), pods: addressed.map(\.1),
                           namespaceLabels: snapshot.objects(Namespace.self).values.reduce(into: [:]) { $0[$1.name] = $1.metadata.labels ?? [:] },
                           localIPs: Set(addressed.filter { $0.0.spec.nodeName == nodeName }.map(\.1.ip)))
    }

    func run(_ applier: PolicyApplier = PolicyApplier()) async {
        let loop = ReconcileLoop("policy", sources: [.informer(Informer<NetworkPolicy>(client: client)), .informer(Informer<Pod>(client: client)),
                                                     .informer(Informer<Namespace>(client: client))],
                                 repair: .check(every: .seconds(1)) { [thread] in try await thread.perform(in: nil) { try applier.drifted() } },
                                 logger: logger)
        await loop.run { [thread, nodeName, logger] snapshot in
            let state = PolicyLoop.state(snapshot, nodeName: nodeName)
            let table = PolicyRules.render(state)
            let started = ContinuousClock.now
            guard try await thread.perform(in: nil, { try applier.apply(table, full: snapshot.full) }) else { return }
            logger.info("policy: \(state.policies.count) policies, \(state.localIPs.count) local pods, synced in \(ContinuousClock.now - started)")
        }
    }
}

/// Writes the policy table and tells whether it may have changed since: the ruleset's generation moved (any
/// commit moves it, the proxy's too), after which a full sync compares the kernel's listing of the table with
/// the listing taken right after the write, and writes again only if they differ.
///
/// Confined to the policy loop's namespace thread, hence unchecked Sendable.
final class PolicyApplier: @unchecked Sendable {
    private let nftables: any Nftables
    private var applied: (table: NftTable, listing: String)?
    private var generation: UInt32?

    init(_ nftables: any Nftables = KernelNftables()) { self.nftables = nftables }

    /// Whether the ruleset changed since this applier last wrote or checked the table.
    func drifted() throws -> Bool {
        guard let generation else { return true }
        return try nftables.generation() != generation
    }

    /// Makes the kernel hold `table`; whether it had to be written.
    func apply(_ table: NftTable, full: Bool) throws -> Bool {
        let list = "list table inet \(PolicyRules.table)"
        if let applied, applied.table == table {
            guard full else { return false }
            let seen = try nftables.generation()
            if (try? nftables.run(list)) == applied.listing {
                generation = seen
                return false
            }
        }
        self.applied = nil
        generation = nil
        try nftables.run(table.fullSyncCommands)
        let listing = try nftables.run(list)
        generation = try nftables.generation()
        self.applied = (table, listing)
        return true
    }
}
