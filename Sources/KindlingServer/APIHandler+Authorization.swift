import Foundation
import KindlingAPI

/// Authorization of every request by its caller (RBAC, with `system:masters` allowed everything as in
/// kube-apiserver), and the reviews that ask about it: SelfSubjectAccessReview (`kubectl auth can-i`),
/// SelfSubjectRulesReview (`can-i --list`), SubjectAccessReview and its local twin, SelfSubjectReview (`kubectl
/// auth whoami`) and TokenReview.
extension Registry {
    /// The policy as stored now.
    func rbacPolicy() throws -> RBACPolicy {
        RBACPolicy(roles: try list(Role.self).items, clusterRoles: try list(ClusterRole.self).items,
                   roleBindings: try list(RoleBinding.self).items, clusterRoleBindings: try list(ClusterRoleBinding.self).items)
    }

    /// Whether `user` may do `request`, and why.
    func decide(_ user: UserInfo, _ request: RequestAttributes) throws -> (allowed: Bool, reason: String) {
        if user.groups.contains("system:masters") { return (true, "") }
        return try rbacPolicy().allows(user, request)
    }
}

extension APIHandler {
    func rbacPolicy() throws -> RBACPolicy { try registry.rbacPolicy() }
    func decide(_ user: UserInfo, _ request: RequestAttributes) throws -> (allowed: Bool, reason: String) { try registry.decide(user, request) }

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

    /// The answer to a review created at `kind`, nil for a kind that is no review. Reviews are created and
    /// answered, never stored: POST only, 201 with the review and its status.
    func review<S: KindStrategy>(_ kind: S, _ request: APIRequest) throws -> APIResponse? {
        guard Self.reviews.contains(kind.served.groupResource) else { return nil }
        guard request.method == "POST" else { throw Status.methodNotAllowed("the server does not allow this method on the requested resource") }
        switch kind.served.groupResource {
        case SelfSubjectAccessReview.groupResource:
            var review = try decodeReview(SelfSubjectAccessReview.self, request)
            review.status = try decision(for: request.user, review.spec.resourceAttributes, review.spec.nonResourceAttributes)
            return APIHandler.json(201, review)
        case SubjectAccessReview.groupResource:
            var review = try decodeReview(SubjectAccessReview.self, request)
            review.status = try decision(for: Self.subject(review.spec), review.spec.resourceAttributes, review.spec.nonResourceAttributes)
            return APIHandler.json(201, review)
        case LocalSubjectAccessReview.groupResource:
            var review = try decodeReview(LocalSubjectAccessReview.self, request, namespace: RequestAttributes(method: "POST", path: request.path, query: [:]).namespace)
            review.status = try decision(for: Self.subject(review.spec), review.spec.resourceAttributes, nil)
            return APIHandler.json(201, review)
        case SelfSubjectRulesReview.groupResource:
            var review = try decodeReview(SelfSubjectRulesReview.self, request)
            review.status = .init(rules: try rbacPolicy().rules(for: request.user, namespace: review.spec.namespace ?? ""))
            return APIHandler.json(201, review)
        case TokenReview.groupResource:
            var review = try decodeReview(TokenReview.self, request)
            guard let token = review.spec.token, !token.isEmpty else { throw Status.badRequest("token is required for TokenReview in authentication") }
            review.status = tokenReview(token, audiences: review.spec.audiences)
            return APIHandler.json(201, review)
        default:
            var review = SelfSubjectReview(metadata: ObjectMeta())
            review.metadata.creationTimestamp = registry.now
            let user = request.user
            review.status = .init(userInfo: .init(username: user.username, uid: user.uid, groups: user.groups, extra: user.extra))
            review.stampTypeMeta()
            return APIHandler.json(201, review)
        }
    }

    /// The review kinds, looked up on every request.
    static let reviews: Set = [SelfSubjectAccessReview.groupResource, SelfSubjectReview.groupResource, SubjectAccessReview.groupResource,
                               LocalSubjectAccessReview.groupResource, SelfSubjectRulesReview.groupResource, TokenReview.groupResource]

    /// A review's body, checked as kube-apiserver checks it (422 with every problem), stamped with its type.
    func decodeReview<T: KubeObject>(_ type: T.Type, _ request: APIRequest, namespace: String? = nil) throws -> T {
        var review = try decodeJSON(T.self, request, kind: T.kind, version: T.apiVersion, filling: ["metadata", "spec"])
        if let namespace {
            if let own = review.metadata.namespace, !own.isEmpty, own != namespace {
                throw Status.badRequest("the namespace of the provided object does not match the namespace sent on the request")
            }
            review.metadata.namespace = namespace
        }
        let errors = review.validate()
        if !errors.isEmpty { throw Status.invalid(kind: T.kind, group: T.group, name: "", errors: errors) }
        review.metadata.creationTimestamp = nil
        review.stampTypeMeta()
        return review
    }

    /// The user a SubjectAccessReview asks about, as it names them (only those groups: no implied ones).
    static func subject(_ spec: SubjectAccessReview.Spec) -> UserInfo {
        UserInfo(username: spec.user ?? "", uid: spec.uid, groups: spec.groups ?? [], extra: spec.extra)
    }

    /// RBAC's answer for `user` to the attributes asked.
    func decision(for user: UserInfo, _ resource: AccessReview.ResourceAttributes?,
                  _ nonResource: AccessReview.NonResourceAttributes?) throws -> AccessReview.Status {
        let asked: RequestAttributes
        if let resource {
            asked = RequestAttributes(verb: resource.verb ?? "", group: resource.group ?? "", resource: resource.resource ?? "",
                                      subresource: resource.subresource ?? "", namespace: resource.namespace ?? "", name: resource.name ?? "")
        } else {
            asked = RequestAttributes(verb: nonResource?.verb ?? "", path: nonResource?.path ?? "")
        }
        let decision = try decide(user, asked)
        return .init(allowed: decision.allowed, reason: decision.reason.isEmpty ? nil : decision.reason)
    }

    /// Who `token` stands for, for `audiences` (the API's when none are asked), as the authenticator would
    /// take it on a request; an unknown, expired or foreign token is answered unauthenticated, with the error.
    func tokenReview(_ token: String, audiences asked: [String]?) -> TokenReview.Status {
        let audiences = (asked ?? []).isEmpty ? [ServiceAccountTokens.issuer] : asked ?? []
        guard let user = authenticator.user(token: token, audiences: audiences) else {
            return .init(authenticated: false, error: "[invalid bearer token, token lookup failed]")
        }
        return .init(authenticated: true, user: .init(username: user.username, uid: user.uid, groups: user.groups, extra: user.extra),
                     audiences: audiences)
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
