import KindlingAddresses

/// `v1 Service`: a stable virtual IP (and node ports) over the pods its selector matches.
public struct Service: KubeObject {
    public static let apiVersion = "v1"
    public static let kind = "Service"
    public static let resource = "services"
    public static let namespaced = true
    public static let shortNames = ["svc"]
    public static let categories = ["all"]
    public static let subresources: [ServedKind.Subresource] = [.status(of: Service.self)]
    public static func nameProblems(_ name: String) -> [String] { LabelValidation.dns1035LabelProblems(name) }

    public struct Port: Codable, Hashable, Sendable {
        public var name: String?
        public var `protocol`: String?
        public var appProtocol: String?
        public var port: Int
        public var targetPort: IntOrString?
        public var nodePort: Int?

        public init(name: String? = nil, protocol proto: String? = "TCP", port: Int, targetPort: IntOrString? = nil, nodePort: Int? = nil) {
            self.name = name
            self.protocol = proto
            self.port = port
            self.targetPort = targetPort
            self.nodePort = nodePort
        }
    }

    public struct SessionAffinityConfig: Codable, Hashable, Sendable {
        public struct ClientIP: Codable, Hashable, Sendable {
            public var timeoutSeconds: Int?
        }
        public var clientIP: ClientIP?
    }

    public struct Spec: Codable, Hashable, Sendable {
        public var type: String?
        public var selector: [String: String]?
        public var ports: [Port]?
        public var clusterIP: String?
        public var clusterIPs: [String]?
        public var ipFamilies: [String]?
        public var ipFamilyPolicy: String?
        public var sessionAffinity: String?
        public var sessionAffinityConfig: SessionAffinityConfig?
        public var externalTrafficPolicy: String?
        public var internalTrafficPolicy: String?
        public var loadBalancerIP: String?
        public var externalName: String?
        public var externalIPs: [String]?
        public var publishNotReadyAddresses: Bool?

        public init(type: String? = nil, selector: [String: String]? = nil, ports: [Port]? = nil) {
            self.type = type
            self.selector = selector
            self.ports = ports
        }
    }

    public struct Status: Codable, Hashable, Sendable {
        public struct LoadBalancer: Codable, Hashable, Sendable {
            public struct Ingress: Codable, Hashable, Sendable {
                public var ip: String?
                public var hostname: String?
                public init(ip: String?, hostname: String? = nil) {
                    self.ip = ip
                    self.hostname = hostname
                }
            }
            public var ingress: [Ingress]?
            public init(ingress: [Ingress]?) { self.ingress = ingress }
        }
        public var loadBalancer: LoadBalancer?
        public init(loadBalancer: LoadBalancer? = nil) { self.loadBalancer = loadBalancer }
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

    public static let types = ["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"]

    public var type: String { spec.type ?? "ClusterIP" }
    public var isHeadless: Bool { spec.clusterIP == "None" }
    /// Whether the type exposes node ports (NodePort, and LoadBalancer in front of NodePort).
    public var hasNodePorts: Bool { type == "NodePort" || type == "LoadBalancer" }

    /// A new service's status is empty (`loadBalancer: {}`), whatever the client sent.
    public mutating func prepareForCreate() { status = Status(loadBalancer: .init(ingress: nil)) }

    public mutating func applyDefaults() {
        spec.type = spec.type ?? "ClusterIP"
        guard type != "ExternalName" else { return }
        spec.sessionAffinity = spec.sessionAffinity ?? "None"
        if spec.sessionAffinity == "ClientIP" {
            var config = spec.sessionAffinityConfig ?? SessionAffinityConfig()
            var clientIP = config.clientIP ?? SessionAffinityConfig.ClientIP()
            clientIP.timeoutSeconds = clientIP.timeoutSeconds ?? 10800
            config.clientIP = clientIP
            spec.sessionAffinityConfig = config
        }
        spec.internalTrafficPolicy = spec.internalTrafficPolicy ?? "Cluster"
        if hasNodePorts { spec.externalTrafficPolicy = spec.externalTrafficPolicy ?? "Cluster" }
        spec.ipFamilies = spec.ipFamilies ?? ["IPv4"]
        spec.ipFamilyPolicy = spec.ipFamilyPolicy ?? "SingleStack"
        if let ip = spec.clusterIP, !ip.isEmpty, spec.clusterIPs == nil { spec.clusterIPs = [ip] }
        for index in (spec.ports ?? []).indices {
            spec.ports![index].protocol = spec.ports![index].protocol ?? "TCP"
            if spec.ports![index].targetPort == nil { spec.ports![index].targetPort = .int(spec.ports![index].port) }
        }
    }

    public func validate() -> [FieldError] {
        var errors: [FieldError] = []
        if !Service.types.contains(type) {
            errors.append(.unsupported("spec.type", type, supported: Service.types))
            return errors
        }
        if type == "ExternalName" {
            let name = spec.externalName ?? ""
            if name.isEmpty {
                errors.append(.required("spec.externalName"))
            } else {
                let trimmed = name.hasSuffix(".") ? String(name.dropLast()) : name
                errors += LabelValidation.dns1123SubdomainProblems(trimmed).map { .invalid("spec.externalName", name, $0) }
            }
            return errors
        }
        let ports = spec.ports ?? []
        if ports.isEmpty && !(isHeadless && (spec.selector ?? [:]).isEmpty) { errors.append(.required("spec.ports")) }
        var seen = Set<String>()
        var names = Set<String>()
        for (i, port) in ports.enumerated() {
            let path = "spec.ports[\(i)]"
            if ports.count > 1 && (port.name ?? "").isEmpty { errors.append(.required("\(path).name")) }
            if let name = port.name, !name.isEmpty {
                errors += LabelValidation.dns1123LabelProblems(name).map { .invalid("\(path).name", name, $0) }
                if !names.insert(name).inserted { errors.append(.duplicate("\(path).name", name)) }
            }
            if !(1...65535).contains(port.port) {
                errors.append(.invalid("\(path).port", port.port, "must be between 1 and 65535, inclusive"))
            }
            let proto = port.protocol ?? "TCP"
            if proto == "SCTP" {
                errors.append(.unsupported("\(path).protocol", proto, supported: ["TCP", "UDP"]))
            } else if !["TCP", "UDP"].contains(proto) {
                errors.append(.unsupported("\(path).protocol", proto, supported: ["SCTP", "TCP", "UDP"]))
            }
            if !seen.insert("\(port.port)/\(proto)").inserted {
                errors.append(FieldError(.duplicate, field: path, value: "core.ServicePort{Name:\"\(port.name ?? "")\", Protocol:\"\(proto)\", Port:\(port.port)}"))
            }
            switch port.targetPort {
            case .int(let target) where !(1...65535).contains(target):
                errors.append(.invalid("\(path).targetPort", target, "must be between 1 and 65535, inclusive"))
            case .string(let name) where PortName.problem(name) != nil:
                errors.append(.invalid("\(path).targetPort", name, PortName.problem(name)!))
            default: break
            }
            if let nodePort = port.nodePort, nodePort != 0, !hasNodePorts {
                errors.append(.forbidden("\(path).nodePort", "may not be used when `type` is '\(type)'"))
            }
        }
        for (key, value) in (spec.selector ?? [:]).sorted(by: { $0.key < $1.key }) {
            errors += LabelValidation.keyProblems(key).map { .invalid("spec.selector", key, $0) }
            errors += LabelValidation.valueProblems(value).map { .invalid("spec.selector", value, $0) }
        }
        if let affinity = spec.sessionAffinity, !["None", "ClientIP"].contains(affinity) {
            errors.append(.unsupported("spec.sessionAffinity", affinity, supported: ["ClientIP", "None"]))
        }
        if let timeout = spec.sessionAffinityConfig?.clientIP?.timeoutSeconds, !(1...86400).contains(timeout) {
            errors.append(.invalid("spec.sessionAffinityConfig.clientIP.timeoutSeconds", timeout, "must be greater than 0 and less than 86400"))
        }
        for (field, value) in [("spec.externalTrafficPolicy", spec.externalTrafficPolicy), ("spec.internalTrafficPolicy", spec.internalTrafficPolicy)] {
            if let value, !["Cluster", "Local"].contains(value) {
                errors.append(.unsupported(field, value, supported: ["Cluster", "Local"]))
            }
        }
        if spec.externalTrafficPolicy != nil && !hasNodePorts {
            errors.append(.forbidden("spec.externalTrafficPolicy", "may only be set when `type` is 'NodePort' or 'LoadBalancer'"))
        }
        if let ip = spec.clusterIP, !ip.isEmpty, ip != "None", IPv4Address(ip) == nil {
            errors.append(.invalid("spec.clusterIPs[0]", ip, "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"))
        }
        if let ip = spec.loadBalancerIP, !ip.isEmpty, IPv4Address(ip) == nil {
            errors.append(.invalid("spec.loadBalancerIP", ip, "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"))
        }
        if isHeadless && hasNodePorts {
            errors.append(.invalid("spec.clusterIPs[0]", "None", "may not be set to 'None' for \(type) services"))
        }
        return errors
    }

    public func validateUpdate(from old: Service) -> [FieldError] {
        var errors = validate()
        if let before = old.spec.clusterIP, !before.isEmpty, type != "ExternalName", old.type != "ExternalName",
           let now = spec.clusterIP, !now.isEmpty, now != before {
            errors.append(FieldError(.invalid, field: "spec.clusterIPs[0]", value: "[]string{\"\(now)\"}", detail: "may not change once set"))
        }
        return errors
    }

    /// `kubectl get svc`'s PORT(S) column: `80/TCP`, `80:30000/TCP,443:30443/TCP`.
    public var portsText: String {
        guard let ports = spec.ports, !ports.isEmpty else { return "<none>" }
        return ports.map { port in
            "\(port.port)\(port.nodePort.map { ":\($0)" } ?? "")/\(port.protocol ?? "TCP")"
        }.joined(separator: ",")
    }
}
