import KindlingAddresses

/// `batch/v1 Job`: pods run to completion. `completions` successful pods finish it (each index once, when
/// `Indexed`), at most `parallelism` at a time; more than `backoffLimit` failures, or running past
/// `activeDeadlineSeconds`, fail it. Unless `manualSelector`, its selector and its pods' labels are made from
/// its uid, as kube-apiserver makes them.
public struct Job: KubeObject {
    public static let apiVersion = "batch/v1"
    public static let kind = "Job"
    public static let resource = "jobs"
    public static let namespaced = true
    public static let shortNames: [String] = []
    public static let categories = ["all"]
    public static let subresources: [ServedKind.Subresource] = [.status(of: Job.self)]

    public static let uidLabel = "batch.kubernetes.io/controller-uid"
    public static let nameLabel = "batch.kubernetes.io/job-name"
    public static let indexAnnotation = "batch.kubernetes.io/job-completion-index"

    public struct Spec: Codable, Hashable, Sendable {
        public var parallelism: Int?
        public var completions: Int?
        public var activeDeadlineSeconds: Int64?
        public var backoffLimit: Int?
        public var selector: LabelSelector?
        public var manualSelector: Bool?
        public var template: PodTemplateSpec
        public var ttlSecondsAfterFinished: Int?
        public var completionMode: String?
        public var suspend: Bool?
        public var podReplacementPolicy: String?

        public init(template: PodTemplateSpec) { self.template = template }
    }

    public struct Status: Codable, Hashable, Sendable {
        public var conditions: [Condition]?
        public var startTime: String?
        public var completionTime: String?
        public var active: Int?
        public var succeeded: Int?
        public var failed: Int?
        public var ready: Int?
        public var terminating: Int?
        public var completedIndexes: String?

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

    public var isIndexed: Bool { spec.completionMode == "Indexed" }

    /// Kubernetes' defaults: one completion at a time unless asked, six retries, NonIndexed, not suspended.
    public mutating func applyDefaults() {
        if spec.completions == nil && spec.parallelism == nil {
            spec.completions = 1
            spec.parallelism = 1
        }
        spec.parallelism = spec.parallelism ?? 1
        spec.backoffLimit = spec.backoffLimit ?? 6
        spec.completionMode = spec.completionMode ?? "NonIndexed"
        spec.suspend = spec.suspend ?? false
        spec.podReplacementPolicy = spec.podReplacementPolicy ?? "TerminatingOrFailed"
        spec.template.spec.applyDefaults()
    }

    /// Status is the controller's; the selector and the pods' labels come from the uid unless `manualSelector`.
    public mutating func prepareForCreate() {
        status = Status()
        guard spec.manualSelector != true, let uid = metadata.uid else { return }
        spec.selector = LabelSelector(matchLabels: [Self.uidLabel: uid])
        var meta = spec.template.metadata ?? ObjectMeta()
        meta.labels = (meta.labels ?? [:]).merging([Self.uidLabel: uid, Self.nameLabel: name, "controller-uid": uid, "job-name": name]) { _, new in new }
        spec.template.metadata = meta
    }

    public func validate() -> [FieldError] {
        var errors: [FieldError] = []
        for (field, value) in [("parallelism", spec.parallelism), ("completions", spec.completions), ("backoffLimit", spec.backoffLimit),
                               ("ttlSecondsAfterFinished", spec.ttlSecondsAfterFinished)] {
            if let value, value < 0 { errors.append(.invalid("spec.\(field)", value, "must be greater than or equal to 0")) }
        }
        if let deadline = spec.activeDeadlineSeconds, deadline <= 0 {
            errors.append(.invalid("spec.activeDeadlineSeconds", deadline, "must be greater than 0"))
        }
        if let mode = spec.completionMode, !["NonIndexed", "Indexed"].contains(mode) {
            errors.append(.unsupported("spec.completionMode", mode, supported: ["NonIndexed", "Indexed"]))
        }
        if isIndexed, spec.completions == nil { errors.append(.required("spec.completions", "when completion mode is Indexed")) }
        if let policy = spec.podReplacementPolicy, !["TerminatingOrFailed", "Failed"].contains(policy) {
            errors.append(.unsupported("spec.podReplacementPolicy", policy, supported: ["Failed", "TerminatingOrFailed"]))
        }
        if let selector = spec.selector, !selector.isEmpty {
            errors += selector.validate("spec.selector")
        } else {
            errors.append(.required("spec.selector"))
        }
        var template = spec.template
        let restart = template.spec.restartPolicy ?? "Always"
        if restart != "OnFailure" && restart != "Never" {
            errors.append(.unsupported("spec.template.spec.restartPolicy", restart, supported: ["OnFailure", "Never"]))
        }
        template.spec.restartPolicy = "Always"  // apps' template rules, bar the restart policy checked above
        return errors + WorkloadValidation.templateErrors(template) { spec.selector?.matches($0) ?? true }
    }

    /// kube-apiserver's immutable Job fields: the selector, the completion mode and (unless suspended) the template.
    public func validateUpdate(from old: Job) -> [FieldError] {
        var errors = validate()
        if spec.selector != old.spec.selector { errors.append(.invalid("spec.selector", spec.selector?.selector.description ?? "", "field is immutable")) }
        if spec.completionMode != old.spec.completionMode {
            errors.append(.invalid("spec.completionMode", spec.completionMode ?? "", "field is immutable"))
        }
        if spec.template != old.spec.template, old.spec.suspend != true {
            errors.append(FieldError(.invalid, field: "spec.template", value: "core.PodTemplateSpec{...}", detail: "field is immutable"))
        }
        return errors
    }

    /// Whether a condition of `type` is True.
    public func has(_ type: String) -> Bool { status?.conditions?[type]?.status == "True" }
    public var isFinished: Bool { has("Complete") || has("Failed") }
}
