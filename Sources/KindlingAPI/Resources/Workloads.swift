import KindlingAddresses

public struct ReplicaSet: KubeObject {
    public static let apiVersion = "apps/v1"
    public static let kind = "ReplicaSet"
    public static let resource = "replicasets"
    public static let namespaced = true
    public static let shortNames = ["rs"]
    public static let categories = ["all"]
    public static let subresources: [ServedKind.Subresource] = [.status(of: ReplicaSet.self), .scale]

    public struct Spec: Codable, Hashable, Sendable {
        public var replicas: Int?
        public var minReadySeconds: Int?
        public var selector: LabelSelector?
        public var template: PodTemplateSpec?

        public init(replicas: Int?, selector: LabelSelector, template: PodTemplateSpec) {
            self.replicas = replicas
            self.selector = selector
            self.template = template
        }
    }

    public struct Status: Codable, Hashable, Sendable {
        public var replicas: Int = 0
        public var fullyLabeledReplicas: Int?
        public var readyReplicas: Int?
        public var availableReplicas: Int?
        public var observedGeneration: Int64?

        public init() {}
    }

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: Spec
    public var status: Status?

    public init(metadata: ObjectMeta, spec: Spec) {
        self.metadata = metadata
        self.spec = spec
        stampTypeMeta()
    }

    /// Status is the controller's: a create starts from none.
    public mutating func prepareForCreate() { status = Status() }

    public mutating func applyDefaults() {
        spec.replicas = spec.replicas ?? 1
        spec.template?.spec.applyDefaults()
    }

    public func validate() -> [FieldError] {
        WorkloadValidation.validate(replicas: spec.replicas, selector: spec.selector, template: spec.template)
    }

    public func validateUpdate(from old: ReplicaSet) -> [FieldError] {
        validate() + WorkloadValidation.immutableSelector(spec.selector, old.spec.selector)
    }
}

public struct Deployment: KubeObject {
    public static let apiVersion = "apps/v1"
    public static let kind = "Deployment"
    public static let resource = "deployments"
    public static let namespaced = true
    public static let shortNames = ["deploy"]
    public static let categories = ["all"]
    public static let subresources: [ServedKind.Subresource] = [.status(of: Deployment.self), .scale]

    public struct Strategy: Codable, Hashable, Sendable {
        public struct RollingUpdate: Codable, Hashable, Sendable {
            public var maxUnavailable: IntOrString?
            public var maxSurge: IntOrString?
            public init(maxUnavailable: IntOrString? = nil, maxSurge: IntOrString? = nil) {
                self.maxUnavailable = maxUnavailable
                self.maxSurge = maxSurge
            }
        }
        public var type: String?
        public var rollingUpdate: RollingUpdate?
        public init(type: String? = nil, rollingUpdate: RollingUpdate? = nil) {
            self.type = type
            self.rollingUpdate = rollingUpdate
        }
    }

    public struct Spec: Codable, Hashable, Sendable {
        public var replicas: Int?
        public var selector: LabelSelector?
        public var template: PodTemplateSpec?
        public var strategy: Strategy?
        public var minReadySeconds: Int?
        public var revisionHistoryLimit: Int?
        public var progressDeadlineSeconds: Int?
        public var paused: Bool?

        public init(replicas: Int?, selector: LabelSelector, template: PodTemplateSpec) {
            self.replicas = replicas
            self.selector = selector
            self.template = template
        }
    }

    public struct Status: Codable, Hashable, Sendable {
        public var observedGeneration: Int64?
        public var replicas: Int?
        public var updatedReplicas: Int?
        public var readyReplicas: Int?
        public var availableReplicas: Int?
        public var unavailableReplicas: Int?
        public var conditions: [Condition]?

        public init() {}
    }

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: Spec
    public var status: Status?

    public init(metadata: ObjectMeta, spec: Spec) {
        self.metadata = metadata
        self.spec = spec
        stampTypeMeta()
    }

    /// Status is the controller's: a create starts from none.
    public mutating func prepareForCreate() { status = Status() }

    public mutating func applyDefaults() {
        spec.replicas = spec.replicas ?? 1
        spec.revisionHistoryLimit = spec.revisionHistoryLimit ?? 10
        spec.progressDeadlineSeconds = spec.progressDeadlineSeconds ?? 600
        var strategy = spec.strategy ?? Strategy()
        strategy.type = strategy.type ?? "RollingUpdate"
        if strategy.type == "RollingUpdate" {
            var rolling = strategy.rollingUpdate ?? Strategy.RollingUpdate()
            rolling.maxSurge = rolling.maxSurge ?? .string("25%")
            rolling.maxUnavailable = rolling.maxUnavailable ?? .string("25%")
            strategy.rollingUpdate = rolling
        }
        spec.strategy = strategy
        spec.template?.spec.applyDefaults()
    }

    public func validate() -> [FieldError] {
        var errors = WorkloadValidation.validate(replicas: spec.replicas, selector: spec.selector, template: spec.template)
        if let type = spec.strategy?.type, !["RollingUpdate", "Recreate"].contains(type) {
            errors.append(.unsupported("spec.strategy.type", type, supported: ["Recreate", "RollingUpdate"]))
        }
        return errors
    }

    public func validateUpdate(from old: Deployment) -> [FieldError] {
        validate() + WorkloadValidation.immutableSelector(spec.selector, old.spec.selector)
    }
}

/// Rules ReplicaSets and Deployments share (apps validation).
enum WorkloadValidation {
    /// A workload's selector cannot change once it exists.
    static func immutableSelector(_ new: LabelSelector?, _ old: LabelSelector?) -> [FieldError] {
        guard new != old else { return [] }
        return [FieldError(.invalid, field: "spec.selector", value: new.map { "v1.LabelSelector{\($0.selector)}" },
                           detail: "field is immutable")]
    }

    static func validate(replicas: Int?, selector: LabelSelector?, template: PodTemplateSpec?) -> [FieldError] {
        var errors = replicasErrors(replicas)
        guard let selector, !selector.isEmpty else {
            errors.append(.required("spec.selector"))
            if template == nil { errors.append(.required("spec.template")) }
            return errors
        }
        errors += selector.validate("spec.selector")
        guard let template else { return errors + [.required("spec.template")] }
        return errors + templateErrors(template, selectedBy: selector.matches)
    }

    static func replicasErrors(_ replicas: Int?) -> [FieldError] {
        guard let replicas, replicas < 0 else { return [] }
        return [.invalid("spec.replicas", replicas, "must be greater than or equal to 0")]
    }

    /// A workload's pod template: labels its selector matches, valid labels, a valid pod spec that always restarts.
    static func templateErrors(_ template: PodTemplateSpec, selectedBy matches: ([String: String]?) -> Bool) -> [FieldError] {
        var errors: [FieldError] = []
        let labels = template.metadata?.labels ?? [:]
        if !matches(labels) {
            let shown = labels.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\"\($0.value)\"" }.joined(separator: ", ")
            errors.append(FieldError(.invalid, field: "spec.template.metadata.labels", value: "map[string]string{\(shown)}",
                                     detail: "`selector` does not match template `labels`"))
        }
        for (key, value) in labels.sorted(by: { $0.key < $1.key }) {
            errors += LabelValidation.keyProblems(key).map { .invalid("spec.template.metadata.labels", key, $0) }
            errors += LabelValidation.valueProblems(value).map { .invalid("spec.template.metadata.labels", value, $0) }
        }
        errors += template.spec.validate("spec.template.spec")
        if let policy = template.spec.restartPolicy, policy != "Always" {
            errors.append(.unsupported("spec.template.spec.restartPolicy", policy, supported: ["Always"]))
        }
        return errors
    }
}

/// Kinds with a `/scale` subresource.
public protocol Scalable: KubeObject {
    var desiredReplicas: Int { get set }
    var currentReplicas: Int { get }
    var podSelector: LabelSelector? { get }
}

/// Kinds that keep a number of pods from a template: ReplicaSet and its older twin ReplicationController.
public protocol PodReplicating: Scalable {
    var podTemplate: PodTemplateSpec? { get }
    var replicaStatus: ReplicaSet.Status? { get set }
}

extension ReplicaSet: PodReplicating {
    public var desiredReplicas: Int {
        get { spec.replicas ?? 1 }
        set { spec.replicas = newValue }
    }
    public var currentReplicas: Int { status?.replicas ?? 0 }
    public var podSelector: LabelSelector? { spec.selector }
    public var podTemplate: PodTemplateSpec? { spec.template }
    public var replicaStatus: ReplicaSet.Status? {
        get { status }
        set { status = newValue }
    }
}

extension Deployment: Scalable {
    public var desiredReplicas: Int {
        get { spec.replicas ?? 1 }
        set { spec.replicas = newValue }
    }
    public var currentReplicas: Int { status?.replicas ?? 0 }
    public var podSelector: LabelSelector? { spec.selector }
}

/// Field paths inside a workload's pod template, which name what a pod's own paths name:
/// `spec.template.spec.containers` of a Deployment is `spec.containers` of its pods.
public enum PodTemplatePath {
    /// Kinds whose `spec.template` is a pod template.
    public static let kinds: Set = ["Deployment", "ReplicaSet", "ReplicationController", "Job", "DaemonSet", "StatefulSet"]

    /// `path` relative to the pod template of a `kind` that has one, or nil when it is not inside one.
    public static func inside(kind: String, path: [String]) -> [String]? {
        guard kinds.contains(kind), path.starts(with: ["spec", "template"]) else { return nil }
        return Array(path.dropFirst(2))
    }
}
