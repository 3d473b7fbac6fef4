import KindlingAddresses

/// `v1 ReplicationController`, the ReplicaSet's older twin: the same job, with an equality-based selector (a
/// plain label map) that defaults to the template's labels. Its controller is the ReplicaSet's.
public struct ReplicationController: KubeObject {
    public static let apiVersion = "v1"
    public static let kind = "ReplicationController"
    public static let resource = "replicationcontrollers"
    public static let namespaced = true
    public static let shortNames = ["rc"]
    public static let categories = ["all"]
    public static let subresources: [ServedKind.Subresource] = [.status(of: ReplicationController.self), .scale]

    public struct Spec: Codable, Hashable, Sendable {
        public var replicas: Int?
        public var minReadySeconds: Int?
        public var selector: [String: String]?
        public var template: PodTemplateSpec?
    }

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: Spec
    public var status: ReplicaSet.Status?

    /// Status is the controller's: a create starts from none.
    public mutating func prepareForCreate() { status = ReplicaSet.Status() }

    /// Kubernetes' defaults: one replica; the selector, and the controller's own labels, from the template's.
    public mutating func applyDefaults() {
        spec.replicas = spec.replicas ?? 1
        let labels = spec.template?.metadata?.labels ?? [:]
        if (spec.selector ?? [:]).isEmpty, !labels.isEmpty { spec.selector = labels }
        if (metadata.labels ?? [:]).isEmpty, !labels.isEmpty { metadata.labels = labels }
        spec.template?.spec.applyDefaults()
    }

    /// A label map for a selector (not empty, valid labels), and a template it selects: apps' rules for the rest.
    public func validate() -> [FieldError] {
        var errors = WorkloadValidation.replicasErrors(spec.replicas)
        let selector = spec.selector ?? [:]
        if selector.isEmpty { errors.append(.required("spec.selector")) }
        for (key, value) in selector.sorted(by: { $0.key < $1.key }) {
            errors += LabelValidation.keyProblems(key).map { .invalid("spec.selector", key, $0) }
            errors += LabelValidation.valueProblems(value).map { .invalid("spec.selector", value, $0) }
        }
        guard let template = spec.template else { return errors + [.required("spec.template")] }
        return errors + WorkloadValidation.templateErrors(template) { labels in selector.isEmpty || selector.allSatisfy { labels?[$0.key] == $0.value } }
    }
}

extension ReplicationController: PodReplicating {
    public var desiredReplicas: Int {
        get { spec.replicas ?? 1 }
        set { spec.replicas = newValue }
    }
    public var currentReplicas: Int { status?.replicas ?? 0 }
    public var podSelector: LabelSelector? { spec.selector.map { LabelSelector(matchLabels: $0) } }
    public var podTemplate: PodTemplateSpec? { spec.template }
    public var replicaStatus: ReplicaSet.Status? {
        get { status }
        set { status = newValue }
    }
}
