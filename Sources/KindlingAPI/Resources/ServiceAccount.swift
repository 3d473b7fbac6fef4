/// `v1 ServiceAccount`: an identity for processes in pods. Every namespace has `default`; a pod runs as one
/// and, unless it or its account says not to (`automountServiceAccountToken: false`), gets a token for it.
public struct ServiceAccount: KubeObject {
    public static let apiVersion = "v1"
    public static let kind = "ServiceAccount"
    public static let resource = "serviceaccounts"
    public static let namespaced = true
    public static let shortNames = ["sa"]
    public static let subresources: [ServedKind.Subresource] = [
        ServedKind.Subresource("token", responseKind: GroupVersionKind(group: "authentication.k8s.io", version: "v1", kind: "TokenRequest"),
                               verbs: ["create"]),
    ]

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var secrets: [ObjectReference]?
    public var imagePullSecrets: [LocalObjectReference]?
    public var automountServiceAccountToken: Bool?

    /// The account every namespace has.
    public static let defaultName = "default"

    public init(namespace: String, name: String) {
        metadata = ObjectMeta(name: name, namespace: namespace)
        stampTypeMeta()
    }

    public mutating func applyDefaults() {}
    public func validate() -> [FieldError] { [] }
    public func validateUpdate(from old: ServiceAccount) -> [FieldError] { [] }

    /// The user name its tokens authenticate as, `system:serviceaccount:<namespace>:<name>`.
    public static func userName(namespace: String, name: String) -> String { "system:serviceaccount:\(namespace):\(name)" }

    /// The groups its tokens carry.
    public static func groups(namespace: String) -> [String] {
        ["system:serviceaccounts", "system:serviceaccounts:\(namespace)", "system:authenticated"]
    }
}

/// A name in the same namespace (`imagePullSecrets`).
public struct LocalObjectReference: Codable, Hashable, Sendable {
    public var name: String?
    public init(name: String?) { self.name = name }
}

/// `authentication.k8s.io/v1 TokenRequest`, posted to `serviceaccounts/<name>/token` (`kubectl create token`):
/// asks for a token of the account, for some audiences and time, optionally bound to an object (a pod) so it
/// stops working when that object goes.
public struct TokenRequest: Codable, Hashable, Sendable {
    public struct BoundObjectReference: Codable, Hashable, Sendable {
        public var kind: String?
        public var apiVersion: String?
        public var name: String?
        public var uid: String?

        public init(kind: String?, apiVersion: String? = "v1", name: String?, uid: String?) {
            self.kind = kind
            self.apiVersion = apiVersion
            self.name = name
            self.uid = uid
        }
    }

    public struct Spec: Codable, Hashable, Sendable {
        public var audiences: [String]?
        public var expirationSeconds: Int64?
        public var boundObjectRef: BoundObjectReference?

        public init(audiences: [String]? = nil, expirationSeconds: Int64? = nil, boundObjectRef: BoundObjectReference? = nil) {
            self.audiences = audiences
            self.expirationSeconds = expirationSeconds
            self.boundObjectRef = boundObjectRef
        }
    }

    public struct Status: Codable, Hashable, Sendable {
        public var token: String
        public var expirationTimestamp: String

        public init(token: String, expirationTimestamp: String) {
            self.token = token
            self.expirationTimestamp = expirationTimestamp
        }
    }

    public var apiVersion: String? = "authentication.k8s.io/v1"
    public var kind: String? = "TokenRequest"
    public var metadata: ObjectMeta?
    public var spec: Spec
    public var status: Status?

    public init(metadata: ObjectMeta = ObjectMeta(), spec: Spec) {
        self.metadata = metadata
        self.spec = spec
    }

    enum CodingKeys: String, CodingKey { case apiVersion, kind, metadata, spec, status }

    /// An empty spec may be left out (kubectl's protobuf body for `create token` with no flags has none).
    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        apiVersion = try container.decodeIfPresent(String.self, forKey: .apiVersion)
        kind = try container.decodeIfPresent(String.self, forKey: .kind)
        metadata = try container.decodeIfPresent(ObjectMeta.self, forKey: .metadata)
        spec = try container.decodeIfPresent(Spec.self, forKey: .spec) ?? Spec()
        status = try container.decodeIfPresent(Status.self, forKey: .status)
    }

    /// A token's lifetime when none is asked for, and the shortest kube-apiserver grants.
    public static let defaultExpirationSeconds: Int64 = 3600
    public static let minimumExpirationSeconds: Int64 = 600
}
