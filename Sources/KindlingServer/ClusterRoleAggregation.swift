import KindlingAPI

/// kube-controller-manager's ClusterRole aggregation: a ClusterRole with an `aggregationRule` holds the rules
/// of every other ClusterRole its selectors match (so a CRD's `aggregate-to-view` role extends `view`).
struct ClusterRoleAggregationController: Controller {
    let name = "clusterrole-aggregation"

    func run(_ registry: Registry) async throws {
        try await reconcileOnChange(registry, watching: [ClusterRole.self]) { try sync(registry) }
    }

    /// The rules `role` aggregates from `all`: each matching role's, in name order, each rule once. Pure.
    static func rules(of role: ClusterRole, among all: [ClusterRole]) -> [PolicyRule] {
        let selectors = role.aggregationRule?.clusterRoleSelectors ?? []
        var rules: [PolicyRule] = []
        for other in all.sorted(by: { $0.name < $1.name }) where other.name != role.name
            && selectors.contains(where: { $0.matches(other.metadata.labels) }) {
            for rule in other.rules ?? [] where !rules.contains(rule) { rules.append(rule) }
        }
        return rules
    }

    func sync(_ registry: Registry) throws {
        let all = try registry.list(ClusterRole.self).items
        for role in all where role.aggregationRule != nil {
            let wanted = Self.rules(of: role, among: all)
            guard wanted != (role.rules ?? []) else { continue }
            try registry.modifyUnchecked(ClusterRole.self, name: role.name) { current in
                var next = current
                next.rules = wanted
                return next.rules == current.rules ? nil : next
            }
        }
    }
}
