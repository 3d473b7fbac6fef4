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

/// kube-controller-manager's token controller, for Secrets of type `kubernetes.io/service-account-token`: a
/// Secret naming a ServiceAccount (annotation `kubernetes.io/service-account.name`) is filled with a token for it
/// that lives as long as the Secret (`token`), the cluster CA (`ca.crt`) and the `namespace`, and marked with the
/// account's uid; once that account is gone (or made again), the Secret is deleted, as upstream.
struct TokenSecretController: Controller {
    let name = "serviceaccount-token"
    let tokens: ServiceAccountTokens
    let caPEM: String

    static let secretType = "kubernetes.io/service-account-token"
    static let accountName = "kubernetes.io/service-account.name"
    static let accountUID = "kubernetes.io/service-account.uid"

    func run(_ registry: Registry) async throws {
        try await reconcileOnChange(registry, watching: [Secret.self, ServiceAccount.self]) { try sync(registry) }
    }

    func sync(_ registry: Registry) throws {
        for secret in try registry.list(Secret.self).items where secret.type == Self.secretType && secret.metadata.deletionTimestamp == nil {
            guard let accountName = secret.metadata.annotations?[Self.accountName] else { continue }
            let account = try? registry.get(ServiceAccount.self, namespace: secret.namespace, name: accountName)
            let issuedFor = secret.metadata.annotations?[Self.accountUID]
            guard let account, issuedFor == nil || issuedFor == account.metadata.uid else {
                // Filled for an account that is gone: the token goes with it. One never filled waits for its account.
                if issuedFor != nil { _ = try? registry.delete(Secret.self, namespace: secret.namespace, name: secret.name) }
                continue
            }
            guard issuedFor == nil || secret.data?["token"] == nil else { continue }
            let token = try tokens.issueLegacy(for: account, secretName: secret.name)
            try registry.modifyUnchecked(Secret.self, namespace: secret.namespace, name: secret.name) { current in
                guard current.data?["token"] == nil || current.metadata.annotations?[Self.accountUID] == nil else { return nil }
                var filled = current
                var data = current.data ?? [:]
                data["token"] = Data(token.utf8).base64EncodedString()
                data["ca.crt"] = Data(caPEM.utf8).base64EncodedString()
                data["namespace"] = Data(current.namespace.utf8).base64EncodedString()
                filled.data = data
                filled.metadata.annotations = (current.metadata.annotations ?? [:]).merging([Self.accountUID: account.metadata.uid ?? ""]) { _, new in new }
                return filled
            }
        }
    }
}
