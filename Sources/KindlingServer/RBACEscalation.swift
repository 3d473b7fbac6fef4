import Foundation
import KindlingAPI

/// Who the request being served comes from, for checks deep in a write that depend on the caller (kube-apiserver
/// carries the user in the request's context). Unset for the server's own controllers.
enum RequestContext {
    @TaskLocal static var user: UserInfo?
}

/// RBAC's escalation prevention: nobody grants what they do not hold. Writing a Role or ClusterRole needs the
/// `escalate` verb on it or every permission its rules grant (where it applies); writing a binding needs the
/// `bind` verb on its role or every permission of that role; an aggregation rule needs `escalate`. Refused in
/// kube-apiserver's words, with the permissions missing.
enum RBACEscalation {
    static let group = "rbac.authorization.k8s.io"

    /// Checks a write of `object` (replacing `old`) by the current request's caller; other objects pass.
    static func check<T: APIObject>(_ object: T, old: T?, registry: Registry) throws {
        guard let user = RequestContext.user else { return }
        let policy = { try registry.rbacPolicy() }
        let decide = { (user: UserInfo, asked: RequestAttributes) in try registry.decide(user, asked).allowed }
        switch object {
        case let role as Role:
            guard (old as? Role)?.rules != role.rules else { return }
            try confirm(role.rules ?? [], user: user, namespace: role.namespace, grantingAs: Role.groupResource, role.name, policy, decide)
        case let role as ClusterRole:
            let previous = old as? ClusterRole
            guard previous?.rules != role.rules || previous?.aggregationRule != role.aggregationRule else { return }
            let escalate = RequestAttributes(verb: "escalate", group: group, resource: ClusterRole.resource, name: role.name)
            if try decide(user, escalate) { return }
            if role.aggregationRule != nil {
                throw Status.forbidden(ClusterRole.groupResource, role.name, "must have cluster-admin privileges to use the aggregationRule")
            }
            try confirm(role.rules ?? [], user: user, namespace: "", grantingAs: ClusterRole.groupResource, role.name, policy, decide)
        case let binding as RoleBinding:
            let previous = old as? RoleBinding
            guard previous?.roleRef != binding.roleRef || previous?.subjects != binding.subjects else { return }
            try confirmBinding(binding.roleRef, namespace: binding.namespace, user: user, as: RoleBinding.groupResource, binding.name, policy, decide)
        case let binding as ClusterRoleBinding:
            let previous = old as? ClusterRoleBinding
            guard previous?.roleRef != binding.roleRef || previous?.subjects != binding.subjects else { return }
            try confirmBinding(binding.roleRef, namespace: "", user: user, as: ClusterRoleBinding.groupResource, binding.name, policy, decide)
        default:
            return
        }
    }

    /// A role's rules, unless the caller may `escalate` roles there or holds them all.
    static func confirm(_ rules: [PolicyRule], user: UserInfo, namespace: String, grantingAs resource: GroupResource, _ name: String,
                        _ policy: () throws -> RBACPolicy, _ decide: (UserInfo, RequestAttributes) throws -> Bool) throws {
        if try decide(user, RequestAttributes(verb: "escalate", group: group, resource: resource.resource, namespace: namespace, name: name)) { return }
        try confirmHeld(rules, user: user, namespace: namespace, resource, name, policy)
    }

    /// A binding's role, unless the caller may `bind` it or holds all its rules.
    static func confirmBinding(_ roleRef: RoleRef, namespace: String, user: UserInfo, as resource: GroupResource, _ name: String,
                               _ policy: () throws -> RBACPolicy, _ decide: (UserInfo, RequestAttributes) throws -> Bool) throws {
        let roles = roleRef.kind == "ClusterRole" ? ClusterRole.resource : Role.resource
        if try decide(user, RequestAttributes(verb: "bind", group: group, resource: roles, namespace: namespace, name: roleRef.name)) { return }
        let current = try policy()
        let rules = roleRef.kind == "ClusterRole"
            ? current.clusterRoles.first { $0.name == roleRef.name }.map { $0.rules ?? [] }
            : current.roles.first { $0.namespace == namespace && $0.name == roleRef.name }.map { $0.rules ?? [] }
        guard let rules else {
            throw Status.notFound(GroupResource(group: group, resource: roles), roleRef.name)
        }
        try confirmHeld(rules, user: user, namespace: namespace, resource, name, { current })
    }

    static func confirmHeld(_ rules: [PolicyRule], user: UserInfo, namespace: String, _ resource: GroupResource, _ name: String,
                            _ policy: () throws -> RBACPolicy) throws {
        let missing = uncovered(rules, by: try policy().rules(for: user, namespace: namespace))
        guard !missing.isEmpty else { return }
        let groups = "[" + user.groups.map { "\"\($0)\"" }.joined(separator: " ") + "]"
        let list = compact(missing).map(compactString).sorted().joined(separator: "\n")
        throw Status.forbidden(resource, name, "user \"\(user.username)\" (groups=\(groups)) is attempting to grant RBAC permissions not currently held:\n\(list)")
    }

    /// The single permissions (one verb, group, resource and name, or verb and URL) of `rules` that none of
    /// `owner` covers, as RBAC's Covers breaks rules down. A `*` is only covered by a `*`.
    static func uncovered(_ rules: [PolicyRule], by owner: [PolicyRule]) -> [PolicyRule] {
        var missing: [PolicyRule] = []
        for rule in rules {
            for verb in rule.verbs {
                for url in rule.nonResourceURLs ?? [] where !owner.contains(where: { RBACPolicy.covers($0, RequestAttributes(verb: verb, path: url)) }) {
                    missing.append(PolicyRule(verbs: [verb], nonResourceURLs: [url]))
                }
                for group in rule.apiGroups ?? [] {
                    for resource in rule.resources ?? [] {
                        let parts = resource.split(separator: "/", maxSplits: 1).map(String.init)
                        let names = (rule.resourceNames ?? []).isEmpty ? [""] : rule.resourceNames ?? []
                        for name in names {
                            let asked = RequestAttributes(verb: verb, group: group, resource: parts[0], subresource: parts.count > 1 ? parts[1] : "", name: name)
                            guard !owner.contains(where: { RBACPolicy.covers($0, asked) }) else { continue }
                            missing.append(PolicyRule(verbs: [verb], apiGroups: [group], resources: [resource], resourceNames: name.isEmpty ? nil : [name]))
                        }
                    }
                }
            }
        }
        return missing
    }

    /// Permissions that differ only in their verb, as one rule (RBAC's CompactRules).
    static func compact(_ rules: [PolicyRule]) -> [PolicyRule] {
        var merged: [PolicyRule] = []
        for rule in rules {
            if let index = merged.firstIndex(where: { $0.apiGroups == rule.apiGroups && $0.resources == rule.resources
                && $0.resourceNames == rule.resourceNames && $0.nonResourceURLs == rule.nonResourceURLs }) {
                merged[index].verbs += rule.verbs.filter { !merged[index].verbs.contains($0) }
            } else {
                merged.append(rule)
            }
        }
        return merged
    }

    /// A rule as RBAC's CompactString writes it: `{APIGroups:[""], Resources:["pods"], Verbs:["get" "list"]}`.
    static func compactString(_ rule: PolicyRule) -> String {
        func quoted(_ values: [String]) -> String { "[" + values.map { "\"\($0)\"" }.joined(separator: " ") + "]" }
        var parts: [String] = []
        if let groups = rule.apiGroups, !groups.isEmpty { parts.append("APIGroups:\(quoted(groups))") }
        if let resources = rule.resources, !resources.isEmpty { parts.append("Resources:\(quoted(resources))") }
        if let urls = rule.nonResourceURLs, !urls.isEmpty { parts.append("NonResourceURLs:\(quoted(urls))") }
        if let names = rule.resourceNames, !names.isEmpty { parts.append("ResourceNames:\(quoted(names))") }
        if !rule.verbs.isEmpty { parts.append("Verbs:\(quoted(rule.verbs))") }
        return "{" + parts.joined(separator: ", ") + "}"
    }
}
