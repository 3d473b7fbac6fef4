import KindlingAddresses

/// Where a pod may run, as a pod spec says it: tolerations of nodes' taints, and node affinity (required terms,
/// any of which must match; preferred ones, weighed). The matching rules are the scheduler's and the taint
/// manager's, pure.
public struct Toleration: Codable, Hashable, Sendable {
    public var key: String?
    public var `operator`: String?
    public var value: String?
    public var effect: String?
    /// For NoExecute: how long the pod stays on a node after the taint appears (nil: for ever).
    public var tolerationSeconds: Int64?

    public init(key: String?, operator op: String? = nil, value: String? = nil, effect: String?, seconds: Int64? = nil) {
        self.key = key
        self.operator = op
        self.value = value
        self.effect = effect
        self.tolerationSeconds = seconds
    }

    /// Kubernetes' rule: an empty effect matches every effect, an empty key with Exists every taint; Exists
    /// ignores the value, Equal (the default) wants the same.
    public func tolerates(_ taint: Node.Taint) -> Bool {
        if let effect, !effect.isEmpty, effect != taint.effect { return false }
        if let key, !key.isEmpty, key != taint.key { return false }
        if (key ?? "").isEmpty { return `operator` == "Exists" }
        return `operator` == "Exists" || (value ?? "") == (taint.value ?? "")
    }

    public static let effects = ["NoSchedule", "PreferNoSchedule", "NoExecute"]

    func validate(_ path: String) -> [FieldError] {
        var errors: [FieldError] = []
        let op = `operator` ?? "Equal"
        if !["Exists", "Equal"].contains(op) { errors.append(.unsupported("\(path).operator", op, supported: ["Equal", "Exists"])) }
        if (key ?? "").isEmpty, op != "Exists" {
            errors.append(.invalid("\(path).operator", op, "operator must be Exists when `key` is empty, which means \"match all values and all keys\""))
        }
        if let key, !key.isEmpty { errors += LabelValidation.keyProblems(key).map { .invalid("\(path).key", key, $0) } }
        if op == "Exists", let value, !value.isEmpty { errors.append(.invalid("\(path).operator", value, "value must be empty when `operator` is 'Exists'")) }
        if let effect, !effect.isEmpty, !Self.effects.contains(effect) { errors.append(.unsupported("\(path).effect", effect, supported: Self.effects)) }
        if tolerationSeconds != nil, effect != "NoExecute" {
            errors.append(.invalid("\(path).effect", effect ?? "", "effect must be 'NoExecute' when `tolerationSeconds` is set"))
        }
        return errors
    }
}

public struct Affinity: Codable, Hashable, Sendable {
    public var nodeAffinity: NodeAffinity?

    public init(nodeAffinity: NodeAffinity?) { self.nodeAffinity = nodeAffinity }
}

public struct NodeAffinity: Codable, Hashable, Sendable {
    public struct Preferred: Codable, Hashable, Sendable {
        public var weight: Int
        public var preference: NodeSelectorTerm

        public init(weight: Int, preference: NodeSelectorTerm) {
            self.weight = weight
            self.preference = preference
        }
    }

    public var requiredDuringSchedulingIgnoredDuringExecution: NodeSelector?
    public var preferredDuringSchedulingIgnoredDuringExecution: [Preferred]?

    public init(required: NodeSelector?) { requiredDuringSchedulingIgnoredDuringExecution = required }

    func validate(_ path: String) -> [FieldError] {
        var errors: [FieldError] = []
        if let required = requiredDuringSchedulingIgnoredDuringExecution {
            let p = "\(path).requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms"
            if required.nodeSelectorTerms.isEmpty { errors.append(.required(p, "must have at least one node selector term")) }
            for (i, term) in required.nodeSelectorTerms.enumerated() { errors += term.validate("\(p)[\(i)]") }
        }
        for (i, preferred) in (preferredDuringSchedulingIgnoredDuringExecution ?? []).enumerated() {
            let p = "\(path).preferredDuringSchedulingIgnoredDuringExecution[\(i)]"
            if !(1...100).contains(preferred.weight) { errors.append(.invalid("\(p).weight", preferred.weight, "must be in the range 1-100")) }
            errors += preferred.preference.validate("\(p).preference")
        }
        return errors
    }
}

public struct NodeSelector: Codable, Hashable, Sendable {
    public var nodeSelectorTerms: [NodeSelectorTerm]

    public init(nodeSelectorTerms: [NodeSelectorTerm]) { self.nodeSelectorTerms = nodeSelectorTerms }

    /// Any term matching will do.
    public func matches(_ node: Node) -> Bool { nodeSelectorTerms.contains { $0.matches(node) } }
}

public struct NodeSelectorTerm: Codable, Hashable, Sendable {
    public var matchExpressions: [NodeSelectorRequirement]?
    /// Only `metadata.name` (what a DaemonSet's pods are pinned with).
    public var matchFields: [NodeSelectorRequirement]?

    public init(matchExpressions: [NodeSelectorRequirement]? = nil, matchFields: [NodeSelectorRequirement]? = nil) {
        self.matchExpressions = matchExpressions
        self.matchFields = matchFields
    }

    /// Every requirement holds; a term with none matches nothing, as Kubernetes has it.
    public func matches(_ node: Node) -> Bool {
        let expressions = matchExpressions ?? [], fields = matchFields ?? []
        guard !expressions.isEmpty || !fields.isEmpty else { return false }
        return expressions.allSatisfy { $0.matches(node.metadata.labels ?? [:]) }
            && fields.allSatisfy { $0.matches(["metadata.name": node.name]) }
    }

    func validate(_ path: String) -> [FieldError] {
        var errors: [FieldError] = []
        for (i, requirement) in (matchExpressions ?? []).enumerated() { errors += requirement.validate("\(path).matchExpressions[\(i)]") }
        for (i, requirement) in (matchFields ?? []).enumerated() {
            errors += requirement.validate("\(path).matchFields[\(i)]", field: true)
        }
        return errors
    }
}

public struct NodeSelectorRequirement: Codable, Hashable, Sendable {
    public var key: String
    public var `operator`: String
    public var values: [String]?

    public init(key: String, operator op: String, values: [String]?) {
        self.key = key
        self.operator = op
        self.values = values
    }

    public static let operators = ["DoesNotExist", "Exists", "Gt", "In", "Lt", "NotIn"]

    public func matches(_ labels: [String: String]) -> Bool {
        let value = labels[key], values = self.values ?? []
        switch `operator` {
        case "In": return value.map(values.contains) ?? false
        case "NotIn": return value.map { !values.contains($0) } ?? true
        case "Exists": return value != nil
        case "DoesNotExist": return value == nil
        case "Gt", "Lt":
            guard let have = value.flatMap({ Int64($0) }), values.count == 1, let bound = Int64(values[0]) else { return false }
            return `operator` == "Gt" ? have > bound : have < bound
        default: return false
        }
    }

    func validate(_ path: String, field: Bool = false) -> [FieldError] {
        var errors: [FieldError] = []
        let count = values?.count ?? 0
        switch `operator` {
        case "In", "NotIn": if count == 0 { errors.append(.required("\(path).values", "must be specified when `operator` is 'In' or 'NotIn'")) }
        case "Exists", "DoesNotExist": if count > 0 { errors.append(.forbidden("\(path).values", "may not be specified when `operator` is 'Exists' or 'DoesNotExist'")) }
        case "Gt", "Lt": if count != 1 { errors.append(.required("\(path).values", "must be specified single value when `operator` is 'Lt' or 'Gt'")) }
        default: errors.append(.invalid("\(path).operator", `operator`, "not a valid selector operator"))
        }
        if field {
            if key != "metadata.name" { errors.append(.invalid("\(path).key", key, "not a valid field selector key")) }
        } else {
            errors += LabelValidation.keyProblems(key).map { .invalid("\(path).key", key, $0) }
        }
        return errors
    }
}
