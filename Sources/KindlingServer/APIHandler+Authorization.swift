import Foundation
import KindlingAPI

/// Authorization of every request by its caller (RBAC, with `system:masters` allowed everything as in
/// kube-apiserver), and the reviews that ask about it: SelfSubjectAccessReview (`kubectl auth can-i`) and
/// SelfSubjectReview (`kubectl auth whoami`).
extension APIHandler {
    /// The policy as stored now.
    func rbacPolicy() throws -> RBACPolicy {
        RBACPolicy(roles: try registry.list(Role.self).items, clusterRoles: try registry.list(ClusterRole.self).items,
                   roleBindings: try registry.list(RoleBinding.self).items, clusterRoleBindings: try registry.list(ClusterRoleBinding.self).items)
    }

    /// Whether `user` may do `request`, and why.
    func decide(_ user: UserInfo, _ request: RequestAttributes) throws -> (allowed: Bool, reason: String) {
        if user.groups.contains("system:masters") { return (true, "") }
        return try rbacPolicy().allows(user, request)
    }

    /// kube-apiserver's 403 unless the caller may do what the request asks.
    func authorize(_ request: APIRequest) throws {
        guard !request.user.groups.contains("system:masters") else { return }
        let attributes = RequestAttributes(method: request.method, path: request.path, query: request.query)
        guard try decide(request.user, attributes).allowed else { throw RBACPolicy.forbidden(request.user, attributes) }
    }

    /// The user `caller` acts as, if it may impersonate every part asked (kube-apiserver's impersonation filter:
    /// the `impersonate` verb on `users` or `serviceaccounts`, `groups` and `uids`); 403 otherwise.
    func impersonate(_ caller: UserInfo, as asked: Impersonation) throws -> UserInfo {
        guard let name = asked.user, !name.isEmpty else {
            // kube-apiserver's answer to groups without a user.
            let asked = asked.groups.map { "{Group  \($0)}" }.joined(separator: " ")
            throw Status.internalError("requested [\(asked)] without impersonating a user")
        }
        var checks: [RequestAttributes] = []
        var groups = asked.groups
        let account = name.split(separator: ":", omittingEmptySubsequences: false)
        if account.count == 4, account[0] == "system", account[1] == "serviceaccount" {
            checks.append(RequestAttributes(verb: "impersonate", group: "", resource: "serviceaccounts", namespace: String(account[2]), name: String(account[3])))
            if groups.isEmpty { groups = ServiceAccount.groups(namespace: String(account[2])) }
        } else {
            checks.append(RequestAttributes(verb: "impersonate", group: "", resource: "users", name: name))
        }
        checks += asked.groups.map { RequestAttributes(verb: "impersonate", group: "", resource: "groups", name: $0) }
        if let uid = asked.uid { checks.append(RequestAttributes(verb: "impersonate", group: "authentication.k8s.io", resource: "uids", name: uid)) }
        for check in checks where try !decide(caller, check).allowed { throw RBACPolicy.forbidden(caller, check) }
        if !groups.contains("system:authenticated") && name != "system:anonymous" { groups.append("system:authenticated") }
        return UserInfo(username: name, uid: asked.uid, groups: groups)
    }

    /// The answer to a review created at `kind`, nil for a kind that is no review.
    func review<S: KindStrategy>(_ kind: S, _ request: APIRequest) throws -> APIResponse? {
        switch kind.served.groupResource {
        case SelfSubjectAccessReview.groupResource:
            guard request.method == "POST" else { throw Status.methodNotAllowed("the server does not allow this method on the requested resource") }
            var review = try decodeJSON(SelfSubjectAccessReview.self, request, kind: SelfSubjectAccessReview.kind,
                                        version: SelfSubjectAccessReview.apiVersion)
            let errors = review.validate()
            if !errors.isEmpty { throw Status.invalid(kind: SelfSubjectAccessReview.kind, group: "authorization.k8s.io", name: "", errors: errors) }
            let asked: RequestAttributes
            if let resource = review.spec.resourceAttributes {
                asked = RequestAttributes(verb: resource.verb ?? "", group: resource.group ?? "", resource: resource.resource ?? "",
                                          subresource: resource.subresource ?? "", namespace: resource.namespace ?? "", name: resource.name ?? "")
            } else {
                asked = RequestAttributes(verb: review.spec.nonResourceAttributes?.verb ?? "", path: review.spec.nonResourceAttributes?.path ?? "")
            }
            let decision = try decide(request.user, asked)
            review.status = .init(allowed: decision.allowed, reason: decision.reason.isEmpty ? nil : decision.reason)
            review.metadata.creationTimestamp = nil
            review.stampTypeMeta()
            return APIHandler.json(201, review)
        case SelfSubjectReview.groupResource:
            guard request.method == "POST" else { throw Status.methodNotAllowed("the server does not allow this method on the requested resource") }
            var review = SelfSubjectReview(metadata: ObjectMeta())
            review.metadata.creationTimestamp = registry.now
            let user = request.user
            review.status = .init(userInfo: .init(username: user.username, uid: user.uid, groups: user.groups, extra: user.extra))
            review.stampTypeMeta()
            return APIHandler.json(201, review)
        default:
            return nil
        }
    }
}

/// The `Impersonate-User`, `Impersonate-Group` and `Impersonate-Uid` headers of a request.
public struct Impersonation: Equatable, Sendable {
    public var user: String?
    public var groups: [String]
    public var uid: String?

    public init(user: String?, groups: [String] = [], uid: String? = nil) {
        self.user = user
        self.groups = groups
        self.uid = uid
    }

    var isEmpty: Bool { user == nil && groups.isEmpty && uid == nil }
}
