import Foundation
import KindlingAPI

/// What a request asks to do, as kube-apiserver's request info reads it from the path and method alone
/// (before anything is looked up): a verb on a resource of a group, in a namespace, by name, or a verb on a
/// non-resource path (`/version`, `/api`, discovery).
public struct RequestAttributes: Equatable, Sendable {
    public var verb: String
    public var isResource: Bool
    public var group = ""
    public var resource = ""
    public var subresource = ""
    public var namespace = ""
    public var name = ""
    /// The path of a non-resource request.
    public var path = ""

    public static let namespaceSubresources: Set = ["status", "finalize"]

    public init(method: String, path: String, query: [String: String]) {
        let parts = path.split(separator: "/").map(String.init)
        var rest: [String] = []
        if parts.first == "api", parts.count >= 2 {
            rest = Array(parts.dropFirst(2))
        } else if parts.first == "apis", parts.count >= 3 {
            rest = Array(parts.dropFirst(3))
            if !rest.isEmpty { group = parts[1] }
        }
        isResource = !rest.isEmpty
        self.path = path
        if rest.count > 1, rest[0] == "namespaces" {
            namespace = rest[1]
            if rest.count > 2, !Self.namespaceSubresources.contains(rest[2]) { rest = Array(rest.dropFirst(2)) }
        }
        if isResource {
            resource = rest[0]
            name = rest.count > 1 ? rest[1] : ""
            subresource = rest.count > 2 ? rest[2] : ""
        }
        let watching = query["watch"] == "true" || query["watch"] == "1"
        switch method {
        case "GET", "HEAD": verb = !isResource ? "get" : watching ? "watch" : name.isEmpty ? "list" : "get"
        case "POST": verb = "create"
        case "PUT": verb = "update"
        case "PATCH": verb = "patch"
        case "DELETE": verb = name.isEmpty ? "deletecollection" : "delete"
        default: verb = method.lowercased()
        }
    }

    public init(verb: String, group: String, resource: String, subresource: String = "", namespace: String = "", name: String = "") {
        self.verb = verb
        isResource = true
        self.group = group
        self.resource = resource
        self.subresource = subresource
        self.namespace = namespace
        self.name = name
    }

    public init(verb: String, path: String) {
        self.verb = verb
        isResource = false
        self.path = path
    }
}

/// RBAC's decisions, pure: the rules bound to a user (by name, group, or as a ServiceAccount), and whether one
/// of them covers a request, with kube-apiserver's reason.
public struct RBACPolicy: Sendable {
    public var roles: [Role] = []
    public var clusterRoles: [ClusterRole] = []
    public var roleBindings: [RoleBinding] = []
    public var clusterRoleBindings: [ClusterRoleBinding] = []

    public init(roles: [Role] = [], clusterRoles: [ClusterRole] = [], roleBindings: [RoleBinding] = [], clusterRoleBindings: [ClusterRoleBinding] = []) {
        self.roles = roles
        self.clusterRoles = clusterRoles
        self.roleBindings = roleBindings
        self.clusterRoleBindings = clusterRoleBindings
    }

    static func names(_ subject: RBACSubject, _ user: UserInfo, bindingNamespace: String) -> Bool {
        switch subject.kind {
        case "User": return subject.name == user.username
        case "Group": return user.groups.contains(subject.name)
        case "ServiceAccount":
            return ServiceAccount.userName(namespace: subject.namespace ?? bindingNamespace, name: subject.name) == user.username
        default: return false
        }
    }

    /// Whether `user` may do `request`, and why (the binding and role that allow it).
    public func allows(_ user: UserInfo, _ request: RequestAttributes) -> (allowed: Bool, reason: String) {
        for grant in grants(to: user, namespace: request.isResource ? request.namespace : "")
        where grant.rules.contains(where: { Self.covers($0, request) }) {
            return (true, "RBAC: allowed by \(grant.binding) to User \"\(user.username)\"")
        }
        return (false, "")
    }

    /// Every rule bound to `user` that applies in `namespace` (all cluster-wide bindings, and the namespace's
    /// own), as RBAC's rule resolver lists them for SelfSubjectRulesReview.
    public func rules(for user: UserInfo, namespace: String) -> [PolicyRule] {
        grants(to: user, namespace: namespace).flatMap(\.rules)
    }

    /// The bindings naming `user` that apply in `namespace` (cluster-wide ones first), each as kube-apiserver
    /// names it in a reason, with its role's rules; a binding whose role is missing grants nothing.
    func grants(to user: UserInfo, namespace: String) -> [(binding: String, rules: [PolicyRule])] {
        var grants: [(binding: String, rules: [PolicyRule])] = []
        for binding in clusterRoleBindings where (binding.subjects ?? []).contains(where: { Self.names($0, user, bindingNamespace: "") }) {
            guard let role = clusterRoles.first(where: { $0.name == binding.roleRef.name }) else { continue }
            grants.append(("ClusterRoleBinding \"\(binding.name)\" of ClusterRole \"\(role.name)\"", role.rules ?? []))
        }
        guard !namespace.isEmpty else { return grants }
        for binding in roleBindings where binding.namespace == namespace
            && (binding.subjects ?? []).contains(where: { Self.names($0, user, bindingNamespace: binding.namespace) }) {
            let rules: [PolicyRule]? = binding.roleRef.kind == "ClusterRole"
                ? clusterRoles.first { $0.name == binding.roleRef.name }?.rules
                : roles.first { $0.namespace == binding.namespace && $0.name == binding.roleRef.name }?.rules
            guard let rules else { continue }
            grants.append(("RoleBinding \"\(binding.name)/\(binding.namespace)\" of \(binding.roleRef.kind) \"\(binding.roleRef.name)\"", rules))
        }
        return grants
    }

    /// One rule against one request (rbac's RuleAllows): verbs, then groups, resources (with `*/sub` and
    /// `res/sub`) and names for resources, URLs (exact, or a prefix ending in `*`) otherwise.
    public static func covers(_ rule: PolicyRule, _ request: RequestAttributes) -> Bool {
        guard rule.verbs.contains("*") || rule.verbs.contains(request.verb) else { return false }
        guard request.isResource else {
            return (rule.nonResourceURLs ?? []).contains { url in
                url == "*" || url == request.path || (url.hasSuffix("*") && request.path.hasPrefix(String(url.dropLast())))
            }
        }
        let groups = rule.apiGroups ?? [], resources = rule.resources ?? [], names = rule.resourceNames ?? []
        guard groups.contains("*") || groups.contains(request.group) else { return false }
        let combined = request.subresource.isEmpty ? request.resource : "\(request.resource)/\(request.subresource)"
        guard resources.contains(where: { $0 == "*" || $0 == combined || (!request.subresource.isEmpty && $0 == "*/\(request.subresource)") }) else {
            return false
        }
        return names.isEmpty || (!request.name.isEmpty && names.contains(request.name))
    }

    /// kube-apiserver's 403 for a request RBAC does not allow.
    public static func forbidden(_ user: UserInfo, _ request: RequestAttributes) -> Status {
        guard request.isResource else {
            return Status(code: 403, reason: "Forbidden", message: "forbidden: User \"\(user.username)\" cannot \(request.verb) path \"\(request.path)\"")
        }
        let resource = request.subresource.isEmpty ? request.resource : "\(request.resource)/\(request.subresource)"
        let scope = request.namespace.isEmpty ? "at the cluster scope" : "in the namespace \"\(request.namespace)\""
        let detail = "User \"\(user.username)\" cannot \(request.verb) resource \"\(resource)\" in API group \"\(request.group)\" \(scope)"
        return Status.forbidden(GroupResource(group: request.group, resource: request.resource), request.name, detail)
    }
}
