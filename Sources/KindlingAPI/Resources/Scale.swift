/// `autoscaling/v1 Scale`, the `/scale` subresource of ReplicaSets and Deployments (`kubectl scale`).
public struct Scale: Codable, Hashable, Sendable {
    public struct Spec: Codable, Hashable, Sendable {
        public var replicas: Int?
        public init(replicas: Int?) { self.replicas = replicas }
    }
    public struct Status: Codable, Hashable, Sendable {
        public var replicas: Int
        public var selector: String?
        public init(replicas: Int, selector: String?) {
            self.replicas = replicas
            self.selector = selector
        }
    }

    public var apiVersion: String? = "autoscaling/v1"
    public var kind: String? = "Scale"
    public var metadata: ObjectMeta
    public var spec: Spec
    public var status: Status?

    public init(metadata: ObjectMeta, spec: Spec, status: Status?) {
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }
}
