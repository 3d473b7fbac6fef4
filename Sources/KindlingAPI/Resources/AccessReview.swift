/// `authorization.k8s.io/v1 SelfSubjectAccessReview` (`kubectl auth can-i`): may the caller do this? Created,
/// answered, never stored.
public struct SelfSubjectAccessReview: KubeObject {
    public static let apiVersion = "authorization.k8s.io/v1"
    public static let kind = "SelfSubjectAccessReview"
    public static let resource = "selfsubjectaccessreviews"
    public static let namespaced = false
    public static let shortNames: [String] = []
    public static var verbs: [String] { ["create"] }

    public struct ResourceAttributes: Codable, Hashable, Sendable {
        public var namespace: String?
        public var verb: String?
        public var group: String?
        public var version: String?
        public var resource: String?
        public var subresource: String?
        public var name: String?
    }
    public struct NonResourceAttributes: Codable, Hashable, Sendable {
        public var path: String?
        public var verb: String?
    }
    public struct Spec: Codable, Hashable, Sendable {
        public var resourceAttributes: ResourceAttributes?
        public var nonResourceAttributes: NonResourceAttributes?
    }
    public struct Status: Codable, Hashable, Sendable {
        public var allowed: Bool
        public var denied: Bool?
        public var reason: String?
        public var evaluationError: String?

        public init(allowed: Bool, reason: String?) {
            self.allowed = allowed
            self.reason = reason
        }
    }

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: Spec
    public var status: Status?

    enum CodingKeys: String, CodingKey { case apiVersion, kind, metadata, spec, status }

    /// Clients send reviews without metadata.
    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        apiVersion = try container.decodeIfPresent(String.self, forKey: .apiVersion)
        kind = try container.decodeIfPresent(String.self, forKey: .kind)
        metadata = try container.decodeIfPresent(ObjectMeta.self, forKey: .metadata) ?? ObjectMeta()
        spec = try container.decode(Spec.self, forKey: .spec)
        status = try container.decodeIfPresent(Status.self, forKey: .status)
    }

    public mutating func applyDefaults() {}
    public func validate() -> [FieldError] {
        switch (spec.resourceAttributes, spec.nonResourceAttributes) {
        case (nil, nil): [.required("spec.resourceAttributes", "exactly one of nonResourceAttributes or resourceAttributes must be specified")]
        case (_?, _?): [.invalid("spec.nonResourceAttributes", "", "cannot be specified in combination with resourceAttributes")]
        default: []
        }
    }
}

/// `authentication.k8s.io/v1 SelfSubjectReview` (`kubectl auth whoami`): who the caller is, as authenticated.
public struct SelfSubjectReview: KubeObject {
    public static let apiVersion = "authentication.k8s.io/v1"
    public static let kind = "SelfSubjectReview"
    public static let resource = "selfsubjectreviews"
    public static let namespaced = false
    public static let shortNames: [String] = []
    public static var verbs: [String] { ["create"] }

    public struct UserInfo: Codable, Hashable, Sendable {
        public var username: String?
        public var uid: String?
        public var groups: [String]?
        public var extra: [String: [String]]?

        public init(username: String?, uid: String?, groups: [String]?, extra: [String: [String]]?) {
            self.username = username
            self.uid = uid
            self.groups = groups
            self.extra = extra
        }
    }
    public struct Status: Codable, Hashable, Sendable {
        public var userInfo: UserInfo
        public init(userInfo: UserInfo) { self.userInfo = userInfo }
    }

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var status: Status?

    public init(metadata: ObjectMeta) { self.metadata = metadata }

    public mutating func applyDefaults() {}
    public func validate() -> [FieldError] { [] }
}
