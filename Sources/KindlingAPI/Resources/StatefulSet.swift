import KindlingAddresses

/// `apps/v1` StatefulSet: pods with stable names `<name>-0..N-1` and hostnames under its headless service, each
/// with its own claims from `volumeClaimTemplates`, started and stopped in order (or in parallel), updated from
/// the highest ordinal down to `partition`.
public struct StatefulSet: KubeObject {
    public static let apiVersion = "apps/v1"
    public static let kind = "StatefulSet"
    public static let resource = "statefulsets"
    public static let namespaced = true
    public static let shortNames = ["sts"]
    public static let categories = ["all"]
    public static let subresources: [ServedKind.Subresource] = [.status(of: StatefulSet.self), .scale]

    public struct UpdateStrategy: Codable, Hashable, Sendable {
        public struct RollingUpdate: Codable, Hashable, Sendable {
            public var partition: Int?
            public var maxUnavailable: IntOrString?
        }
        public var type: String?
        public var rollingUpdate: RollingUpdate?
    }

    public struct RetentionPolicy: Codable, Hashable, Sendable {
        public var whenDeleted: String?
        public var whenScaled: String?
    }

    public struct Ordinals: Codable, Hashable, Sendable {
        public var start: Int?
    }

    /// A claim template: a claim's metadata (its name) and spec.
    public struct ClaimTemplate: Codable, Hashable, Sendable {
        public var metadata: ObjectMeta
        public var spec: PersistentVolumeClaim.Spec
    }

    public struct Spec: Codable, Hashable, Sendable {
        public var replicas: Int?
        public var selector: LabelSelector?
        public var template: PodTemplateSpec
        public var serviceName: String?
        public var podManagementPolicy: String?
        public var updateStrategy: UpdateStrategy?
        public var volumeClaimTemplates: [ClaimTemplate]?
        public var revisionHistoryLimit: Int?
        public var minReadySeconds: Int?
        public var persistentVolumeClaimRetentionPolicy: RetentionPolicy?
        public var ordinals: Ordinals?
    }

    public struct Status: Codable, Hashable, Sendable {
        public var observedGeneration: Int64?
        public var replicas = 0
        public var readyReplicas: Int?
        public var currentReplicas: Int?
        public var updatedReplicas: Int?
        public var availableReplicas: Int?
        public var currentRevision: String?
        public var updateRevision: String?
        public var collisionCount: Int?

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

    public mutating func prepareForCreate() { status = Status() }

    public mutating func applyDefaults() {
        spec.replicas = spec.replicas ?? 1
        spec.podManagementPolicy = spec.podManagementPolicy ?? "OrderedReady"
        var strategy = spec.updateStrategy ?? UpdateStrategy()
        strategy.type = strategy.type ?? "RollingUpdate"
        if strategy.type == "RollingUpdate" {
            var rolling = strategy.rollingUpdate ?? UpdateStrategy.RollingUpdate()
            rolling.partition = rolling.partition ?? 0
            strategy.rollingUpdate = rolling
        }
        spec.updateStrategy = strategy
        spec.revisionHistoryLimit = spec.revisionHistoryLimit ?? 10
        var retention = spec.persistentVolumeClaimRetentionPolicy ?? RetentionPolicy()
        retention.whenDeleted = retention.whenDeleted ?? "Retain"
        retention.whenScaled = retention.whenScaled ?? "Retain"
        spec.persistentVolumeClaimRetentionPolicy = retention
        spec.template.spec.applyDefaults()
        for i in (spec.volumeClaimTemplates ?? []).indices { spec.volumeClaimTemplates![i].spec.volumeMode = spec.volumeClaimTemplates![i].spec.volumeMode ?? "Filesystem" }
    }

    public func validate() -> [FieldError] {
        // The template is checked as its pods will be: with a volume per claim template, which its mounts may name.
        var template = spec.template
        let claimVolumes = (spec.volumeClaimTemplates ?? []).compactMap(\.metadata.name).map { Volume(name: $0, claim: $0) }
        if !claimVolumes.isEmpty {
            template.spec.volumes = (template.spec.volumes ?? []).filter { volume in !claimVolumes.contains { $0.name == volume.name } } + claimVolumes
        }
        var errors = WorkloadValidation.validate(replicas: spec.replicas, selector: spec.selector, template: template)
        if let policy = spec.podManagementPolicy, !["OrderedReady", "Parallel"].contains(policy) {
            errors.append(.unsupported("spec.podManagementPolicy", policy, supported: ["OrderedReady", "Parallel"]))
        }
        if let type = spec.updateStrategy?.type, !["RollingUpdate", "OnDelete"].contains(type) {
            errors.append(.unsupported("spec.updateStrategy.type", type, supported: ["OnDelete", "RollingUpdate"]))
        }
        if let partition = spec.updateStrategy?.rollingUpdate?.partition, partition < 0 {
            errors.append(.invalid("spec.updateStrategy.rollingUpdate.partition", partition, "must be greater than or equal to 0"))
        }
        if let start = spec.ordinals?.start, start < 0 { errors.append(.invalid("spec.ordinals.start", start, "must be greater than or equal to 0")) }
        if let name = spec.serviceName, !name.isEmpty {
            errors += LabelValidation.dns1123LabelProblems(name).map { .invalid("spec.serviceName", name, $0) }
        }
        for (i, claim) in (spec.volumeClaimTemplates ?? []).enumerated() {
            let path = "spec.volumeClaimTemplates[\(i)]"
            if (claim.metadata.name ?? "").isEmpty { errors.append(.required("\(path).metadata.name")) }
            errors += claim.spec.validate("\(path).spec")
        }
        return errors
    }

    /// kube-apiserver lets only these change after creation.
    public func validateUpdate(from old: StatefulSet) -> [FieldError] {
        var allowed = old.spec
        allowed.replicas = spec.replicas
        allowed.ordinals = spec.ordinals
        allowed.template = spec.template
        allowed.updateStrategy = spec.updateStrategy
        allowed.persistentVolumeClaimRetentionPolicy = spec.persistentVolumeClaimRetentionPolicy
        allowed.minReadySeconds = spec.minReadySeconds
        allowed.revisionHistoryLimit = spec.revisionHistoryLimit
        guard allowed != spec else { return validate() }
        return validate() + [.forbidden("spec", "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', "
            + "'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden")]
    }

    /// The first ordinal (`ordinals.start`, 0 by default).
    public var firstOrdinal: Int { spec.ordinals?.start ?? 0 }
}

extension StatefulSet: Scalable {
    public var desiredReplicas: Int {
        get { spec.replicas ?? 1 }
        set { spec.replicas = newValue }
    }
    public var currentReplicas: Int { status?.replicas ?? 0 }
    public var podSelector: LabelSelector? { spec.selector }
}
