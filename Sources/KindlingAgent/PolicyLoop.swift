import Foundation
import KindlingAPI
import KindlingClient
import KindlingNet
import KindlingPolicy
import KindlingProxy
import Logging

/// NetworkPolicy in the agent, as kindnet enforces it: watches policies, pods and namespaces, renders this
/// node's policy table (`PolicyRules`) and replaces it in one nf_tables transaction when it changed. A burst
/// of changes becomes one sync; a sync is ~ms, so a changed policy holds for new connections well within 1 s.
struct PolicyLoop: Sendable {
    let nodeName: String
    let client: APIClient
    let logger: Logger
    /// libnftables must be called from one thread; this one never leaves the agent's (the node's) namespace.
    let thread = NamespaceThread(name: "kindling-policy")

    actor Snapshot {
        var policies: [String: NetworkPolicy]?
        var pods: [String: Pod]?
        var namespaces: [String: Namespace]?

        func set(policies: [String: NetworkPolicy]) { self.policies = policies }
        func set(pods: [String: Pod]) { self.pods = pods }
        func set(namespaces: [String: Namespace]) { self.namespaces = namespaces }

        /// Nil until every watch has listed once: a first table without all pods would cut connections off.
        func state(nodeName: String) -> PolicyState? {
            guard let policies, let pods, let namespaces else { return nil }
            let addressed = pods.values.compactMap { pod in PolicyPod(pod).map { (pod, $0) } }
            return PolicyState(policies: Array(policies.values), pods: addressed.map(\.1),
                               namespaceLabels: namespaces.values.reduce(into: [:]) { $0[$1.name] = $1.metadata.labels ?? [:] },
                               localIPs: Set(addressed.filter { $0.0.spec.nodeName == nodeName }.map(\.1.ip)))
        }
    }

    func run() async {
        let snapshot = Snapshot()
        let (wakeups, wake) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await Informer<NetworkPolicy>(client: client).run { await snapshot.set(policies: $0); wake.yield() }
            }
            group.addTask {
                await Informer<Pod>(client: client).run { await snapshot.set(pods: $0); wake.yield() }
            }
            group.addTask {
                await Informer<Namespace>(client: client).run { await snapshot.set(namespaces: $0); wake.yield() }
            }
            group.addTask {
                var applied: String?
                for await _ in wakeups {
                    guard let state = await snapshot.state(nodeName: nodeName) else { continue }
                    let table = PolicyRules.render(state)
                    guard table != applied else { continue }
                    do {
                        let started = ContinuousClock.now
                        try await thread.perform(in: nil) { try NftContext().run(PolicyRules.replacing(with: table)) }
                        applied = table
                        logger.info("policy: \(state.policies.count) policies, \(state.localIPs.count) local pods, synced in \(ContinuousClock.now - started)")
                    } catch {
                        logger.error("policy sync: \(error)")
                    }
                }
            }
        }
    }
}
