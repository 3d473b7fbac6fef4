import KindlingAddresses

public struct Pod: KubeObject {
    public static let apiVersion = "v1"
    public static let kind = "Pod"
    public static let resource = "pods"
    public static let namespaced = true
    public static let shortNames = ["po"]
    public static let categories = ["all"]
    public static let subresources: [ServedKind.Subresource] = [
        .status(of: Pod.self),
        .init("log", responseKind: Pod.groupVersionKind, verbs: ["get"]),
        .init("exec", responseKind: GroupVersionKind(group: "", version: "v1", kind: "PodExecOptions"), verbs: ["create", "get"]),
        .init("attach", responseKind: GroupVersionKind(group: "", version: "v1", kind: "PodAttachOptions"), verbs: ["create", "get"]),
    ]

    /// A pod bound to a node is stopped by its agent first, as a kubelet does; `gracePeriodSeconds: 0` removes it at once.
    public func deletionGrace(requested: Int64?) -> Int64? {
        guard let node = spec.nodeName, !node.isEmpty, requested != 0 else { return nil }
        return requested ?? spec.terminationGracePeriodSeconds ?? 30
    }
    public static let selectableFields = ["metadata.name", "metadata.namespace", "spec.nodeName", "status.phase"]

    public func fieldValue(_ field: String) -> String? {
        switch field {
        case "spec.nodeName": spec.nodeName
        case "status.phase": phase
        default: metadataFieldValue(field)
        }
    }

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: PodSpec
    public var status: PodStatus?

    public init(metadata: ObjectMeta, spec: PodSpec) {
        self.metadata = metadata
        self.spec = spec
        stampTypeMeta()
    }

    public mutating func applyDefaults() { spec.applyDefaults() }

    /// A new pod's status is kube-apiserver's, whatever the client sent: Pending, with its QoS class.
    public mutating func prepareForCreate() {
        status = PodStatus(phase: "Pending")
        status?.qosClass = QOSClass.of(spec.containers)
    }

    public func validate() -> [FieldError] { spec.validate("spec") }

    /// Like kube-apiserver, a pod's spec is immutable but for its containers' images.
    public func validateUpdate(from old: Pod) -> [FieldError] {
        var errors = validate()
        var allowed = old.spec
        if allowed.containers.count == spec.containers.count {
            for i in allowed.containers.indices { allowed.containers[i].image = spec.containers[i].image }
        }
        if allowed != spec {
            errors.append(.forbidden("spec", "pod updates may not change fields other than `spec.containers[*].image`, `spec.initContainers[*].image`, `spec.activeDeadlineSeconds`, `spec.tolerations` (only additions to existing tolerations), `spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)"))
        }
        return errors
    }

    public var isReady: Bool { status?.conditions?["Ready"]?.status == "True" }
    public var isTerminating: Bool { metadata.deletionTimestamp != nil }
    public var phase: String { status?.phase ?? "Pending" }
}

public struct PodSpec: Codable, Hashable, Sendable {
    public var containers: [Container]
    public var restartPolicy: String?
    public var nodeName: String?
    public var nodeSelector: [String: String]?
    public var hostname: String?
    public var subdomain: String?
    public var terminationGracePeriodSeconds: Int64?
    public var dnsPolicy: String?
    public var dnsConfig: DNSConfig?
    public var enableServiceLinks: Bool?
    public var schedulerName: String?
    public var serviceAccountName: String?
    /// The old name of `serviceAccountName`, kept equal to it.
    public var serviceAccount: String?
    public var automountServiceAccountToken: Bool?
    public var volumes: [Volume]?

    public init(containers: [Container]) { self.containers = containers }

    /// `spec.dnsConfig`: resolver settings added to (or, with dnsPolicy None, making up) the pod's resolv.conf.
    public struct DNSConfig: Codable, Hashable, Sendable {
        public struct Option: Codable, Hashable, Sendable {
            public var name: String
            public var value: String?
        }
        public var nameservers: [String]?
        public var searches: [String]?
        public var options: [Option]?
    }

    public static let dnsPolicies = ["ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"]

    /// The pod's /etc/resolv.conf as kubelet writes it: for ClusterFirst the cluster DNS and the search path
    /// `<ns>.svc.<domain> svc.<domain> <domain>` with `ndots:5`; for Default the node's resolver (nodes here
    /// have none, so none: lookups fail at once instead of leaving the cluster); for None only `dnsConfig`,
    /// which the other policies also merge in.
    public func resolvConf(namespace: String, clusterDNS: IPv4Address, domain: String) -> String {
        var nameservers: [String] = [], searches: [String] = [], options: [String] = []
        if dnsPolicy ?? "ClusterFirst" == "ClusterFirst" || dnsPolicy == "ClusterFirstWithHostNet" {
            nameservers = [clusterDNS.description]
            searches = ["\(namespace).svc.\(domain)", "svc.\(domain)", domain]
            options = ["ndots:5"]
        }
        nameservers += dnsConfig?.nameservers ?? []
        searches += (dnsConfig?.searches ?? []).filter { !searches.contains($0) }
        for option in dnsConfig?.options ?? [] {
            let text = option.value.map { "\(option.name):\($0)" } ?? option.name
            options.removeAll { $0.split(separator: ":").first.map(String.init) == option.name }
            options.append(text)
        }
        var lines: [String] = []
        if !searches.isEmpty { lines.append("search " + searches.joined(separator: " ")) }
        lines += nameservers.prefix(3).map { "nameserver \($0)" }
        if !options.isEmpty { lines.append("options " + options.joined(separator: " ")) }
        return lines.joined(separator: "\n") + "\n"
    }

    public mutating func applyDefaults() {
        restartPolicy = restartPolicy ?? "Always"
        terminationGracePeriodSeconds = terminationGracePeriodSeconds ?? 30
        dnsPolicy = dnsPolicy ?? "ClusterFirst"
        enableServiceLinks = enableServiceLinks ?? true
        schedulerName = schedulerName ?? "default-scheduler"
        serviceAccountName = serviceAccountName ?? serviceAccount
        if serviceAccountName != nil { serviceAccount = serviceAccountName }
        for i in containers.indices { containers[i].applyDefaults() }
        for i in (volumes ?? []).indices { volumes![i].applyDefaults() }
    }

    public func validate(_ path: String) -> [FieldError] {
        var errors: [FieldError] = []
        if containers.isEmpty { errors.append(.required("\(path).containers")) }
        var volumeNames = Set<String>()
        for (i, volume) in (volumes ?? []).enumerated() {
            let p = "\(path).volumes[\(i)]"
            if !volumeNames.insert(volume.name).inserted { errors.append(.duplicate("\(p).name", volume.name)) }
            errors += volume.validate(p)
        }
        var names = Set<String>()
        for (i, container) in containers.enumerated() {
            let p = "\(path).containers[\(i)]"
            if !names.insert(container.name).inserted { errors.append(.duplicate("\(p).name", container.name)) }
            errors += container.validate(p)
            var mountPaths = Set<String>()
            for (j, mount) in (container.volumeMounts ?? []).enumerated() {
                let m = "\(p).volumeMounts[\(j)]"
                if mount.name.isEmpty { errors.append(.required("\(m).name")) } else if !volumeNames.contains(mount.name) {
                    errors.append(FieldError(.notFound, field: "\(m).name", value: "\"\(mount.name)\""))
                }
                if mount.mountPath.isEmpty { errors.append(.required("\(m).mountPath")) } else if !mountPaths.insert(mount.mountPath).inserted {
                    errors.append(.invalid("\(m).mountPath", mount.mountPath, "must be unique"))
                }
                if mount.mountPath.contains(":") { errors.append(.invalid("\(m).mountPath", mount.mountPath, "must not contain ':'")) }
            }
        }
        if let policy = restartPolicy, !["Always", "OnFailure", "Never"].contains(policy) {
            errors.append(.unsupported("\(path).restartPolicy", policy, supported: ["Always", "OnFailure", "Never"]))
        }
        if let policy = dnsPolicy, !PodSpec.dnsPolicies.contains(policy) {
            errors.append(.unsupported("\(path).dnsPolicy", policy, supported: PodSpec.dnsPolicies))
        }
        if dnsPolicy == "None", (dnsConfig?.nameservers ?? []).isEmpty {
            errors.append(.required("\(path).dnsConfig.nameservers", "must provide at least one DNS nameserver when `dnsPolicy` is None"))
        }
        for (i, server) in (dnsConfig?.nameservers ?? []).enumerated() where IPv4Address(server) == nil {
            errors.append(.invalid("\(path).dnsConfig.nameservers[\(i)]", server, "must be a valid IP address"))
        }
        for (key, value) in (nodeSelector ?? [:]).sorted(by: { $0.key < $1.key }) {
            errors += LabelValidation.keyProblems(key).map { .invalid("\(path).nodeSelector", key, $0) }
            errors += LabelValidation.valueProblems(value).map { .invalid("\(path).nodeSelector", value, $0) }
        }
        for (field, value) in [("hostname", hostname), ("subdomain", subdomain)] {
            if let value, !value.isEmpty {
                errors += LabelValidation.dns1123LabelProblems(value).map { .invalid("\(path).\(field)", value, $0) }
            }
        }
        if let grace = terminationGracePeriodSeconds, grace < 0 {
            errors.append(.invalid("\(path).terminationGracePeriodSeconds", grace, "must be greater than or equal to 0"))
        }
        return errors
    }
}

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
        if let probe = readinessProbe { errors += probe.validate("\(path).readinessProbe") }
        if let probe = livenessProbe { errors += probe.validate("\(path).livenessProbe") }
        return errors
    }
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

public struct PodStatus: Codable, Hashable, Sendable {
    public var phase: String?
    public var conditions: [Condition]?
    public var message: String?
    public var reason: String?
    public var hostIP: String?
    public var podIP: String?
    public var podIPs: [PodIP]?
    public var startTime: String?
    public var containerStatuses: [ContainerStatus]?
    public var qosClass: String?

    public struct PodIP: Codable, Hashable, Sendable {
        public var ip: String
        public init(ip: String) { self.ip = ip }
    }

    public init(phase: String? = nil) { self.phase = phase }
}

public struct ContainerStatus: Codable, Hashable, Sendable {
    public struct State: Codable, Hashable, Sendable {
        public struct Waiting: Codable, Hashable, Sendable {
            public var reason: String?
            public var message: String?
            public init(reason: String?, message: String? = nil) {
                self.reason = reason
                self.message = message
            }
        }
        public struct Running: Codable, Hashable, Sendable {
            public var startedAt: String?
            public init(startedAt: String?) { self.startedAt = startedAt }
        }
        public struct Terminated: Codable, Hashable, Sendable {
            public var exitCode: Int32
            public var signal: Int32?
            public var reason: String?
            public var message: String?
            public var startedAt: String?
            public var finishedAt: String?
            public init(exitCode: Int32, reason: String?) {
                self.exitCode = exitCode
                self.reason = reason
            }
        }
        public var waiting: Waiting?
        public var running: Running?
        public var terminated: Terminated?
        public init(waiting: Waiting? = nil, running: Running? = nil, terminated: Terminated? = nil) {
            self.waiting = waiting
            self.running = running
            self.terminated = terminated
        }
    }

    public var name: String
    public var state: State?
    public var lastState: State?
    public var ready: Bool
    public var restartCount: Int
    public var image: String
    public var imageID: String
    public var containerID: String?
    public var started: Bool?

    public init(name: String, image: String, ready: Bool = false, restartCount: Int = 0, state: State? = nil) {
        self.name = name
        self.image = image
        self.imageID = ""
        self.ready = ready
        self.restartCount = restartCount
        self.state = state
    }
}

/// `spec.template` of workload controllers.
public struct PodTemplateSpec: Codable, Hashable, Sendable {
    public var metadata: ObjectMeta?
    public var spec: PodSpec

    public init(metadata: ObjectMeta?, spec: PodSpec) {
        self.metadata = metadata
        self.spec = spec
    }
}
