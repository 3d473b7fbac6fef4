import KindlingAddresses

/// A container as a pod spec describes it: its image and command, ports, variables, probes and lifecycle hooks.
public struct Container: Codable, Hashable, Sendable {
    public var name: String
    public var image: String?
    public var command: [String]?
    public var args: [String]?
    public var workingDir: String?
    public var env: [EnvVar]?
    public var ports: [ContainerPort]?
    public var readinessProbe: Probe?
    public var livenessProbe: Probe?
    /// Until it succeeds the other probes wait, and the container counts as not started.
    public var startupProbe: Probe?
    public var lifecycle: Lifecycle?
    /// Only on init containers: `Always` makes one a sidecar, started in order and kept running beside the
    /// pod's containers.
    public var restartPolicy: String?
    /// Only on ephemeral containers: the container whose namespaces it shares (here every container shares the pod's).
    public var targetContainerName: String?
    public var imagePullPolicy: String?
    /// What `kubectl run -i -t` asks for; kept, though containers' input and terminals are not attachable yet.
    public var stdin: Bool?
    public var stdinOnce: Bool?
    public var tty: Bool?
    public var volumeMounts: [VolumeMount]?
    public var envFrom: [EnvFromSource]?
    public var resources: ResourceRequirements?

    public init(name: String, image: String) {
        self.name = name
        self.image = image
    }

    mutating func applyDefaults() {
        if imagePullPolicy == nil {
            imagePullPolicy = (image ?? "").hasSuffix(":latest") || !(image ?? "").contains(":") ? "Always" : "IfNotPresent"
        }
        for i in (ports ?? []).indices { ports![i].protocol = ports![i].protocol ?? "TCP" }
        readinessProbe?.applyDefaults()
        livenessProbe?.applyDefaults()
        startupProbe?.applyDefaults()
        resources?.applyDefaults()
    }

    func validate(_ path: String) -> [FieldError] {
        var errors: [FieldError] = []
        if name.isEmpty {
            errors.append(.required("\(path).name"))
        } else {
            errors += LabelValidation.dns1123LabelProblems(name).map { .invalid("\(path).name", name, $0) }
        }
        if (image ?? "").allSatisfy({ $0 == " " }) { errors.append(.required("\(path).image")) }
        var portNames = Set<String>()
        for (i, port) in (ports ?? []).enumerated() {
            let p = "\(path).ports[\(i)]"
            if !(1...65535).contains(port.containerPort) {
                errors.append(.invalid("\(p).containerPort", port.containerPort, "must be between 1 and 65535, inclusive"))
            }
            if let proto = port.protocol, !["TCP", "UDP", "SCTP"].contains(proto) {
                errors.append(.unsupported("\(p).protocol", proto, supported: ["SCTP", "TCP", "UDP"]))
            }
            if let portName = port.name {
                if let problem = PortName.problem(portName) { errors.append(.invalid("\(p).name", portName, problem)) }
                if !portNames.insert(portName).inserted { errors.append(.duplicate("\(p).name", portName)) }
            }
        }
        for (i, variable) in (env ?? []).enumerated() {
            let p = "\(path).env[\(i)]"
            if variable.name.isEmpty { errors.append(.required("\(p).name")) }
            if variable.value != nil && variable.valueFrom != nil {
                errors.append(FieldError(.invalid, field: "\(p).valueFrom", value: "", detail: "may not be specified when `value` is not empty"))
            }
            if let source = variable.valueFrom,
               [source.fieldRef != nil, source.secretKeyRef != nil, source.configMapKeyRef != nil].filter({ $0 }).count != 1 {
                errors.append(FieldError(.invalid, field: "\(p).valueFrom", value: "", detail: "may not have more than one field specified at a time"))
            }
            for (field, selector) in [("secretKeyRef", variable.valueFrom?.secretKeyRef), ("configMapKeyRef", variable.valueFrom?.configMapKeyRef)] {
                if let selector, selector.key.isEmpty { errors.append(.required("\(p).valueFrom.\(field).key")) }
                if let selector, (selector.name ?? "").isEmpty { errors.append(.required("\(p).valueFrom.\(field).name")) }
            }
            if let path = variable.valueFrom?.fieldRef?.fieldPath, !EnvVar.isSupported(path) {
                errors.append(.unsupported("\(p).valueFrom.fieldRef.fieldPath", path, supported: EnvVar.supportedFieldPaths))
            }
        }
        if let resources { errors += resources.validate("\(path).resources") }
        for (field, probe) in [("readinessProbe", readinessProbe), ("livenessProbe", livenessProbe), ("startupProbe", startupProbe)] {
            guard let probe else { continue }
            errors += probe.validate("\(path).\(field)")
            // Only readiness may ask for several successes in a row.
            if field != "readinessProbe", let threshold = probe.successThreshold, threshold != 1 {
                errors.append(.invalid("\(path).\(field).successThreshold", threshold, "must be 1"))
            }
        }
        for (field, handler) in [("postStart", lifecycle?.postStart), ("preStop", lifecycle?.preStop)] {
            if let handler { errors += handler.validate("\(path).lifecycle.\(field)") }
        }
        return errors
    }

    public var isSidecar: Bool { restartPolicy == "Always" }

    /// As an init container: one that is not a sidecar runs to completion, so it may have no probes or hooks.
    func validateAsInit(_ path: String) -> [FieldError] {
        var errors = validate(path)
        if let policy = restartPolicy, policy != "Always" {
            errors.append(.unsupported("\(path).restartPolicy", policy, supported: ["Always"]))
        }
        guard !isSidecar else { return errors }
        for (field, set) in [("lifecycle", lifecycle != nil), ("livenessProbe", livenessProbe != nil),
                             ("readinessProbe", readinessProbe != nil), ("startupProbe", startupProbe != nil)] where set {
            errors.append(.forbidden("\(path).\(field)", "may not be set for init containers without restartPolicy=Always"))
        }
        return errors
    }
}

/// `lifecycle`: what runs right after a container starts and right before it is stopped.
public struct Lifecycle: Codable, Hashable, Sendable {
    public struct Handler: Codable, Hashable, Sendable {
        public struct Sleep: Codable, Hashable, Sendable {
            public var seconds: Int64
        }
        public var exec: Probe.Exec?
        public var httpGet: Probe.HTTPGet?
        /// Accepted as Kubernetes accepts it, and as kubelet does, not run.
        public var tcpSocket: Probe.TCPSocket?
        public var sleep: Sleep?

        func validate(_ path: String) -> [FieldError] {
            let handlers = [exec != nil, httpGet != nil, tcpSocket != nil, sleep != nil].filter { $0 }.count
            if handlers == 0 { return [.required(path, "must specify a handler type")] }
            if handlers > 1 { return [.forbidden(path, "may not specify more than 1 handler type")] }
            if let seconds = sleep?.seconds, seconds < 0 {
                return [.invalid("\(path).sleep.seconds", seconds, "must be non-negative")]
            }
            return []
        }
    }
    public var postStart: Handler?
    public var preStop: Handler?
}

/// IANA_SVC_NAME: at most 15 characters, lowercase letters, digits and '-', at least one letter.
public enum PortName {
    public static func problem(_ name: String) -> String? {
        if name.count > 15 { return "must be no more than 15 characters" }
        let allowed = name.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-") }
        if !allowed || name.hasPrefix("-") || name.hasSuffix("-") || name.contains("--") {
            return "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)"
        }
        if !name.contains(where: \.isLetter) { return "must contain at least one letter (a-z)" }
        return nil
    }
}

public struct ContainerPort: Codable, Hashable, Sendable {
    public var name: String?
    public var containerPort: Int
    public var `protocol`: String?

    public init(name: String? = nil, containerPort: Int, protocol proto: String? = "TCP") {
        self.name = name
        self.containerPort = containerPort
        self.protocol = proto
    }
}

public struct EnvVar: Codable, Hashable, Sendable {
    public struct Source: Codable, Hashable, Sendable {
        public var fieldRef: FieldRef?
        public var secretKeyRef: KeySelector?
        public var configMapKeyRef: KeySelector?
    }

    public struct FieldRef: Codable, Hashable, Sendable {
        public var apiVersion: String?
        public var fieldPath: String
    }

    public var name: String
    public var value: String?
    public var valueFrom: Source?

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }

    /// A variable from the downward API: one of the pod's fields.
    public init(name: String, fieldPath: String) {
        self.name = name
        valueFrom = Source(fieldRef: FieldRef(apiVersion: "v1", fieldPath: fieldPath))
    }

    /// The downward API fields kindling fills in, besides one label or annotation (`metadata.labels['app']`).
    public static let supportedFieldPaths = ["metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName",
                                             "spec.serviceAccountName", "status.hostIP", "status.podIP", "status.podIPs"]

    /// `metadata.labels['key']` or `metadata.annotations['key']` as the map and key they name; nil for other paths.
    public static func subscripted(_ path: String) -> (map: String, key: String)? {
        for map in ["labels", "annotations"] where path.hasPrefix("metadata.\(map)['") && path.hasSuffix("']") {
            let key = String(path.dropFirst("metadata.\(map)['".count).dropLast(2))
            if !key.isEmpty { return (map, key) }
        }
        return nil
    }

    public static func isSupported(_ path: String) -> Bool { supportedFieldPaths.contains(path) || subscripted(path) != nil }
}

public struct Probe: Codable, Hashable, Sendable {
    public struct HTTPGet: Codable, Hashable, Sendable {
        public var path: String?
        public var port: IntOrString
        public var host: String?
        public var scheme: String?
        public var httpHeaders: [Header]?
    }

    public struct Header: Codable, Hashable, Sendable {
        public var name: String
        public var value: String
    }

    public struct TCPSocket: Codable, Hashable, Sendable {
        public var port: IntOrString
        public var host: String?
    }

    public struct Exec: Codable, Hashable, Sendable {
        public var command: [String]?
    }

    public var httpGet: HTTPGet?
    public var tcpSocket: TCPSocket?
    public var exec: Exec?
    public var initialDelaySeconds: Int?
    public var periodSeconds: Int?
    public var timeoutSeconds: Int?
    public var successThreshold: Int?
    public var failureThreshold: Int?
    /// How long a container failing this probe gets to stop; the pod's grace period when unset.
    public var terminationGracePeriodSeconds: Int64?

    mutating func applyDefaults() {
        periodSeconds = periodSeconds ?? 10
        timeoutSeconds = timeoutSeconds ?? 1
        successThreshold = successThreshold ?? 1
        failureThreshold = failureThreshold ?? 3
        if var get = httpGet {
            get.path = get.path ?? "/"
            get.scheme = get.scheme ?? "HTTP"
            httpGet = get
        }
    }

    func validate(_ path: String) -> [FieldError] {
        let handlers = [httpGet != nil, tcpSocket != nil, exec != nil].filter { $0 }.count
        if handlers == 0 { return [.required(path, "must specify a handler type")] }
        if handlers > 1 { return [.forbidden(path, "may not specify more than 1 handler type")] }
        var errors: [FieldError] = []
        for (field, value) in [("initialDelaySeconds", initialDelaySeconds), ("periodSeconds", periodSeconds),
                               ("timeoutSeconds", timeoutSeconds), ("successThreshold", successThreshold),
                               ("failureThreshold", failureThreshold)] {
            if let value, value < (field == "initialDelaySeconds" ? 0 : 1) {
                errors.append(.invalid("\(path).\(field)", value, "must be greater than or equal to \(field == "initialDelaySeconds" ? 0 : 1)"))
            }
        }
        return errors
    }
}
