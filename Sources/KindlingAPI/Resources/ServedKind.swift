/// A kind as the API names it: `apps/v1, Kind=Deployment`.
public struct GroupVersionKind: Codable, Hashable, Sendable {
    public var group: String
    public var version: String
    public var kind: String

    public init(group: String, version: String, kind: String) {
        self.group = group
        self.version = version
        self.kind = kind
    }
}

/// One served kind as a value: its names in the API, its scope, verbs and subresources. Discovery, OpenAPI,
/// the handler's routing and the CLI's resource names all read these from one table (`Kinds`), so a kind
/// known only at run time is one more value there rather than code in each of them.
public struct ServedKind: Hashable, Sendable {
    /// A path below an object (`pods/x/log`) and what it answers with.
    public struct Subresource: Hashable, Sendable {
        public var name: String
        public var responseKind: GroupVersionKind
        public var verbs: [String]

        public init(_ name: String, responseKind: GroupVersionKind, verbs: [String]) {
            self.name = name
            self.responseKind = responseKind
            self.verbs = verbs
        }
    }

    public var group: String
    public var version: String
    public var kind: String
    /// The plural in URLs (`pods`) and the singular kubectl also accepts (`pod`).
    public var resource: String
    public var singular: String
    public var namespaced: Bool
    public var shortNames: [String]
    /// Groups `kubectl get <category>` expands (`all`).
    public var categories: [String]
    public var verbs: [String]
    public var subresources: [Subresource]

    public static let standardVerbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]

    public init(group: String, version: String, kind: String, resource: String, singular: String? = nil, namespaced: Bool,
                shortNames: [String] = [], categories: [String] = [], verbs: [String] = standardVerbs, subresources: [Subresource] = []) {
        self.group = group
        self.version = version
        self.kind = kind
        self.resource = resource
        self.singular = singular ?? kind.lowercased()
        self.namespaced = namespaced
        self.shortNames = shortNames
        self.categories = categories
        self.verbs = verbs
        self.subresources = subresources
    }

    public var apiVersion: String { group.isEmpty ? version : "\(group)/\(version)" }
    public var groupVersionKind: GroupVersionKind { GroupVersionKind(group: group, version: version, kind: kind) }
    public var groupResource: GroupResource { GroupResource(group: group, resource: resource) }

    public func subresource(_ name: String) -> Subresource? { subresources.first { $0.name == name } }

    /// Kubernetes' order of API versions (apimachinery's CompareKubeAwareVersionStrings): GA before beta before
    /// alpha, higher numbers first within each, and versions of another shape last, alphabetically.
    public static func versionPrecedes(_ a: String, _ b: String) -> Bool {
        switch (versionRank(a), versionRank(b)) {
        case let (x?, y?): x != y ? x.lexicographicallyPrecedes(y) == false : a < b
        case (_?, nil): true
        case (nil, _?): false
        case (nil, nil): a < b
        }
    }

    /// `v2` (3, 2, 0) > `v1` > `v2beta1` (2, 2, 1) > `v1alpha2` (1, 1, 2); nil for what is not of that shape.
    static func versionRank(_ version: String) -> [Int]? {
        guard version.hasPrefix("v") else { return nil }
        let body = version.dropFirst()
        let digits = body.prefix { $0.isNumber }
        guard let major = Int(digits), !digits.isEmpty else { return nil }
        let rest = body.dropFirst(digits.count)
        if rest.isEmpty { return [3, major, 0] }
        for (stage, level) in [("beta", 2), ("alpha", 1)] where rest.hasPrefix(stage) {
            guard let minor = Int(rest.dropFirst(stage.count)) else { return nil }
            return [level, major, minor]
        }
        return nil
    }

    /// Whether `name` is what a user may type for this kind: `pods`, `pod`, `po`, `deployments.apps`, `Deployment`.
    public func answers(to name: String) -> Bool {
        let lower = name.lowercased()
        return ([resource, singular, groupResource.description] + shortNames).contains(lower)
    }
}

extension ServedKind.Subresource {
    /// `status`: the object itself, its status alone writable.
    public static func status(of type: any KubeObject.Type) -> Self { status(of: type.groupVersionKind) }

    public static func status(of kind: GroupVersionKind) -> Self { Self("status", responseKind: kind, verbs: ["get", "patch", "update"]) }
    /// `scale`: an autoscaling/v1 Scale view of the replica count.
    public static let scale = Self("scale", responseKind: GroupVersionKind(group: "autoscaling", version: "v1", kind: "Scale"),
                                   verbs: ["get", "patch", "update"])
}

extension KubeObject {
    /// This type's entry in the kind table, from its static description.
    public static var served: ServedKind {
        ServedKind(group: group, version: groupVersionKind.version, kind: kind, resource: resource, namespaced: namespaced,
                   shortNames: shortNames, categories: categories, verbs: verbs, subresources: subresources)
    }

    public static var groupVersionKind: GroupVersionKind {
        GroupVersionKind(group: group, version: apiVersion.split(separator: "/").last.map(String.init) ?? apiVersion, kind: kind)
    }
}
