import KindlingAddresses

/// `apps/v1` DaemonSet: one pod of its template on every node it is meant for (its template's nodeSelector and
/// node affinity, the taints its tolerations allow), replaced node by node when the template changes.
public struct DaemonSet: KubeObject {
    public static let apiVersion = "apps/v1"
    public static let kind = "DaemonSet"
    public static let resource = "daemonsets"
    public static let namespaced = true
    public static let shortNames = ["ds"]
    public static let categories = ["all"]
    public static let subresources: [ServedKind.Subresource] = [.status(of: DaemonSet.self)]

    public struct UpdateStrategy: Codable, Hashable, Sendable {
        public struct RollingUpdate: Codable, Hashable, Sendable {
            public var maxUnavailable: IntOrString?
            public var maxSurge: IntOrString?
        }
        public var type: String?
        public var rollingUpdate: RollingUpdate?
    }

    public struct Spec: Codable, Hashable, Sendable {
        public var selector: LabelSelector?
        public var template: PodTemplateSpec
        public var updateStrategy: UpdateStrategy?
        public var minReadySeconds: Int?
        public var revisionHistoryLimit: Int?

        public init(selector: LabelSelector, template: PodTemplateSpec) {
            self.selector = selector
            self.template = template
        }
    }

    public struct Status: Codable, Hashable, Sendable {
        public var currentNumberScheduled = 0
        public var numberMisscheduled = 0
        public var desiredNumberScheduled = 0
        public var numberReady = 0
        public var observedGeneration: Int64?
        public var updatedNumberScheduled: Int?
        public var numberAvailable: Int?
        public var numberUnavailable: Int?

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
        var strategy = spec.updateStrategy ?? UpdateStrategy()
        strategy.type = strategy.type ?? "RollingUpdate"
        if strategy.type == "RollingUpdate" {
            var rolling = strategy.rollingUpdate ?? UpdateStrategy.RollingUpdate()
            rolling.maxUnavailable = rolling.maxUnavailable ?? .int(1)
            rolling.maxSurge = rolling.maxSurge ?? .int(0)
            strategy.rollingUpdate = rolling
        }
        spec.updateStrategy = strategy
        spec.revisionHistoryLimit = spec.revisionHistoryLimit ?? 10
        spec.template.spec.applyDefaults()
    }

    public func validate() -> [FieldError] {
        var errors = WorkloadValidation.validate(replicas: nil, selector: spec.selector, template: spec.template)
        let strategy = spec.updateStrategy
        if let type = strategy?.type, !["RollingUpdate", "OnDelete"].contains(type) {
            errors.append(.unsupported("spec.updateStrategy.type", type, supported: ["OnDelete", "RollingUpdate"]))
        }
        if let rolling = strategy?.rollingUpdate, strategy?.type == "RollingUpdate" {
            let path = "spec.updateStrategy.rollingUpdate"
            for (field, value) in [("maxUnavailable", rolling.maxUnavailable), ("maxSurge", rolling.maxSurge)] {
                if let problem = value?.countOrPercentProblem { errors.append(.invalid("\(path).\(field)", value?.description ?? "", problem)) }
            }
            if Self.isZero(rolling.maxUnavailable) && Self.isZero(rolling.maxSurge) {
                errors.append(.invalid("\(path).maxUnavailable", rolling.maxUnavailable?.description ?? "0",
                                       "may not be 0 when `maxSurge` is 0"))
            }
        }
        if let seconds = spec.minReadySeconds, seconds < 0 {
            errors.append(.invalid("spec.minReadySeconds", seconds, "must be greater than or equal to 0"))
        }
        return errors
    }

    public func validateUpdate(from old: DaemonSet) -> [FieldError] {
        validate() + WorkloadValidation.immutableSelector(spec.selector, old.spec.selector)
    }

    static func isZero(_ value: IntOrString?) -> Bool { value == .int(0) || value == .string("0%") }
}
