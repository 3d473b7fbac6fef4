import KindlingAddresses

public struct Node: KubeObject {
    public static let apiVersion = "v1"
    public static let kind = "Node"
    public static let resource = "nodes"
    public static let namespaced = false
    public static let shortNames = ["no"]
    public static let subresources: [ServedKind.Subresource] = [.status(of: Node.self)]

    public struct Taint: Codable, Hashable, Sendable {
        public var key: String
        public var value: String?
        public var effect: String
        public var timeAdded: String?

        public init(key: String, value: String? = nil, effect: String) {
            self.key = key
            self.value = value
            self.effect = effect
        }

        /// What kubeadm gives a control-plane node, and kind keeps when the cluster has workers.
        public static let controlPlane = Taint(key: "node-role.kubernetes.io/control-plane", effect: "NoSchedule")
    }

    public struct Spec: Codable, Hashable, Sendable {
        public var podCIDR: String?
        public var podCIDRs: [String]?
        public var unschedulable: Bool?
        public var taints: [Taint]?

        public init(podCIDR: String? = nil) {
            self.podCIDR = podCIDR
            self.podCIDRs = podCIDR.map { [$0] }
        }
    }

    public struct Address: Codable, Hashable, Sendable {
        public var type: String
        public var address: String

        public init(type: String, address: String) {
            self.type = type
            self.address = address
        }
    }

    public struct NodeInfo: Codable, Hashable, Sendable {
        public var machineID: String = ""
        public var systemUUID: String = ""
        public var bootID: String = ""
        public var kernelVersion: String = ""
        public var osImage: String = ""
        public var containerRuntimeVersion: String = ""
        public var kubeletVersion: String = ""
        public var kubeProxyVersion: String = ""
        public var operatingSystem: String = "linux"
        public var architecture: String = "amd64"

        public init() {}
    }

    public struct Status: Codable, Hashable, Sendable {
        public var conditions: [Condition]?
        public var addresses: [Address]?
        public var capacity: [String: String]?
        public var allocatable: [String: String]?
        public var nodeInfo: NodeInfo?

        public init() {}
    }

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: Spec?
    public var status: Status?

    public init(name: String, labels: [String: String] = [:], taints: [Taint] = []) {
        self.metadata = ObjectMeta(name: name, labels: labels)
        self.spec = Spec()
        if !taints.isEmpty { spec?.taints = taints }
        stampTypeMeta()
    }

    public mutating func applyDefaults() {}

    public func validate() -> [FieldError] {
        var errors: [FieldError] = []
        if let cidr = spec?.podCIDR, IPv4CIDR(cidr) == nil {
            errors.append(.invalid("spec.podCIDR", cidr, "must be a valid CIDR"))
        }
        return errors
    }

    public func validateUpdate(from old: Node) -> [FieldError] {
        var errors = validate()
        if let before = old.spec?.podCIDR, !before.isEmpty, spec?.podCIDR != before {
            errors.append(.forbidden("spec.podCIDR", "podCIDR field is immutable once set"))
        }
        return errors
    }

    public var isReady: Bool { status?.conditions?["Ready"]?.status == "True" }
    public var internalIP: String? { status?.addresses?.first { $0.type == "InternalIP" }?.address }
    public var podCIDR: IPv4CIDR? { spec?.podCIDR.flatMap { IPv4CIDR($0) } }
}
