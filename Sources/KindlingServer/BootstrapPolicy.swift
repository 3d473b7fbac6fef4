import KindlingAPI

/// Kubernetes' default roles and bindings (kube-apiserver's RBAC bootstrap policy), made at start and kept as
/// Kubernetes keeps those marked for auto-update: cluster-admin for `system:masters`, discovery, basic-user
/// and public-info for every authenticated caller, and the user-facing view, edit and admin roles.
enum BootstrapPolicy {
    static let labels = ["kubernetes.io/bootstrapping": "rbac-defaults"]
    static let autoupdate = "rbac.authorization.kubernetes.io/autoupdate"

    static func rule(_ verbs: [String], _ group: String, _ resources: [String]) -> PolicyRule {
        PolicyRule(verbs: verbs, apiGroups: [group], resources: resources)
    }

    static let read = ["get", "list", "watch"]
    static let write = ["create", "delete", "deletecollection", "patch", "update"]

    /// What `view` reads: the namespaced kinds but Secrets (and roles).
    static let viewable: [(String, [String])] = [
        ("", ["pods", "pods/log", "pods/status", "services", "services/status", "endpoints", "configmaps", "persistentvolumeclaims",
              "persistentvolumeclaims/status", "replicationcontrollers", "replicationcontrollers/scale", "replicationcontrollers/status",
              "serviceaccounts", "events", "limitranges", "resourcequotas", "resourcequotas/status", "bindings", "namespaces", "namespaces/status"]),
        ("apps", ["deployments", "deployments/scale", "deployments/status", "replicasets", "replicasets/scale", "replicasets/status",
                  "statefulsets", "statefulsets/scale", "statefulsets/status", "daemonsets", "daemonsets/status", "controllerrevisions"]),
        ("batch", ["jobs", "jobs/status", "cronjobs", "cronjobs/status"]),
        ("networking.k8s.io", ["ingresses", "ingresses/status", "networkpolicies"]),
        ("discovery.k8s.io", ["endpointslices"]),
        ("events.k8s.io", ["events"]),
        ("autoscaling", ["horizontalpodautoscalers", "horizontalpodautoscalers/status"]),
        ("policy", ["poddisruptionbudgets", "poddisruptionbudgets/status"]),
    ]

    /// What `edit` changes besides reading: the workloads and their configuration, Secrets included.
    static let editable: [(String, [String])] = [
        ("", ["pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy", "pods/eviction", "services", "services/proxy", "endpoints",
              "configmaps", "secrets", "serviceaccounts", "persistentvolumeclaims", "replicationcontrollers", "replicationcontrollers/scale"]),
        ("apps", ["deployments", "deployments/scale", "deployments/rollback", "replicasets", "replicasets/scale", "statefulsets",
                  "statefulsets/scale", "daemonsets"]),
        ("batch", ["jobs", "cronjobs"]),
        ("networking.k8s.io", ["ingresses", "networkpolicies"]),
        ("discovery.k8s.io", ["endpointslices"]),
        ("autoscaling", ["horizontalpodautoscalers"]),
        ("policy", ["poddisruptionbudgets"]),
        ("coordination.k8s.io", ["leases"]),
    ]

    static var view: [PolicyRule] { viewable.map { rule(read, $0.0, $0.1) } }
    static var edit: [PolicyRule] {
        view + [rule(read, "", ["secrets"]), rule(["impersonate"], "", ["serviceaccounts"]), rule(["create"], "", ["serviceaccounts/token"])]
            + editable.map { rule(write, $0.0, $0.1) }
    }
    static var admin: [PolicyRule] {
        edit + [rule(read + write, "rbac.authorization.k8s.io", ["roles", "rolebindings"]),
                rule(["create"], "authorization.k8s.io", ["localsubjectaccessreviews"])]
    }

    static let discoveryURLs = ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*", "/readyz", "/version", "/version/"]

    static let aggregateLabel = "rbac.authorization.k8s.io/aggregate-to-"

    /// A role whose rules are those of the ClusterRoles labelled `aggregate-to-<level>`, itself labelled as
    /// part of the next level up (view is part of edit, edit of admin), as Kubernetes' user-facing roles are.
    static func aggregated(_ name: String, partOf next: String?) -> ClusterRole {
        var role = ClusterRole(name: name, rules: [], labels: next.map { [aggregateLabel + $0: "true"] })
        role.aggregationRule = .init(clusterRoleSelectors: [LabelSelector(matchLabels: [aggregateLabel + name: "true"])])
        return role
    }

    static var clusterRoles: [ClusterRole] {
        let viewRules = view, editRules = edit.filter { !viewRules.contains($0) }, adminRules = admin.filter { !edit.contains($0) }
        let roles = [
            ClusterRole(name: "cluster-admin", rules: [PolicyRule(verbs: ["*"], apiGroups: ["*"], resources: ["*"]),
                                                       PolicyRule(verbs: ["*"], nonResourceURLs: ["*"])]),
            aggregated("admin", partOf: nil), aggregated("edit", partOf: "admin"), aggregated("view", partOf: "edit"),
            ClusterRole(name: "system:aggregate-to-admin", rules: adminRules, labels: [aggregateLabel + "admin": "true"]),
            ClusterRole(name: "system:aggregate-to-edit", rules: editRules, labels: [aggregateLabel + "edit": "true"]),
            ClusterRole(name: "system:aggregate-to-view", rules: viewRules, labels: [aggregateLabel + "view": "true"]),
            ClusterRole(name: "system:discovery", rules: [PolicyRule(verbs: ["get"], nonResourceURLs: discoveryURLs)]),
            ClusterRole(name: "system:public-info-viewer", rules: [PolicyRule(verbs: ["get"], nonResourceURLs: ["/healthz", "/livez", "/readyz", "/version", "/version/"])]),
            ClusterRole(name: "system:basic-user", rules: [
                rule(["create"], "authorization.k8s.io", ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]),
                rule(["create"], "authentication.k8s.io", ["selfsubjectreviews"]),
            ]),
            // For what checks others' tokens and access on the API's behalf (webhooks, proxies).
            ClusterRole(name: "system:auth-delegator", rules: [
                rule(["create"], "authentication.k8s.io", ["tokenreviews"]),
                rule(["create"], "authorization.k8s.io", ["subjectaccessreviews"]),
            ]),
        ]
        return roles.map { role in
            var role = role
            role.metadata.labels = (role.metadata.labels ?? [:]).merging(labels) { a, _ in a }
            role.metadata.annotations = [autoupdate: "true"]
            return role
        }
    }

    static var clusterRoleBindings: [ClusterRoleBinding] {
        let authenticated = RBACSubject(kind: "Group", name: "system:authenticated")
        let bindings = [
            ClusterRoleBinding(name: "cluster-admin", role: "cluster-admin", subjects: [RBACSubject(kind: "Group", name: "system:masters")]),
            ClusterRoleBinding(name: "system:discovery", role: "system:discovery", subjects: [authenticated]),
            ClusterRoleBinding(name: "system:basic-user", role: "system:basic-user", subjects: [authenticated]),
            ClusterRoleBinding(name: "system:public-info-viewer", role: "system:public-info-viewer",
                               subjects: [authenticated, RBACSubject(kind: "Group", name: "system:unauthenticated")]),
        ]
        return bindings.map { binding in
            var binding = binding
            binding.metadata.labels = labels
            binding.metadata.annotations = [autoupdate: "true"]
            return binding
        }
    }

    /// Makes what is missing, and puts back the rules of roles still marked for auto-update.
    static func ensure(_ registry: Registry) throws {
        for role in clusterRoles {
            guard let current = try? registry.get(ClusterRole.self, name: role.name) else {
                _ = try registry.create(role)
                continue
            }
            // An aggregated role's rules are the aggregation controller's; its selectors are what is kept.
            let same = role.aggregationRule != nil ? current.aggregationRule == role.aggregationRule : current.rules == role.rules
            guard current.metadata.annotations?[autoupdate] != "false", !same else { continue }
            try registry.modify(ClusterRole.self, name: role.name) { current in
                var next = current
                if role.aggregationRule != nil { next.aggregationRule = role.aggregationRule } else { next.rules = role.rules }
                next.metadata.labels = (current.metadata.labels ?? [:]).merging(role.metadata.labels ?? [:]) { _, new in new }
                return next
            }
        }
        for binding in clusterRoleBindings where (try? registry.get(ClusterRoleBinding.self, name: binding.name)) == nil {
            _ = try registry.create(binding)
        }
    }
}
