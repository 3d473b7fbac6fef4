import KindlingAddresses

/// `apiextensions.k8s.io/v1 CustomResourceDefinition`: a kind defined while the cluster runs. Its resources
/// are served, under its group and each served version, once its names are accepted (`Established`).
public struct CustomResourceDefinition: KubeObject {
    public static let apiVersion = "apiextensions.k8s.io/v1"
    public static let kind = "CustomResourceDefinition"
    public static let resource = "customresourcedefinitions"
    public static let namespaced = false
    public static let shortNames = ["crd", "crds"]
    public static let subresources: [ServedKind.Subresource] = [.status(of: CustomResourceDefinition.self)]

    public struct Names: Codable, Hashable, Sendable {
        public var plural: String
        public var singular: String?
        public var kind: String
        public var listKind: String?
        public var shortNames: [String]?
        public var categories: [String]?

        public init(plural: String, singular: String? = nil, kind: String, listKind: String? = nil, shortNames: [String]? = nil,
                    categories: [String]? = nil) {
            self.plural = plural
            self.singular = singular
            self.kind = kind
            self.listKind = listKind
            self.shortNames = shortNames
            self.categories = categories
        }
    }

    public struct Scale: Codable, Hashable, Sendable {
        public var specReplicasPath: String
        public var statusReplicasPath: String
        public var labelSelectorPath: String?
    }

    public struct Subresources: Codable, Hashable, Sendable {
        /// Present (`status: {}`) when the kind serves `status` apart.
        public var status: JSONValue?
        public var scale: Scale?

        public init(status: JSONValue? = nil, scale: Scale? = nil) {
            self.status = status
            self.scale = scale
        }
    }

    public struct PrinterColumn: Codable, Hashable, Sendable {
        public var name: String
        public var type: String
        public var format: String?
        public var description: String?
        public var priority: Int?
        public var jsonPath: String

        public init(name: String, type: String, format: String? = nil, description: String? = nil, priority: Int? = nil, jsonPath: String) {
            self.name = name
            self.type = type
            self.format = format
            self.description = description
            self.priority = priority
            self.jsonPath = jsonPath
        }
    }

    public struct Schema: Codable, Hashable, Sendable {
        public var openAPIV3Schema: JSONValue?

        public init(openAPIV3Schema: JSONValue?) { self.openAPIV3Schema = openAPIV3Schema }
    }

    public struct Version: Codable, Hashable, Sendable {
        public var name: String
        public var served: Bool
        public var storage: Bool
        public var deprecated: Bool?
        public var deprecationWarning: String?
        public var schema: Schema?
        public var subresources: Subresources?
        public var additionalPrinterColumns: [PrinterColumn]?

        public init(name: String, served: Bool = true, storage: Bool = true, schema: Schema? = nil, subresources: Subresources? = nil) {
            self.name = name
            self.served = served
            self.storage = storage
            self.schema = schema
            self.subresources = subresources
        }
    }

    public struct Conversion: Codable, Hashable, Sendable {
        public var strategy: String
        public var webhook: JSONValue?
    }

    public struct Spec: Codable, Hashable, Sendable {
        public var group: String
        public var names: Names
        public var scope: String
        public var versions: [Version]
        public var conversion: Conversion?
        public var preserveUnknownFields: Bool?

        public init(group: String, names: Names, scope: String, versions: [Version]) {
            self.group = group
            self.names = names
            self.scope = scope
            self.versions = versions
        }
    }

    public struct Status: Codable, Hashable, Sendable {
        public var conditions: [Condition]?
        public var acceptedNames: Names?
        public var storedVersions: [String]?

        public init() {}
    }

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: Spec
    public var status: Status?

    public init(name: String, spec: Spec) {
        metadata = ObjectMeta(name: name)
        self.spec = spec
        stampTypeMeta()
    }

    /// v1's defaults: the singular is the lowercased kind, the list kind `<kind>List`, conversion `None`.
    public mutating func applyDefaults() {
        if (spec.names.singular ?? "").isEmpty { spec.names.singular = spec.names.kind.lowercased() }
        if (spec.names.listKind ?? "").isEmpty, !spec.names.kind.isEmpty { spec.names.listKind = spec.names.kind + "List" }
        if spec.conversion == nil { spec.conversion = Conversion(strategy: "None") }
        if spec.preserveUnknownFields == nil { spec.preserveUnknownFields = false }
    }

    public func validate() -> [FieldError] { CRDValidation.errors(of: self, old: nil) }

    public func validateUpdate(from old: CustomResourceDefinition) -> [FieldError] { CRDValidation.errors(of: self, old: old) }

    /// A CRD being deleted waits for its objects to be gone (the cleanup finalizer), as in Kubernetes.
    public func deletionGrace(requested: Int64?) -> Int64? { 0 }

    public mutating func markForDeletion() {
        if !(metadata.finalizers ?? []).contains(Self.cleanupFinalizer) { metadata.finalizers = (metadata.finalizers ?? []) + [Self.cleanupFinalizer] }
        var conditions = status?.conditions ?? []
        conditions.set(Condition(type: "Terminating", status: "True", reason: "InstanceDeletionPending",
                                 message: "CustomResourceDefinition marked for deletion; CustomResource deletion will begin soon"), now: Timestamp.string())
        if status == nil { status = Status() }
        status?.conditions = conditions
    }

    // MARK: What it serves

    /// The finalizer under which the server deletes a CRD's objects before the CRD goes.
    public static let cleanupFinalizer = "customresourcecleanup.apiextensions.k8s.io"

    public var isEstablished: Bool { status?.conditions?["Established"]?.status == "True" }

    /// The version objects are stored in.
    public var storageVersion: String? { spec.versions.first { $0.storage }?.name }

    /// The columns `kubectl get` shows at a version: those it declares, or Age when it declares none.
    public static func columns(_ version: Version) -> [PrinterColumn] {
        if let declared = version.additionalPrinterColumns, !declared.isEmpty { return declared }
        return [PrinterColumn(name: "Age", type: "date", description: ObjectMeta.creationTimestampDescription,
                              jsonPath: ".metadata.creationTimestamp")]
    }

    /// One served kind per served version, named as accepted.
    public func servedKinds() -> [ServedKind] { spec.versions.filter(\.served).map(servedKind) }

    /// The kind at one version, named as accepted (as defined until names are accepted).
    public func servedKind(_ version: Version) -> ServedKind {
        let names = status?.acceptedNames ?? spec.names
        var subresources: [ServedKind.Subresource] = []
        if version.subresources?.status != nil {
            subresources.append(.status(of: GroupVersionKind(group: spec.group, version: version.name, kind: names.kind)))
        }
        if version.subresources?.scale != nil { subresources.append(.scale) }
        return ServedKind(group: spec.group, version: version.name, kind: names.kind, resource: names.plural,
                          singular: names.singular ?? names.kind.lowercased(), namespaced: spec.scope == "Namespaced",
                          shortNames: names.shortNames ?? [], categories: names.categories ?? [], subresources: subresources)
    }
}
