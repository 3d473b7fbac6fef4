import Foundation
import KindlingAPI

/// kube-controller-manager's ServiceAccount controller: every active namespace has the `default`
/// ServiceAccount, made again if deleted.
struct ServiceAccountController: Controller {
    let name = "serviceaccount"

    func run(_ registry: Registry) async throws {
        try await reconcileOnChange(registry, watching: [Namespace.self, ServiceAccount.self]) { try sync(registry) }
    }

    func sync(_ registry: Registry) throws {
        for namespace in try registry.list(Namespace.self).items where namespace.metadata.deletionTimestamp == nil {
            guard (try? registry.get(ServiceAccount.self, namespace: namespace.name, name: ServiceAccount.defaultName)) == nil else { continue }
            do {
                _ = try registry.create(ServiceAccount(namespace: namespace.name, name: ServiceAccount.defaultName))
            } catch let status as Status where ["AlreadyExists", "Forbidden", "NotFound"].contains(status.reason) {
                // Made meanwhile, or the namespace began terminating.
            }
        }
    }
}

/// kube-controller-manager's root CA publisher: ConfigMap `kube-root-ca.crt` in every active namespace holds
/// the cluster CA (`ca.crt`), which the projected ServiceAccount volume mounts beside the token.
struct RootCAPublisher: Controller {
    let name = "root-ca-cert-publisher"
    let caPEM: String

    static let configMapName = "kube-root-ca.crt"
    static let description = "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as "
        + "the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters."

    func run(_ registry: Registry) async throws {
        try await reconcileOnChange(registry, watching: [Namespace.self, ConfigMap.self]) { try sync(registry) }
    }

    /// The ConfigMap as the publisher keeps it.
    func wanted(namespace: String) -> ConfigMap {
        var map = ConfigMap(namespace: namespace, name: Self.configMapName, data: ["ca.crt": caPEM])
        map.metadata.annotations = ["kubernetes.io/description": Self.description]
        return map
    }

    func sync(_ registry: Registry) throws {
        for namespace in try registry.list(Namespace.self).items where namespace.metadata.deletionTimestamp == nil {
            let wanted = wanted(namespace: namespace.name)
            if let current = try? registry.get(ConfigMap.self, namespace: namespace.name, name: Self.configMapName) {
                guard current.data != wanted.data || current.metadata.annotations?["kubernetes.io/description"] == nil else { continue }
                try registry.modify(ConfigMap.self, namespace: namespace.name, name: Self.configMapName) { current in
                    var next = current
                    next.data = wanted.data
                    next.metadata.annotations = (current.metadata.annotations ?? [:]).merging(wanted.metadata.annotations ?? [:]) { _, new in new }
                    return next
                }
                continue
            }
            do {
                _ = try registry.create(wanted)
            } catch let status as Status where ["AlreadyExists", "Forbidden", "NotFound"].contains(status.reason) {}
        }
    }
}
