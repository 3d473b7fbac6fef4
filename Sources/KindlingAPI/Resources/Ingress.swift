import KindlingAddresses

/// `networking.k8s.io/v1 Ingress`: HTTP routes by host and path to services, with TLS from Secrets. Stored and
/// validated as kube-apiserver does; like a kind cluster's, a kindling cluster routes them only once an
/// ingress controller runs.
public struct Ingress: KubeObject {
    public static let apiVersion = "networking.k8s.io/v1"
    public static let kind = "Ingress"
    public static let resource = "ingresses"
    public static let namespaced = true
    public static let shortNames = ["ing"]
    public static let subresources: [ServedKind.Subresource] = [.status(of: Ingress.self)]

    public struct Spec: Codable, Hashable, Sendable {
        public var ingressClassName: String?
        public var defaultBackend: Backend?
        public var tls: [TLS]?
        public var rules: [Rule]?
    }

    public struct Backend: Codable, Hashable, Sendable {
        public struct ServiceBackend: Codable, Hashable, Sendable {
            public struct Port: Codable, Hashable, Sendable {
                public var name: String?
                public var number: Int?
            }
            public var name: String
            public var port: Port?
        }
        public struct Resource: Codable, Hashable, Sendable {
            public var apiGroup: String?
            public var kind: String
            public var name: String
        }
        public var service: ServiceBackend?
        public var resource: Resource?
    }

    public struct TLS: Codable, Hashable, Sendable {
        public var hosts: [String]?
        public var secretName: String?
        public init(hosts: [String]?, secretName: String?) {
            self.hosts = hosts
            self.secretName = secretName
        }
    }

    public struct Rule: Codable, Hashable, Sendable {
        public struct HTTP: Codable, Hashable, Sendable {
            public var paths: [Path]
        }
        public struct Path: Codable, Hashable, Sendable {
            public var path: String?
            public var pathType: String?
            public var backend: Backend
        }
        public var host: String?
        public var http: HTTP?
    }

    public struct Status: Codable, Hashable, Sendable {
        public struct LoadBalancer: Codable, Hashable, Sendable {
            public struct Entry: Codable, Hashable, Sendable {
                public var ip: String?
                public var hostname: String?
                public init(ip: String?, hostname: String?) {
                    self.ip = ip
                    self.hostname = hostname
                }
            }
            public var ingress: [Entry]?
            public init(ingress: [Entry]?) { self.ingress = ingress }
        }
        public var loadBalancer: LoadBalancer?
        public init(loadBalancer: LoadBalancer?) { self.loadBalancer = loadBalancer }
    }

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: Spec
    public var status: Status?

    public mutating func applyDefaults() {}

    static let pathTypes = ["Exact", "ImplementationSpecific", "Prefix"]

    /// Kubernetes' ValidateIngress, in its words.
    public func validate() -> [FieldError] {
        var errors: [FieldError] = []
        if spec.defaultBackend == nil && (spec.rules ?? []).isEmpty {
            errors.append(.invalid("spec", "", "either `defaultBackend` or `rules` must be specified"))
        }
        if let backend = spec.defaultBackend { errors += Self.validate(backend, "spec.defaultBackend") }
        if let name = spec.ingressClassName {
            errors += LabelValidation.dns1123SubdomainProblems(name).map { .invalid("spec.ingressClassName", name, $0) }
        }
        for (i, tls) in (spec.tls ?? []).enumerated() {
            for (j, host) in (tls.hosts ?? []).enumerated() {
                errors += Self.hostProblems(host).map { .invalid("spec.tls[\(i)].hosts[\(j)]", host, $0) }
            }
        }
        for (i, rule) in (spec.rules ?? []).enumerated() {
            let r = "spec.rules[\(i)]"
            if let host = rule.host, !host.isEmpty { errors += Self.hostProblems(host).map { .invalid("\(r).host", host, $0) } }
            guard let http = rule.http else { continue }
            if http.paths.isEmpty { errors.append(.required("\(r).http.paths")) }
            for (j, path) in http.paths.enumerated() {
                let p = "\(r).http.paths[\(j)]"
                if let type = path.pathType {
                    if !Self.pathTypes.contains(type) { errors.append(.unsupported("\(p).pathType", type, supported: Self.pathTypes)) }
                } else {
                    errors.append(.required("\(p).pathType", "pathType must be specified"))
                }
                errors += Self.pathProblems(path.path ?? "", type: path.pathType).map { .invalid("\(p).path", path.path ?? "", $0) }
                errors += Self.validate(path.backend, "\(p).backend")
            }
        }
        return errors
    }

    /// Kubernetes' validateIngressHTTPPath: every non-empty path is absolute; Exact and Prefix paths hold no
    /// `//`, `/./`, `/../`, `%2f` and do not end in `/.` or `/..`.
    static func pathProblems(_ path: String, type: String?) -> [String] {
        let checked = type == "Exact" || type == "Prefix"
        guard checked || !path.isEmpty else { return [] }
        guard path.hasPrefix("/") else { return ["must be an absolute path"] }
        guard checked else { return [] }
        var problems: [String] = []
        for sequence in ["//", "/./", "/../", "%2f", "%2F"] where path.contains(sequence) { problems.append("must not contain '\(sequence)'") }
        for suffix in ["/..", "/."] where path.hasSuffix(suffix) {
            problems.append("cannot end with '\(suffix)'")
            break
        }
        return problems
    }

    static func validate(_ backend: Backend, _ path: String) -> [FieldError] {
        switch (backend.service, backend.resource) {
        case (nil, nil): return [.invalid(path, "", "resource or service backend is required")]
        case (.some, .some): return [.invalid(path, "", "cannot set both resource and service backends")]
        case (nil, .some): return []
        case (let service?, nil):
            var errors = LabelValidation.dns1035LabelProblems(service.name).map { FieldError.invalid("\(path).service.name", service.name, $0) }
            switch (service.port?.name, service.port?.number) {
            case (.some, .some): errors.append(.invalid("\(path).service.port", "", "cannot set both port name & port number"))
            case (nil, nil): errors.append(.invalid("\(path).service.port", "", "port name or number is required"))
            case (nil, let number?):
                if !(1...65535).contains(number) { errors.append(.invalid("\(path).service.port.number", number, "must be between 1 and 65535, inclusive")) }
            case (let name?, nil):
                if let problem = PortName.problem(name) { errors.append(.invalid("\(path).service.port.name", name, problem)) }
            }
            return errors
        }
    }

    /// A host is a DNS name, a leading `*.` allowed, never an address.
    static func hostProblems(_ host: String) -> [String] {
        if IPv4Address(host) != nil { return ["must be a DNS name, not an IP address"] }
        let name = host.hasPrefix("*.") ? String(host.dropFirst(2)) : host
        return LabelValidation.dns1123SubdomainProblems(name)
    }
}

/// `networking.k8s.io/v1 IngressClass`: which controller serves Ingresses of a class.
public struct IngressClass: KubeObject {
    public static let apiVersion = "networking.k8s.io/v1"
    public static let kind = "IngressClass"
    public static let resource = "ingressclasses"
    public static let namespaced = false
    public static let shortNames: [String] = []

    public struct Spec: Codable, Hashable, Sendable {
        public var controller: String?
        public var parameters: JSONValue?
    }

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: Spec?

    public mutating func applyDefaults() {}

    public func validate() -> [FieldError] {
        guard let controller = spec?.controller, !controller.isEmpty else { return [.required("spec.controller")] }
        return controller.count > 250 ? [.invalid("spec.controller", controller, "must be no more than 250 characters")] : []
    }

    public func validateUpdate(from old: IngressClass) -> [FieldError] {
        var errors = validate()
        if spec?.controller != old.spec?.controller { errors.append(.invalid("spec.controller", spec?.controller ?? "", "field is immutable")) }
        return errors
    }
}
