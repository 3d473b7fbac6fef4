import Foundation
import KindlingAddresses
import KindlingAPI
import Logging

/// A control loop of the server: reacts to watch events of the kinds it cares about and reconciles.
/// Every controller fails and retries the same way: log, back off, start over from a fresh list.
protocol Controller: Sendable {
    var name: String { get }
    func run(_ registry: Registry) async throws
}

extension Controller {
    func runForever(_ registry: Registry, logger: Logger) async {
        var backoff = Backoff()
        while !Task.isCancelled {
            do {
                try await run(registry)
                backoff.succeeded()
            } catch is CancellationError {
                return
            } catch {
                logger.error("\(name) controller failed, restarting: \(error)")
            }
            try? await Task.sleep(for: backoff.failed())
        }
    }
}

/// Gives every node a pod CIDR from the cluster's pod subnet (kube-controller-manager's node IPAM); the nodes of
/// the cluster config get theirs by position, as in kind.
struct NodeIPAMController: Controller {
    let name = "node-ipam"
    let config: ClusterConfig

    func run(_ registry: Registry) async throws {
        for await event in try registry.watch(Node.self, resourceVersion: nil) where event.type != .deleted {
            guard event.object.podCIDR == nil else { continue }
            let used = Set(try registry.list(Node.self).items.compactMap(\.podCIDR))
            let preferred = PodCIDRAllocator.preferred(for: event.object.name, in: config).flatMap { used.contains($0) ? nil : $0 }
            guard let cidr = preferred ?? PodCIDRAllocator.next(in: config.podSubnet, used: used) else {
                throw Status.internalError("pod subnet \(config.podSubnet) has no free /\(ClusterConfig.nodePodCIDRPrefixLength) left for node \(event.object.name)")
            }
            try registry.modify(Node.self, name: event.object.name) { node in
                var node = node
                guard node.podCIDR == nil else { return node }
                var spec = node.spec ?? Node.Spec()
                spec.podCIDR = cidr.description
                spec.podCIDRs = [cidr.description]
                node.spec = spec
                return node
            }
        }
    }
}

/// Empties namespaces being deleted, then removes them (the namespace lifecycle controller).
struct NamespaceController: Controller {
    let name = "namespace"

    func run(_ registry: Registry) async throws {
        for await event in try registry.watch(Namespace.self, resourceVersion: nil) where event.type != .deleted {
            guard event.object.metadata.deletionTimestamp != nil else { continue }
            try await drain(event.object.name, registry)
        }
    }

    func drain(_ namespace: String, _ registry: Registry) async throws {
        while true {
            var remaining = 0
            // Every kind served now, custom ones too; a kind served at several versions once.
            var seen = Set<String>()
            for kind in registry.kinds.snapshot.kinds where kind.served.namespaced && seen.insert(kind.served.groupResource.description).inserted {
                remaining += try deleteAll(kind, in: namespace, registry)
            }
            if remaining == 0 { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        _ = try? registry.remove(Namespace.self, name: namespace)
    }

    /// Deletes every object of `kind` in `namespace`; returns how many are still there.
    func deleteAll<S: KindStrategy>(_ kind: S, in namespace: String, _ registry: Registry) throws -> Int {
        let items = try registry.list(kind, namespace: namespace).items
        for item in items where item.metadata.deletionTimestamp == nil {
            _ = try? registry.delete(kind, namespace: namespace, name: item.name)
        }
        return try registry.list(kind, namespace: namespace).items.count
    }
}
