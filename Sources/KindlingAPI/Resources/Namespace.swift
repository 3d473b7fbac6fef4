import KindlingAddresses

public struct Namespace: KubeObject {
    public static let apiVersion = "v1"
    public static let kind = "Namespace"
    public static let resource = "namespaces"
    public static let namespaced = false
    /// Namespaces are not deleted as a collection, as kube-apiserver serves them.
    public static var verbs: [String] { ServedKind.standardVerbs.filter { $0 != "deletecollection" } }
    public static let shortNames = ["ns"]
    public static let subresources: [ServedKind.Subresource] = [.status(of: Namespace.self)]

    /// A namespace is always marked first: its controller empties it, then removes it.
    public func deletionGrace(requested: Int64?) -> Int64? { 0 }

    public mutating func markForDeletion() {
        status = Status(phase: "Terminating")
        spec = Spec(finalizers: ["kubernetes"])
    }
    public static func nameProblems(_ name: String) -> [String] { LabelValidation.dns1123LabelProblems(name) }

    public struct Spec: Codable, Hashable, Sendable {
        public var finalizers: [String]?
        public init(finalizers: [String]? = nil) { self.finalizers = finalizers }
    }

    public struct Status: Codable, Hashable, Sendable {
        public var phase: String?
        public init(phase: String? = nil) { self.phase = phase }
    }

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: Spec?
    public var status: Status?

    public init(name: String) {
        self.metadata = ObjectMeta(name: name)
        stampTypeMeta()
    }

    public mutating func applyDefaults() {
        if status?.phase == nil { status = Status(phase: "Active") }
        var labels = metadata.labels ?? [:]
        // Every namespace carries its own name as a label, as the apiserver adds it.
        labels["kubernetes.io/metadata.name"] = metadata.name
        metadata.labels = labels
    }

    public func validate() -> [FieldError] { [] }

    /// Namespaces made at cluster creation and never deleted.
    public static let system = ["default", "kube-system", "kube-public", "kube-node-lease"]
}
