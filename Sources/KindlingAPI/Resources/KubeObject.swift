import KindlingAddresses

/// An object of any served kind as the registry and handler hold it: type and object metadata, and a body that
/// round-trips through JSON. Built-in kinds are typed structs (`KubeObject`); a kind defined at run time is an
/// `UnstructuredObject`, as client-go's `Unstructured`. The kind's rules are its `KindStrategy`.
public protocol APIObject: Codable, Hashable, Sendable {
    var apiVersion: String? { get set }
    var kind: String? { get set }
    var metadata: ObjectMeta { get set }
}

extension APIObject {
    public var name: String { metadata.name ?? "" }
    public var namespace: String { metadata.namespace ?? "" }

    /// The field selector fields every kind has.
    public func metadataFieldValue(_ field: String) -> String? {
        switch field {
        case "metadata.name": metadata.name
        case "metadata.namespace": metadata.namespace
        default: nil
        }
    }
}

/// A built-in kind: its identity in the API and its rules, known at compile time (`BuiltinKind` serves them).
public protocol KubeObject: APIObject {
    static var apiVersion: String { get }
    static var kind: String { get }
    /// The plural resource name in URLs: `pods`.
    static var resource: String { get }
    static var namespaced: Bool { get }
    /// Short names kubectl accepts: `po`, `rs`, `deploy`.
    static var shortNames: [String] { get }

    /// Kubernetes' defaulting for this kind (restartPolicy Always, replicas 1, ...). Idempotent.
    mutating func applyDefaults()
    /// What creating the object resets, as kube-apiserver's PrepareForCreate: the status of most kinds with a
    /// status subresource. Nothing by default.
    mutating func prepareForCreate()
    /// Field errors of the object as created (metadata is checked separately).
    func validate() -> [FieldError]
    /// Field errors of an update from `old`; immutable fields are checked here.
    func validateUpdate(from old: Self) -> [FieldError]
    /// What is wrong with `name` as this kind's name (most kinds: a DNS subdomain).
    static func nameProblems(_ name: String) -> [String]
    /// The fields `?fieldSelector=` may name for this kind (every kind: metadata.name and metadata.namespace).
    static var selectableFields: [String] { get }
    /// The value of one of `selectableFields`.
    func fieldValue(_ field: String) -> String?

    /// Groups `kubectl get <category>` expands (`all`); none for most kinds.
    static var categories: [String] { get }
    /// The paths served below an object (`status`, `scale`, `log`); none for most kinds, as in Kubernetes.
    static var subresources: [ServedKind.Subresource] { get }
    /// The verbs the kind serves: all of them for stored kinds, `create` for reviews.
    static var verbs: [String] { get }
    /// The seconds this kind's deletion of the object waits (a deletionTimestamp, not removal), or nil when it
    /// removes it at once unless finalizers hold it: a bound pod waits for its node to stop it.
    func deletionGrace(requested: Int64?) -> Int64?
    /// What marking the object for deletion also changes (a namespace becomes Terminating).
    mutating func markForDeletion()
}

extension KubeObject {
    public static var group: String {
        let parts = apiVersion.split(separator: "/")
        return parts.count == 2 ? String(parts[0]) : ""
    }

    public static var groupResource: GroupResource { GroupResource(group: group, resource: resource) }

    public func validateUpdate(from old: Self) -> [FieldError] { validate() }

    public static func nameProblems(_ name: String) -> [String] { LabelValidation.dns1123SubdomainProblems(name) }

    public static var selectableFields: [String] { ["metadata.name", "metadata.namespace"] }
    public static var categories: [String] { [] }
    public static var subresources: [ServedKind.Subresource] { [] }
    public static var verbs: [String] { ServedKind.standardVerbs }
    public func deletionGrace(requested: Int64?) -> Int64? { nil }
    public mutating func markForDeletion() {}
    public mutating func prepareForCreate() {}
    public func fieldValue(_ field: String) -> String? { metadataFieldValue(field) }

    /// Sets apiVersion and kind, which stored and served objects always carry.
    public mutating func stampTypeMeta() {
        apiVersion = Self.apiVersion
        kind = Self.kind
    }
}

/// A list of objects, as `GET /api/v1/pods` answers: `{"kind": "PodList", "items": [...]}`.
public struct ObjectList<Item: APIObject>: Codable, Sendable {
    public var apiVersion: String
    public var kind: String
    public var metadata: ListMeta
    public var items: [Item]

    public init(items: [Item], resourceVersion: String, of served: ServedKind) {
        self.apiVersion = served.apiVersion
        self.kind = served.kind + "List"
        self.metadata = ListMeta(resourceVersion: resourceVersion)
        self.items = items
    }
}

extension ObjectList where Item: KubeObject {
    public init(items: [Item], resourceVersion: String) {
        self.init(items: items, resourceVersion: resourceVersion, of: Item.served)
    }
}

/// One event of a watch stream: `{"type": "ADDED", "object": {...}}`.
public struct WatchEvent<Object: Codable & Sendable>: Codable, Sendable {
    public enum EventType: String, Codable, Sendable { case added = "ADDED", modified = "MODIFIED", deleted = "DELETED", bookmark = "BOOKMARK", error = "ERROR" }

    public var type: EventType
    public var object: Object

    public init(type: EventType, object: Object) {
        self.type = type
        self.object = object
    }
}

/// Checks of metadata common to all kinds, as apimachinery's ValidateObjectMeta does them.
public enum MetadataValidation {
    public static func validate(_ meta: ObjectMeta, namespaced: Bool, nameRule: (String) -> [String] = LabelValidation.dns1123SubdomainProblems) -> [FieldError] {
        var errors: [FieldError] = []
        if let name = meta.name, !name.isEmpty {
            errors += nameRule(name).map { .invalid("metadata.name", name, $0) }
        } else if (meta.generateName ?? "").isEmpty {
            errors.append(.required("metadata.name", "name or generateName is required"))
        }
        if namespaced, let ns = meta.namespace, !ns.isEmpty {
            errors += LabelValidation.dns1123LabelProblems(ns).map { .invalid("metadata.namespace", ns, $0) }
        }
        if !namespaced, let ns = meta.namespace, !ns.isEmpty {
            errors.append(.forbidden("metadata.namespace", "not allowed on this type"))
        }
        for (key, value) in (meta.labels ?? [:]).sorted(by: { $0.key < $1.key }) {
            errors += LabelValidation.keyProblems(key).map { .invalid("metadata.labels", key, $0) }
            errors += LabelValidation.valueProblems(value).map { .invalid("metadata.labels", value, $0) }
        }
        for key in (meta.annotations ?? [:]).keys.sorted() {
            errors += LabelValidation.keyProblems(key.lowercased()).map { .invalid("metadata.annotations", key, $0) }
        }
        let annotationBytes = (meta.annotations ?? [:]).reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count }
        if annotationBytes > 256 * 1024 {
            errors.append(FieldError(.invalid, field: "metadata.annotations", detail: "Too long: must have at most 262144 bytes"))
        }
        return errors
    }
}
