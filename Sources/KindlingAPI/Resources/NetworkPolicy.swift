import KindlingAddresses

/// `networking.k8s.io/v1 NetworkPolicy`: which traffic the pods it selects may receive (Ingress) and send
/// (Egress). Every agent enforces the policies of its own pods (see `PolicyRules`).
public struct NetworkPolicy: KubeObject {
    public static let apiVersion = "networking.k8s.io/v1"
    public static let kind = "NetworkPolicy"
    public static let resource = "networkpolicies"
    public static let namespaced = true
    public static let shortNames = ["netpol"]

    public struct Spec: Codable, Hashable, Sendable {
        public var podSelector: LabelSelector?
        public var policyTypes: [String]?
        public var ingress: [IngressRule]?
        public var egress: [EgressRule]?

        public init(podSelector: LabelSelector = LabelSelector(), policyTypes: [String]? = nil, ingress: [IngressRule]? = nil, egress: [EgressRule]? = nil) {
            self.podSelector = podSelector
            self.policyTypes = policyTypes
            self.ingress = ingress
            self.egress = egress
        }
    }

    public struct IngressRule: Codable, Hashable, Sendable {
        public var from: [Peer]?
        public var ports: [Port]?

        public init(from: [Peer]? = nil, ports: [Port]? = nil) {
            self.from = from
            self.ports = ports
        }
    }

    public struct EgressRule: Codable, Hashable, Sendable {
        public var to: [Peer]?
        public var ports: [Port]?

        public init(to: [Peer]? = nil, ports: [Port]? = nil) {
            self.to = to
            self.ports = ports
        }
    }

    public struct Peer: Codable, Hashable, Sendable {
        public var podSelector: LabelSelector?
        public var namespaceSelector: LabelSelector?
        public var ipBlock: IPBlock?

        public init(podSelector: LabelSelector? = nil, namespaceSelector: LabelSelector? = nil, ipBlock: IPBlock? = nil) {
            self.podSelector = podSelector
            self.namespaceSelector = namespaceSelector
            self.ipBlock = ipBlock
        }
    }

    public struct IPBlock: Codable, Hashable, Sendable {
        public var cidr: String
        public var except: [String]?

        public init(cidr: String, except: [String]? = nil) {
            self.cidr = cidr
            self.except = except
        }
    }

    public struct Port: Codable, Hashable, Sendable {
        public var `protocol`: String?
        public var port: IntOrString?
        public var endPort: Int?

        public init(protocol proto: String? = "TCP", port: IntOrString? = nil, endPort: Int? = nil) {
            self.protocol = proto
            self.port = port
            self.endPort = endPort
        }
    }

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: Spec

    public init(namespace: String, name: String, spec: Spec) {
        self.metadata = ObjectMeta(name: name, namespace: namespace)
        self.spec = spec
        stampTypeMeta()
    }

    /// policyTypes from the rules present (Ingress always, Egress when there are egress rules), TCP ports.
    public mutating func applyDefaults() {
        if spec.podSelector == nil { spec.podSelector = LabelSelector() }
        if spec.policyTypes?.isEmpty ?? true {
            // As Kubernetes: Egress only when there are egress rules (`egress: []` adds nothing).
            spec.policyTypes = ["Ingress"] + ((spec.egress ?? []).isEmpty ? [] : ["Egress"])
        }
        for i in (spec.ingress ?? []).indices {
            for j in (spec.ingress![i].ports ?? []).indices where spec.ingress![i].ports![j].protocol == nil { spec.ingress![i].ports![j].protocol = "TCP" }
        }
        for i in (spec.egress ?? []).indices {
            for j in (spec.egress![i].ports ?? []).indices where spec.egress![i].ports![j].protocol == nil { spec.egress![i].ports![j].protocol = "TCP" }
        }
    }

    /// Kubernetes' ValidateNetworkPolicy, in its words.
    public func validate() -> [FieldError] {
        var errors = spec.podSelector?.validate("spec.podSelector") ?? []
        for (i, type) in (spec.policyTypes ?? []).enumerated() where type != "Ingress" && type != "Egress" {
            errors.append(.unsupported("spec.policyTypes[\(i)]", type, supported: ["Ingress", "Egress"]))
        }
        for (i, rule) in (spec.ingress ?? []).enumerated() {
            errors += Self.validate(ports: rule.ports, "spec.ingress[\(i)].ports")
            errors += Self.validate(peers: rule.from, "spec.ingress[\(i)].from")
        }
        for (i, rule) in (spec.egress ?? []).enumerated() {
            errors += Self.validate(ports: rule.ports, "spec.egress[\(i)].ports")
            errors += Self.validate(peers: rule.to, "spec.egress[\(i)].to")
        }
        return errors
    }

    static func validate(ports: [Port]?, _ path: String) -> [FieldError] {
        var errors: [FieldError] = []
        for (i, port) in (ports ?? []).enumerated() {
            let p = "\(path)[\(i)]"
            if let proto = port.protocol, !["TCP", "UDP", "SCTP"].contains(proto) {
                errors.append(.unsupported("\(p).protocol", proto, supported: ["SCTP", "TCP", "UDP"]))
            }
            switch port.port {
            case .int(let number)?:
                if !(1...65535).contains(number) { errors.append(.invalid("\(p).port", number, "must be between 1 and 65535, inclusive")) }
                if let end = port.endPort, end < number {
                    errors.append(.invalid("\(p).endPort", end, "must be greater than or equal to `port`"))
                }
            case .string(let name)?:
                if let problem = PortName.problem(name) { errors.append(.invalid("\(p).port", name, problem)) }
                if port.endPort != nil { errors.append(.invalid("\(p).endPort", port.endPort!, "may not be specified when `port` is non-numeric")) }
            case nil:
                if port.endPort != nil { errors.append(.invalid("\(p).endPort", port.endPort!, "may not be specified when `port` is not specified")) }
            }
            if let end = port.endPort, !(1...65535).contains(end) { errors.append(.invalid("\(p).endPort", end, "must be between 1 and 65535, inclusive")) }
        }
        return errors
    }

    static func validate(peers: [Peer]?, _ path: String) -> [FieldError] {
        var errors: [FieldError] = []
        for (i, peer) in (peers ?? []).enumerated() {
            let p = "\(path)[\(i)]"
            let selectors = (peer.podSelector != nil ? 1 : 0) + (peer.namespaceSelector != nil ? 1 : 0)
            if selectors == 0 && peer.ipBlock == nil {
                errors.append(.required(p, "must specify a peer"))
            } else if selectors > 0 && peer.ipBlock != nil {
                errors.append(.forbidden(p, "may not specify both ipBlock and another peer"))
            }
            errors += peer.podSelector?.validate("\(p).podSelector") ?? []
            errors += peer.namespaceSelector?.validate("\(p).namespaceSelector") ?? []
            if let block = peer.ipBlock {
                guard let cidr = IPv4CIDR(block.cidr) else {
                    errors.append(.invalid("\(p).ipBlock.cidr", block.cidr, "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"))
                    continue
                }
                for (j, text) in (block.except ?? []).enumerated() {
                    guard let except = IPv4CIDR(text) else {
                        errors.append(.invalid("\(p).ipBlock.except[\(j)]", text, "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"))
                        continue
                    }
                    if !(except.prefixLength > cidr.prefixLength && cidr.contains(except.network)) {
                        errors.append(.invalid("\(p).ipBlock.except[\(j)]", text, "must be a strict subset of `cidr`"))
                    }
                }
            }
        }
        return errors
    }
}
