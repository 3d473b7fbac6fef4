import Foundation
import KindlingAPI

/// Who a request comes from, as kube-apiserver's authenticators name callers.
public struct UserInfo: Codable, Equatable, Sendable {
    public var username: String
    public var uid: String?
    public var groups: [String]
    public var extra: [String: [String]]?

    public init(username: String, uid: String? = nil, groups: [String], extra: [String: [String]]? = nil) {
        self.username = username
        self.uid = uid
        self.groups = groups
        self.extra = extra
    }

    /// The cluster's administrator, whose token the kubeconfig carries (kind's `kubernetes-admin`).
    public static let admin = UserInfo(username: "kubernetes-admin", groups: ["system:masters", "system:authenticated"])
}

/// Bearer tokens to users: the cluster's admin token, or a ServiceAccount token whose account (and bound
/// pod) still exists with the uid it was issued for (kube-apiserver's legacy-free token authenticator).
public struct Authenticator: Sendable {
    let adminToken: String
    let tokens: ServiceAccountTokens?
    let registry: Registry

    public init(adminToken: String, tokens: ServiceAccountTokens?, registry: Registry) {
        self.adminToken = adminToken
        self.tokens = tokens
        self.registry = registry
    }

    /// The user an Authorization header names, nil when it names none.
    public func user(authorization header: String?) -> UserInfo? {
        // The scheme is case-insensitive (the Python client sends `bearer`), as kube-apiserver reads it.
        let parts = (header ?? "").split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        return user(token: parts[1].trimmingCharacters(in: .whitespaces))
    }

    /// The user a bearer token stands for, for `audiences` (a ServiceAccount token must name one of them;
    /// the admin token is for any), nil when it stands for none.
    public func user(token: String, audiences: [String] = [ServiceAccountTokens.issuer]) -> UserInfo? {
        if !adminToken.isEmpty, Self.constantTimeEqual(token, adminToken) { return .admin }
        return serviceAccount(token: token, audiences: audiences)
    }

    /// The account a ServiceAccount token stands for, for the API's audience or `audiences`.
    public func serviceAccount(token: String, audiences: [String] = [ServiceAccountTokens.issuer]) -> UserInfo? {
        guard let claims = tokens?.verify(token, audiences: audiences) else { return legacyServiceAccount(token: token, audiences: audiences) }
        let claimed = claims.kubernetes
        guard let account = try? registry.get(ServiceAccount.self, namespace: claimed.namespace, name: claimed.serviceaccount.name),
              account.metadata.uid == claimed.serviceaccount.uid else { return nil }
        var extra: [String: [String]] = ["authentication.kubernetes.io/credential-id": ["JTI=\(claims.jti)"]]
        if let bound = claimed.pod {
            // A deleted pod's tokens stay good for a minute past its deletion time, as kube-apiserver has it.
            guard let pod = try? registry.get(Pod.self, namespace: claimed.namespace, name: bound.name), pod.metadata.uid == bound.uid,
                  pod.metadata.deletionTimestamp.flatMap(Timestamp.date).map({ $0.addingTimeInterval(60) > Date() }) ?? true else { return nil }
            extra["authentication.kubernetes.io/pod-name"] = [bound.name]
            extra["authentication.kubernetes.io/pod-uid"] = [bound.uid]
            if let node = claimed.node { extra["authentication.kubernetes.io/node-name"] = [node.name] }
        }
        return UserInfo(username: claims.sub, uid: claimed.serviceaccount.uid, groups: ServiceAccount.groups(namespace: claimed.namespace),
                        extra: extra)
    }

    /// The account a token Secret's token stands for while the Secret holds it and the account is the one it was
    /// issued for (the API's audience only: legacy tokens name none).
    func legacyServiceAccount(token: String, audiences: [String]) -> UserInfo? {
        guard audiences.contains(ServiceAccountTokens.issuer), let claims = tokens?.verifyLegacy(token),
              let secret = try? registry.get(Secret.self, namespace: claims.namespace, name: claims.secretName),
              secret.type == TokenSecretController.secretType, secret.decodedData["token"] == Data(token.utf8),
              let account = try? registry.get(ServiceAccount.self, namespace: claims.namespace, name: claims.accountName),
              account.metadata.uid == claims.accountUID else { return nil }
        return UserInfo(username: claims.sub, uid: claims.accountUID, groups: ServiceAccount.groups(namespace: claims.namespace))
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let given = Array(a.utf8), expected = Array(b.utf8)
        guard given.count == expected.count else { return false }
        return zip(given, expected).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
