import KindlingAddresses

/// `v1 Endpoints`: the legacy list of a Service's addresses, which `kubectl get ep` and `describe svc` show.
public struct Endpoints: KubeObject {
    public static let apiVersion = "v1"
    public static let kind = "Endpoints"
    public static let resource = "endpoints"
    public static let namespaced = true
    public static let shortNames = ["ep"]

    public struct Address: Codable, Hashable, Sendable {
        public var ip: String
        public var hostname: String?
        public var nodeName: String?
        public var targetRef: ObjectReference?

        public init(ip: String, nodeName: String? = nil, targetRef: ObjectReference? = nil) {
            self.ip = ip
            self.nodeName = nodeName
            self.targetRef = targetRef
        }
    }

    public struct Port: Codable, Hashable, Sendable {
        public var name: String?
        public var port: Int
        public var `protocol`: String?
        public var appProtocol: String?

        public init(name: String?, port: Int, protocol proto: String?) {
            self.name = name
            self.port = port
            self.protocol = proto
        }
    }

    public struct Subset: Codable, Hashable, Sendable {
        public var addresses: [Address]?
        public var notReadyAddresses: [Address]?
        public var ports: [Port]?

        public init(addresses: [Address]?, notReadyAddresses: [Address]?, ports: [Port]?) {
            self.addresses = addresses
            self.notReadyAddresses = notReadyAddresses
            self.ports = ports
        }
    }

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var subsets: [Subset]?

    public init(metadata: ObjectMeta, subsets: [Subset]?) {
        self.metadata = metadata
        self.subsets = subsets
        stampTypeMeta()
    }

    public mutating func applyDefaults() {
        for i in (subsets ?? []).indices {
            for j in (subsets![i].ports ?? []).indices { subsets![i].ports![j].protocol = subsets![i].ports![j].protocol ?? "TCP" }
        }
    }

    public func validate() -> [FieldError] {
        var errors: [FieldError] = []
        for (i, subset) in (subsets ?? []).enumerated() {
            for (j, address) in ((subset.addresses ?? []) + (subset.notReadyAddresses ?? [])).enumerated() where IPv4Address(address.ip) == nil {
                errors.append(.invalid("subsets[\(i)].addresses[\(j)].ip", address.ip, "must be a valid IPv4 address"))
            }
            for (j, port) in (subset.ports ?? []).enumerated() where !(1...65535).contains(port.port) {
                errors.append(.invalid("subsets[\(i)].ports[\(j)].port", port.port, "must be between 1 and 65535, inclusive"))
            }
        }
        return errors
    }
}

/// A reference to another object, as endpoints point at their pods.
public struct ObjectReference: Codable, Hashable, Sendable {
    public var kind: String?
    public var namespace: String?
    public var name: String?
    public var uid: String?

    public init(kind: String?, namespace: String?, name: String?, uid: String?) {
        self.kind = kind
        self.namespace = namespace
        self.name = name
        self.uid = uid
    }
}

/// `discovery.k8s.io/v1 EndpointSlice`: what proxies read to reach a Service's pods.
public struct EndpointSlice: KubeObject {
    public static let apiVersion = "discovery.k8s.io/v1"
    public static let kind = "EndpointSlice"
    public static let resource = "endpointslices"
    public static let namespaced = true
    public static let shortNames: [String] = []

    public static let serviceNameLabel = "kubernetes.io/service-name"
    public static let managedByLabel = "endpointslice.kubernetes.io/managed-by"
    public static let managedBy = "endpointslice-controller.k8s.io"
    /// When the change a slice carries was seen; proxies measure network programming latency from it.
    public static let triggerTimeAnnotation = "endpoints.kubernetes.io/last-change-trigger-time"

    public struct Conditions: Codable, Hashable, Sendable {
        public var ready: Bool?
        public var serving: Bool?
        public var terminating: Bool?

        public init(ready: Bool?, serving: Bool?, terminating: Bool?) {
            self.ready = ready
            self.serving = serving
            self.terminating = terminating
        }
    }

    public struct Endpoint: Codable, Hashable, Sendable {
        public var addresses: [String]
        public var conditions: Conditions?
        public var hostname: String?
        public var nodeName: String?
        public var targetRef: ObjectReference?

        public init(addresses: [String], conditions: Conditions?, nodeName: String?, targetRef: ObjectReference?) {
            self.addresses = addresses
            self.conditions = conditions
            self.nodeName = nodeName
            self.targetRef = targetRef
        }
    }

    public struct Port: Codable, Hashable, Sendable {
        public var name: String?
        public var port: Int?
        public var `protocol`: String?
        public var appProtocol: String?

        public init(name: String?, port: Int?, protocol proto: String?) {
            self.name = name
            self.port = port
            self.protocol = proto
        }
    }

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var addressType: String
    public var endpoints: [Endpoint]?
    public var ports: [Port]?

    public init(metadata: ObjectMeta, addressType: String = "IPv4", endpoints: [Endpoint]?, ports: [Port]?) {
        self.metadata = metadata
        self.addressType = addressType
        self.endpoints = endpoints
        self.ports = ports
        stampTypeMeta()
    }

    public mutating func applyDefaults() {
        for i in (ports ?? []).indices { ports![i].protocol = ports![i].protocol ?? "TCP" }
    }

    public func validate() -> [FieldError] {
        var errors: [FieldError] = []
        if addressType != "IPv4" {
            errors.append(.unsupported("addressType", addressType, supported: ["IPv4"]))
        }
        for (i, endpoint) in (endpoints ?? []).enumerated() {
            if endpoint.addresses.count != 1 {
                errors.append(.invalid("endpoints[\(i)].addresses", endpoint.addresses.count, "must contain exactly 1 address"))
            }
            for address in endpoint.addresses where IPv4Address(address) == nil {
                errors.append(.invalid("endpoints[\(i)].addresses", address, "must be a valid IPv4 address"))
            }
        }
        for (i, port) in (ports ?? []).enumerated() {
            if let number = port.port, !(1...65535).contains(number) {
                errors.append(.invalid("ports[\(i)].port", number, "must be between 1 and 65535, inclusive"))
            }
        }
        return errors
    }
}
