import Foundation
import KindlingAddresses

/// `policy/v1` PodDisruptionBudget: how many of the pods its selector picks must stay healthy (or may be
/// unavailable) while they are evicted, as `kubectl drain` does.
public struct PodDisruptionBudget: KubeObject {
    public static let apiVersion = "policy/v1"
    public static let kind = "PodDisruptionBudget"
    public static let resource = "poddisruptionbudgets"
    public static let namespaced = true
    public static let shortNames = ["pdb"]
    public static let subresources: [ServedKind.Subresource] = [.status(of: PodDisruptionBudget.self)]

    public struct Spec: Codable, Hashable, Sendable {
        public var minAvailable: IntOrString?
        public var maxUnavailable: IntOrString?
        public var selector: LabelSelector?
        public var unhealthyPodEvictionPolicy: String?
    }

    public struct Status: Codable, Hashable, Sendable {
        public var observedGeneration: Int64?
        /// Pods evicted and not gone yet, with when: they count as disrupted already.
        public var disruptedPods: [String: String]?
        public var disruptionsAllowed = 0
        public var currentHealthy = 0
        public var desiredHealthy = 0
        public var expectedPods = 0
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

    public mutating func prepareForCreate() { status = Status() }

    public mutating func applyDefaults() {}

    public func validate() -> [FieldError] {
        var errors: [FieldError] = []
        if spec.minAvailable != nil && spec.maxUnavailable != nil {
            errors.append(FieldError(.invalid, field: "spec", value: "policy.PodDisruptionBudgetSpec",
                                     detail: "minAvailable and maxUnavailable cannot be both set"))
        }
        for (field, value) in [("minAvailable", spec.minAvailable), ("maxUnavailable", spec.maxUnavailable)] {
            if let value, let problem = value.countOrPercentProblem { errors.append(.invalid("spec.\(field)", value.description, problem)) }
        }
        if let selector = spec.selector { errors += selector.validate("spec.selector") }
        if let policy = spec.unhealthyPodEvictionPolicy, !["IfHealthyBudget", "AlwaysAllow"].contains(policy) {
            errors.append(.unsupported("spec.unhealthyPodEvictionPolicy", policy, supported: ["AlwaysAllow", "IfHealthyBudget"]))
        }
        return errors
    }

    /// Whether `pod` is one of those it guards (same namespace, its selector; an empty selector picks none).
    public func selects(_ pod: Pod) -> Bool {
        guard pod.namespace == namespace, let selector = spec.selector, !selector.isEmpty else { return false }
        return selector.matches(pod.metadata.labels ?? [:])
    }
}

/// The `Eviction` a client posts to `pods/{name}/eviction`.
public struct Eviction: Codable, Sendable {
    public struct Options: Codable, Sendable {
        public var gracePeriodSeconds: Int64?
        public var dryRun: [String]?
        public var preconditions: Preconditions?
    }
    public struct Preconditions: Codable, Sendable {
        public var uid: String?
    }
    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta?
    public var deleteOptions: Options?
}
