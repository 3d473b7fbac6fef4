/// `rbac.authorization.k8s.io/v1`: rules (Role, ClusterRole) and who has them (RoleBinding, ClusterRoleBinding).
/// A RoleBinding grants its role's rules inside its namespace; a ClusterRoleBinding grants a ClusterRole's
/// everywhere. Nothing is allowed unless a rule allows it.
public struct PolicyRule: Codable, Hashable, Sendable {
    public var verbs: [String]
    public var apiGroups: [String]?
    public var resources: [String]?
    public var resourceNames: [String]?
    public var nonResourceURLs: [String]?

    public init(verbs: [String], apiGroups: [String]? = nil, resources: [String]? = nil, resourceNames: [String]? = nil,
                nonResourceURLs: [String]? = nil) {
        self.verbs = verbs
        self.apiGroups = apiGroups
        self.resources = resources
        self.resourceNames = resourceNames
        self.nonResourceURLs = nonResourceURLs
    }

    func validate(_ path: String, namespaced: Bool) -> [FieldError] {
        var errors: [FieldError] = []
        if verbs.isEmpty { errors.append(.required("\(path).verbs", "verbs must contain at least one value")) }
        if let urls = nonResourceURLs, !urls.isEmpty {
            if namespaced { errors.append(.invalid("\(path).nonResourceURLs", urls.joined(separator: ","), "namespaced rules cannot apply to non-resource URLs")) }
            if !(apiGroups ?? []).isEmpty || !(resources ?? []).isEmpty {
                errors.append(.invalid("\(path).nonResourceURLs", urls.joined(separator: ","), "rules cannot apply to both regular resources and non-resource URLs"))
            }
            return errors
        }
        if (apiGroups ?? []).isEmpty { errors.append(.required("\(path).apiGroups", "resource rules must supply at least one api group")) }
        if (resources ?? []).isEmpty { errors.append(.required("\(path).resources", "resource rules must supply at least one resource")) }
        return errors
    }
}

public struct RBACSubject: Codable, Hashable, Sendable {
    public var kind: String
    public var apiGroup: String?
    public var name: String
    public var namespace: String?

    public init(kind: String, name: String, namespace: String? = nil) {
        self.kind = kind
        self.name = name
        self.namespace = namespace
        apiGroup = kind == "ServiceAccount" ? "" : "rbac.authorization.k8s.io"
    }
}

public struct RoleRef: Codable, Hashable, Sendable {
    public var apiGroup: String
    public var kind: String
    public var name: String

    public init(kind: String, name: String) {
        apiGroup = "rbac.authorization.k8s.io"
        self.kind = kind
        self.name = name
    }
}

public struct Role: KubeObject {
    public static let apiVersion = "rbac.authorization.k8s.io/v1"
    public static let kind = "Role"
    public static let resource = "roles"
    public static let namespaced = true
    public static let shortNames: [String] = []

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var rules: [PolicyRule]?

    public mutating func applyDefaults() {}
    public func validate() -> [FieldError] { (rules ?? []).enumerated().flatMap { $1.validate("rules[\($0)]", namespaced: true) } }
    public static func nameProblems(_ name: String) -> [String] { RBACNames.problems(name) }
}

public struct ClusterRole: KubeObject {
    public static let apiVersion = "rbac.authorization.k8s.io/v1"
    public static let kind = "ClusterRole"
    public static let resource = "clusterroles"
    public static let namespaced = false
    public static let shortNames: [String] = []

    public struct AggregationRule: Codable, Hashable, Sendable {
        public var clusterRoleSelectors: [LabelSelector]?
        public init(clusterRoleSelectors: [LabelSelector]?) { self.clusterRoleSelectors = clusterRoleSelectors }
    }

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var rules: [PolicyRule]?
    public var aggregationRule: AggregationRule?

    public init(name: String, rules: [PolicyRule], labels: [String: String]? = nil) {
        metadata = ObjectMeta(name: name, labels: labels)
        self.rules = rules
        stampTypeMeta()
    }

    public mutating func applyDefaults() {}
    public func validate() -> [FieldError] { (rules ?? []).enumerated().flatMap { $1.validate("rules[\($0)]", namespaced: false) } }
    public static func nameProblems(_ name: String) -> [String] { RBACNames.problems(name) }
}

public struct RoleBinding: RBACBinding {
    public static let apiVersion = "rbac.authorization.k8s.io/v1"
    public static let kind = "RoleBinding"
    public static let resource = "rolebindings"
    public static let namespaced = true
    public static let shortNames: [String] = []

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var subjects: [RBACSubject]?
    public var roleRef: RoleRef

    public static let roleKinds = ["Role", "ClusterRole"]
}

public struct ClusterRoleBinding: RBACBinding {
    public static let apiVersion = "rbac.authorization.k8s.io/v1"
    public static let kind = "ClusterRoleBinding"
    public static let resource = "clusterrolebindings"
    public static let namespaced = false
    public static let shortNames: [String] = []

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var subjects: [RBACSubject]?
    public var roleRef: RoleRef

    public init(name: String, role: String, subjects: [RBACSubject], labels: [String: String]? = nil) {
        metadata = ObjectMeta(name: name, labels: labels)
        roleRef = RoleRef(kind: "ClusterRole", name: role)
        self.subjects = subjects
        stampTypeMeta()
    }

    public static let roleKinds = ["ClusterRole"]
}

/// What both bindings are: a role and its subjects, the subjects defaulted and the role immutable.
public protocol RBACBinding: KubeObject {
    var subjects: [RBACSubject]? { get set }
    var roleRef: RoleRef { get }
    /// The kinds of role the binding may name.
    static var roleKinds: [String] { get }
}

extension RBACBinding {
    public mutating func applyDefaults() { subjects = subjects.map(RBACNames.defaulted) }
    public func validate() -> [FieldError] { RBACNames.bindingErrors(roleRef, subjects, kinds: Self.roleKinds) }
    public func validateUpdate(from old: Self) -> [FieldError] {
        validate() + (roleRef == old.roleRef ? [] : [.invalid("roleRef", "", "cannot change roleRef")])
    }
    public static func nameProblems(_ name: String) -> [String] { RBACNames.problems(name) }
}

/// What RBAC's objects share: their names (path segments, so anything but `/`, `%`, `.` and `..`), and the
/// checks of a binding's role and subjects.
enum RBACNames {
    static func problems(_ name: String) -> [String] {
        if name == "." || name == ".." { return ["may not be '\(name)'"] }
        if name.contains("/") { return ["may not contain '/'"] }
        if name.contains("%") { return ["may not contain '%'"] }
        return []
    }

    static func defaulted(_ subjects: [RBACSubject]) -> [RBACSubject] {
        subjects.map { subject in
            var subject = subject
            if subject.apiGroup == nil { subject.apiGroup = subject.kind == "ServiceAccount" ? "" : "rbac.authorization.k8s.io" }
            return subject
        }
    }

    static func bindingErrors(_ role: RoleRef, _ subjects: [RBACSubject]?, kinds: [String]) -> [FieldError] {
        var errors: [FieldError] = []
        if role.apiGroup != "rbac.authorization.k8s.io" {
            errors.append(.unsupported("roleRef.apiGroup", role.apiGroup, supported: ["rbac.authorization.k8s.io"]))
        }
        if !kinds.contains(role.kind) { errors.append(.unsupported("roleRef.kind", role.kind, supported: kinds)) }
        if role.name.isEmpty { errors.append(.required("roleRef.name")) }
        for (index, subject) in (subjects ?? []).enumerated() {
            let path = "subjects[\(index)]"
            if subject.name.isEmpty { errors.append(.required("\(path).name")) }
            switch subject.kind {
            case "ServiceAccount":
                if (subject.namespace ?? "").isEmpty { errors.append(.required("\(path).namespace")) }
            case "User", "Group": break
            default: errors.append(.unsupported("\(path).kind", subject.kind, supported: ["ServiceAccount", "User", "Group"]))
            }
        }
        return errors
    }
}
