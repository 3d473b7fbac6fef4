import KindlingAddresses

/// A served kind's rules, as kube-apiserver's REST strategies hold them: defaulting, validation, the fields
/// selectors read, how deletion waits. The registry and the handler take a strategy and its objects, so a
/// built-in kind (`BuiltinKind`) and one defined at run time (`CustomKind`) go through the same code.
public protocol KindStrategy: Sendable {
    associatedtype Object: APIObject
    /// The kind's names, scope, verbs and subresources.
    var served: ServedKind { get }
    /// Kubernetes' defaulting for the kind (restartPolicy Always, replicas 1, ...). Idempotent.
    func applyDefaults(_ object: inout Object)
    /// What creating resets once defaults are in (kube-apiserver's PrepareForCreate): a status the client sent.
    func prepareForCreate(_ object: inout Object)
    /// Field errors of the object as created (`old` nil) or as an update of `old`; metadata is checked apart.
    func validate(_ object: Object, old: Object?) -> [FieldError]
    /// What is wrong with `name` as the kind's name (most kinds: a DNS subdomain).
    func nameProblems(_ name: String) -> [String]
    /// The fields `?fieldSelector=` may name (every kind: metadata.name and metadata.namespace).
    var selectableFields: [String] { get }
    /// The value of one of `selectableFields`.
    func fieldValue(_ object: Object, _ field: String) -> String?
    /// The seconds deleting the object waits (a deletionTimestamp, not removal), or nil to remove it at once
    /// unless finalizers hold it.
    func deletionGrace(_ object: Object, requested: Int64?) -> Int64?
    /// What marking the object for deletion also changes (a namespace becomes Terminating).
    func markForDeletion(_ object: inout Object)
    /// Whether the kind's fields are those of a schema (a custom resource's), not of a Swift type that
    /// implements part of Kubernetes' own: then a field decoding dropped is one Kubernetes would not know
    /// either, and there are no patch strategies (no strategic merge patches, as upstream for custom resources).
    var definedBySchema: Bool { get }
    /// What decoding a body into the kind does beyond JSON: a custom resource's schema defaults and prunes it,
    /// so the fields it dropped are reported as unknown. Typed kinds need nothing (their decoder drops them).
    func decoded(_ object: inout Object)
    /// The columns the kind's definition declares for `kubectl get` (a CRD's `additionalPrinterColumns`), or
    /// nil for a kind with a printer of its own.
    var declaredColumns: [CustomResourceDefinition.PrinterColumn]? { get }
    /// How `scale` reads and writes the kind's replicas, for a kind that serves it.
    var scaling: Scaling<Object>? { get }
    /// The OpenAPI v3 schema of the kind's objects as its definition gives it, for `/openapi/v3` (`kubectl
    /// explain`); nil for a kind kindling has none for.
    var openAPISchema: JSONValue? { get }
}

extension KindStrategy {
    /// Whether the kind serves `status` apart: then writes to the object keep its status and writes to
    /// `status` keep the rest, as for every kind with that subresource in Kubernetes.
    public var hasStatus: Bool { served.subresource("status") != nil }

    /// Whether PATCH takes strategic merge patches: only kinds with patch strategies, the built-in ones.
    public var strategicMerge: Bool { !definedBySchema }
}

/// A built-in kind's strategy: its rules are its type's (`KubeObject`).
public struct BuiltinKind<T: KubeObject>: KindStrategy {
    public let served: ServedKind

    /// The type's entry of the kind table when it has one (every served type): the registry makes one of
    /// these per call, and describing the type again each time is string work on every read and write.
    public init() { served = Kinds.served(of: T.self) ?? T.served }

    public func applyDefaults(_ object: inout T) { object.applyDefaults() }
    public func prepareForCreate(_ object: inout T) { object.prepareForCreate() }
    public func validate(_ object: T, old: T?) -> [FieldError] { old.map { object.validateUpdate(from: $0) } ?? object.validate() }
    public func nameProblems(_ name: String) -> [String] { T.nameProblems(name) }
    public var selectableFields: [String] { T.selectableFields }
    public func fieldValue(_ object: T, _ field: String) -> String? { object.fieldValue(field) }
    public func deletionGrace(_ object: T, requested: Int64?) -> Int64? { object.deletionGrace(requested: requested) }
    public func markForDeletion(_ object: inout T) { object.markForDeletion() }
    public var definedBySchema: Bool { false }
    public func decoded(_ object: inout T) {}
    public var declaredColumns: [CustomResourceDefinition.PrinterColumn]? { nil }
    public var scaling: Scaling<T>? { T.self is any Scalable.Type ? .scalable : nil }
    public var openAPISchema: JSONValue? { nil }
}

extension KubeObject {
    /// This type's rules as the registry applies them.
    public static var strategy: BuiltinKind<Self> { BuiltinKind() }
}

/// What a kind's definition adds to the rules every kind has: its schema's defaults, pruning and checks
/// (`CustomResourceSchema`), over the object's JSON tree.
public protocol CustomResourceRules: Sendable {
    /// The object as decoding into the kind leaves it: defaults filled in, unknown fields pruned.
    func defaultAndPrune(_ object: [String: Any]) -> [String: Any]
    /// Every field that fails the schema.
    func errors(in object: [String: Any], old: [String: Any]?) -> [FieldError]
}

/// A kind defined at run time, its objects unstructured. It has the rules every kind has (metadata, DNS
/// subdomain names, the metadata field selectors) and those of its definition's schema, if any.
public struct CustomKind: KindStrategy {
    public let served: ServedKind
    public let rules: (any CustomResourceRules)?
    /// The storage version's rules, when this is another version.
    public let storageRules: (any CustomResourceRules)?
    public let declaredColumns: [CustomResourceDefinition.PrinterColumn]?
    public let scaling: Scaling<UnstructuredObject>?
    /// Its definition is being deleted: objects are read, changed and deleted, never created.
    public let terminating: Bool
    public let openAPISchema: JSONValue?

    public init(_ served: ServedKind, rules: (any CustomResourceRules)? = nil, storageRules: (any CustomResourceRules)? = nil,
                columns: [CustomResourceDefinition.PrinterColumn]? = nil, scale: CustomResourceDefinition.Scale? = nil, terminating: Bool = false,
                openAPISchema: JSONValue? = nil) {
        self.served = served
        self.openAPISchema = openAPISchema
        self.rules = rules
        self.storageRules = storageRules
        declaredColumns = columns
        scaling = scale.map(Scaling.paths)
        self.terminating = terminating
    }

    /// The schema's defaults are applied where a body is decoded (`decoded`), as kube-apiserver applies them in
    /// its decoder. What is left is storing: a version other than the storage one keeps only what the storage
    /// version's schema keeps, as kube-apiserver's objects are pruned by it when read from storage.
    public func applyDefaults(_ object: inout UnstructuredObject) {
        if let storageRules { Self.normalize(&object, storageRules) }
    }

    /// With a status subresource, status is written there only: a create drops what the client sent.
    public func prepareForCreate(_ object: inout UnstructuredObject) {
        if hasStatus { object.content["status"] = nil }
    }

    public func decoded(_ object: inout UnstructuredObject) {
        if let rules { Self.normalize(&object, rules) }
    }

    static func normalize(_ object: inout UnstructuredObject, _ rules: any CustomResourceRules) {
        guard let tree = try? KubeJSON.tree(object),
              let normalized = try? KubeJSON.value(UnstructuredObject.self, from: rules.defaultAndPrune(tree)) else { return }
        object = normalized
    }

    public func validate(_ object: UnstructuredObject, old: UnstructuredObject?) -> [FieldError] {
        guard let rules, let tree = try? KubeJSON.tree(object) else { return [] }
        return rules.errors(in: tree, old: old.flatMap { try? KubeJSON.tree($0) })
    }
    public func nameProblems(_ name: String) -> [String] { LabelValidation.dns1123SubdomainProblems(name) }
    public var selectableFields: [String] { ["metadata.name", "metadata.namespace"] }
    public func fieldValue(_ object: UnstructuredObject, _ field: String) -> String? { object.metadataFieldValue(field) }
    public func deletionGrace(_ object: UnstructuredObject, requested: Int64?) -> Int64? { nil }
    public func markForDeletion(_ object: inout UnstructuredObject) {}
    public var definedBySchema: Bool { true }
}
