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
        .init("eviction", responseKind: GroupVersionKind(group: "policy", version: "v1", kind: "Eviction"), verbs: ["create"]),
        .init("ephemeralcontainers", responseKind: Pod.groupVersionKind, verbs: ["get", "patch", "update"]),
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

    public func validate() -> [FieldError] {
        spec.validate("spec") + (spec.ephemeralContainers.map { $0.isEmpty ? [] : [.forbidden("spec.ephemeralContainers", "cannot be set on create")] } ?? [])
    }

    /// Like kube-apiserver, a pod's spec is immutable but for its containers' images.
    public func validateUpdate(from old: Pod) -> [FieldError] {
        var errors = spec.validate("spec")
        var allowed = old.spec
        if allowed.containers.count == spec.containers.count {
            for i in allowed.containers.indices { allowed.containers[i].image = spec.containers[i].image }
        }
        if let new = spec.initContainers, allowed.initContainers?.count == new.count {
            for i in new.indices { allowed.initContainers![i].image = new[i].image }
        }
        // Ephemeral containers may be added, never changed or removed.
        let before = old.spec.ephemeralContainers ?? [], after = spec.ephemeralContainers ?? []
        if let changed = before.enumerated().first(where: { $0.offset >= after.count || after[$0.offset] != $0.element })?.element {
            errors.append(.forbidden("spec.ephemeralContainers", "existing ephemeral containers \"\(changed.name)\" may not be \(after.contains { $0.name == changed.name } ? "changed" : "removed")"))
        } else {
            errors += Self.validateEphemeral(Array(after.dropFirst(before.count)), offset: before.count, spec: spec)
        }
        allowed.ephemeralContainers = spec.ephemeralContainers
        // Tolerations may be added, never taken away.
        if (old.spec.tolerations ?? []).allSatisfy({ (spec.tolerations ?? []).contains($0) }) { allowed.tolerations = spec.tolerations }
        if allowed != spec {
            errors.append(.forbidden("spec", "pod updates may not change fields other than `spec.containers[*].image`, `spec.initContainers[*].image`, `spec.activeDeadlineSeconds`, `spec.tolerations` (only additions to existing tolerations), `spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)"))
        }
        return errors
    }

    /// kube-apiserver's rules for new ephemeral containers: unique names, none of what only a regular container
    /// may have, a target that exists.
    static func validateEphemeral(_ added: [Container], offset: Int, spec: PodSpec) -> [FieldError] {
        var errors: [FieldError] = []
        var names = Set(spec.allContainers.map(\.name))
        for (i, container) in added.enumerated() {
            let path = "spec.ephemeralContainers[\(offset + i)]"
            if !names.insert(container.name).inserted { errors.append(.duplicate("\(path).name", container.name)) }
            errors += container.validate(path)
            for (field, set) in [("ports", container.ports != nil), ("livenessProbe", container.livenessProbe != nil),
                                 ("readinessProbe", container.readinessProbe != nil), ("startupProbe", container.startupProbe != nil),
                                 ("lifecycle", container.lifecycle != nil),
                                 ("resources", !(container.resources?.limits ?? [:]).isEmpty || !(container.resources?.requests ?? [:]).isEmpty)] where set {
                errors.append(.forbidden("\(path).\(field)", "cannot be set for an Ephemeral Container"))
            }
            if let target = container.targetContainerName, !spec.allContainers.contains(where: { $0.name == target }) {
                errors.append(FieldError(.notFound, field: "\(path).targetContainerName", value: "\"\(target)\""))
            }
        }
        return errors
    }

    public var isReady: Bool { status?.conditions?["Ready"]?.status == "True" }
    public var isTerminating: Bool { metadata.deletionTimestamp != nil }
    public var phase: String { status?.phase ?? "Pending" }
}

public struct PodSpec: Codable, Hashable, Sendable {
    /// Run in order before `containers`, each to completion, or (sidecars) until started and then beside them.
    public var initContainers: [Container]?
    public var containers: [Container]
    /// Added to a running pod through `pods/{name}/ephemeralcontainers` (`kubectl debug`), run once, never removed.
    public var ephemeralContainers: [Container]?
    public var restartPolicy: String?
    public var nodeName: String?
    public var nodeSelector: [String: String]?
    public var affinity: Affinity?
    public var tolerations: [Toleration]?
    /// Defaulted to `{}` as kube-apiserver does (clients such as `kubectl debug` count on it being there);
    /// kindling keeps it but runs every process as the agent's user.
    public var securityContext: PodSecurityContext?
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
        securityContext = securityContext ?? PodSecurityContext()
        terminationGracePeriodSeconds = terminationGracePeriodSeconds ?? 30
        dnsPolicy = dnsPolicy ?? "ClusterFirst"
        enableServiceLinks = enableServiceLinks ?? true
        schedulerName = schedulerName ?? "default-scheduler"
        serviceAccountName = serviceAccountName ?? serviceAccount
        if serviceAccountName != nil { serviceAccount = serviceAccountName }
        for i in containers.indices { containers[i].applyDefaults() }
        for i in (initContainers ?? []).indices { initContainers![i].applyDefaults() }
        for i in (ephemeralContainers ?? []).indices { ephemeralContainers![i].applyDefaults() }
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
        let all = (initContainers ?? []).enumerated().map { ("\(path).initContainers[\($0.offset)]", $0.element, true) }
            + containers.enumerated().map { ("\(path).containers[\($0.offset)]", $0.element, false) }
        for (p, container, isInit) in all {
            if !names.insert(container.name).inserted { errors.append(.duplicate("\(p).name", container.name)) }
            errors += isInit ? container.validateAsInit(p) : container.validate(p)
            if !isInit, container.restartPolicy != nil { errors.append(.forbidden("\(p).restartPolicy", "may not be set for non-init containers")) }
            errors += Self.validateMounts(container, p, volumes: volumeNames)
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
        for (i, toleration) in (tolerations ?? []).enumerated() { errors += toleration.validate("\(path).tolerations[\(i)]") }
        if let node = affinity?.nodeAffinity { errors += node.validate("\(path).affinity.nodeAffinity") }
        return errors
    }

    /// Whether the pod may run on `node` as the scheduler's filters have it: its nodeSelector and required node
    /// affinity match the node's labels (and name).
    public func matchesNodeSelection(_ node: Node) -> Bool {
        guard (nodeSelector ?? [:]).allSatisfy({ node.metadata.labels?[$0.key] == $0.value }) else { return false }
        return affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.matches(node) ?? true
    }

    /// The first of the node's NoSchedule or NoExecute taints the pod does not tolerate.
    public func untoleratedTaint(_ node: Node) -> Node.Taint? {
        (node.spec?.taints ?? []).first { taint in
            (taint.effect == "NoSchedule" || taint.effect == "NoExecute") && !(tolerations ?? []).contains { $0.tolerates(taint) }
        }
    }

    static func validateMounts(_ container: Container, _ path: String, volumes: Set<String>) -> [FieldError] {
        var errors: [FieldError] = [], mountPaths = Set<String>()
        for (j, mount) in (container.volumeMounts ?? []).enumerated() {
            let m = "\(path).volumeMounts[\(j)]"
            if mount.name.isEmpty { errors.append(.required("\(m).name")) } else if !volumes.contains(mount.name) {
                errors.append(FieldError(.notFound, field: "\(m).name", value: "\"\(mount.name)\""))
            }
            if mount.mountPath.isEmpty { errors.append(.required("\(m).mountPath")) } else if !mountPaths.insert(mount.mountPath).inserted {
                errors.append(.invalid("\(m).mountPath", mount.mountPath, "must be unique"))
            }
            if mount.mountPath.contains(":") { errors.append(.invalid("\(m).mountPath", mount.mountPath, "must not contain ':'")) }
        }
        return errors
    }

    /// Init containers first, in the order they run.
    public var allContainers: [Container] { (initContainers ?? []) + containers }
    /// Every container the node runs: init, the pod's own, and ephemeral ones.
    public var everyContainer: [Container] { allContainers + (ephemeralContainers ?? []) }

    /// The init containers that are sidecars, in order.
    public var sidecars: [Container] { (initContainers ?? []).filter(\.isSidecar) }
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
    public var initContainerStatuses: [ContainerStatus]?
    public var ephemeralContainerStatuses: [ContainerStatus]?
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

/// `spec.securityContext`: kept as written, not enforced (every pod's processes run as the agent's user).
public struct PodSecurityContext: Codable, Hashable, Sendable {
    public struct Sysctl: Codable, Hashable, Sendable {
        public var name: String
        public var value: String
    }
    public struct SeccompProfile: Codable, Hashable, Sendable {
        public var type: String
        public var localhostProfile: String?
    }
    public var runAsUser: Int64?
    public var runAsGroup: Int64?
    public var runAsNonRoot: Bool?
    public var fsGroup: Int64?
    public var fsGroupChangePolicy: String?
    public var supplementalGroups: [Int64]?
    public var seccompProfile: SeccompProfile?
    public var sysctls: [Sysctl]?

    public init() {}
}
