import KindlingAddresses

/// `apiregistration.k8s.io/v1 APIService`: one served group version, named `<version>.<group>` (`v1.apps`,
/// `v1.` for the core group). kube-apiserver registers every group version it serves itself as a local
/// APIService (no `spec.service`), always Available; one with a service would be an aggregated API server.
public struct APIService: KubeObject {
    public static let apiVersion = "apiregistration.k8s.io/v1"
    public static let kind = "APIService"
    public static let resource = "apiservices"
    public static let namespaced = false
    public static let shortNames: [String] = []
    public static let subresources: [ServedKind.Subresource] = [.status(of: APIService.self)]

    public struct ServiceReference: Codable, Hashable, Sendable {
        public var namespace: String?
        public var name: String?
        public var port: Int?

        public init(namespace: String, name: String, port: Int? = nil) {
            self.namespace = namespace
            self.name = name
            self.port = port
        }
    }
    public struct Spec: Codable, Hashable, Sendable {
        public var service: ServiceReference?
        public var group: String?
        public var version: String?
        public var insecureSkipTLSVerify: Bool?
        public var caBundle: String?
        public var groupPriorityMinimum: Int
        public var versionPriority: Int

        public init(group: String, version: String, groupPriorityMinimum: Int, versionPriority: Int) {
            self.group = group
            self.version = version
            self.groupPriorityMinimum = groupPriorityMinimum
            self.versionPriority = versionPriority
        }
    }
    public struct Status: Codable, Hashable, Sendable {
        public var conditions: [Condition]?
        public init(conditions: [Condition]?) { self.conditions = conditions }
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

    /// The name an APIService of `group` and `version` must have.
    public static func name(group: String, version: String) -> String { "\(version).\(group)" }

    public mutating func applyDefaults() {}

    /// kube-aggregator's validation, in its words.
    public func validate() -> [FieldError] {
        var errors: [FieldError] = []
        let version = spec.version ?? "", group = spec.group ?? ""
        let required = Self.name(group: group, version: version)
        if name != required { errors.append(.invalid("metadata.name", name, "must be `spec.version+\".\"+spec.group`: \"\(required)\"")) }
        if group.isEmpty, version != "v1" { errors.append(.required("spec.group", "only v1 may have an empty group and it better be legacy kube")) }
        if !group.isEmpty { errors += LabelValidation.dns1123SubdomainProblems(group).map { .invalid("spec.group", group, $0) } }
        errors += LabelValidation.dns1035LabelProblems(version).map { .invalid("spec.version", version, $0) }
        if !(1...20000).contains(spec.groupPriorityMinimum) {
            errors.append(.invalid("spec.groupPriorityMinimum", spec.groupPriorityMinimum, "must be positive and less than 20000"))
        }
        if !(1...1000).contains(spec.versionPriority) {
            errors.append(.invalid("spec.versionPriority", spec.versionPriority, "must be positive and less than 1000"))
        }
        guard let service = spec.service else {
            if let bundle = spec.caBundle, !bundle.isEmpty {
                errors.append(FieldError(.invalid, field: "spec.caBundle", value: "\"\(bundle.count * 3 / 4) bytes\"", detail: "local APIServices may not have a caBundle"))
            }
            if spec.insecureSkipTLSVerify == true {
                errors.append(FieldError(.invalid, field: "spec.insecureSkipTLSVerify", value: "true", detail: "local APIServices may not have insecureSkipTLSVerify"))
            }
            return errors
        }
        if (service.namespace ?? "").isEmpty { errors.append(.required("spec.service.namespace")) }
        if (service.name ?? "").isEmpty { errors.append(.required("spec.service.name")) }
        return errors
    }

    public static func nameProblems(_ name: String) -> [String] { name.contains("/") ? ["may not contain '/'"] : [] }

    /// Whether kube-apiserver itself serves it (no service behind it).
    public var isLocal: Bool { spec.service == nil }
}
