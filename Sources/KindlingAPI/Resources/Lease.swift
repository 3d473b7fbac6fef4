/// `coordination.k8s.io/v1 Lease`: each node's agent renews one in `kube-node-lease`, named after its node, as
/// a kubelet does (`kubectl describe node` shows it under Lease).
public struct Lease: KubeObject {
    public static let apiVersion = "coordination.k8s.io/v1"
    public static let kind = "Lease"
    public static let resource = "leases"
    public static let namespaced = true
    public static let shortNames: [String] = []
    /// Where node leases live.
    public static let nodeLeaseNamespace = "kube-node-lease"

    public struct Spec: Codable, Hashable, Sendable {
        public var holderIdentity: String?
        public var leaseDurationSeconds: Int?
        public var acquireTime: String?
        /// A MicroTime: RFC 3339 with microseconds.
        public var renewTime: String?
        public var leaseTransitions: Int?

        public init(holderIdentity: String? = nil, leaseDurationSeconds: Int? = nil, renewTime: String? = nil) {
            self.holderIdentity = holderIdentity
            self.leaseDurationSeconds = leaseDurationSeconds
            self.renewTime = renewTime
        }
    }

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: Spec?

    public init(namespace: String, name: String, spec: Spec) {
        self.metadata = ObjectMeta(name: name, namespace: namespace)
        self.spec = spec
        stampTypeMeta()
    }

    public mutating func applyDefaults() {}

    public func validate() -> [FieldError] {
        var errors: [FieldError] = []
        if let duration = spec?.leaseDurationSeconds, duration <= 0 { errors.append(.invalid("spec.leaseDurationSeconds", duration, "must be greater than 0")) }
        if let transitions = spec?.leaseTransitions, transitions < 0 { errors.append(.invalid("spec.leaseTransitions", transitions, "must be greater than or equal to 0")) }
        return errors
    }
}
