/// `authorization.k8s.io/v1 SelfSubjectAccessReview` (`kubectl auth can-i`): may the caller do this? Created,
/// answered, never stored.
public struct SelfSubjectAccessReview: Review {
    public static let apiVersion = "authorization.k8s.io/v1"
    public static let kind = "SelfSubjectAccessReview"
    public static let resource = "selfsubjectaccessreviews"
    public static let namespaced = false

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

    public func validate() -> [FieldError] { AccessReview.exactlyOne(spec.resourceAttributes, spec.nonResourceAttributes) }
}

/// What the access reviews share: the attributes asked about and their validation, in kube-apiserver's words.
public enum AccessReview {
    public typealias ResourceAttributes = SelfSubjectAccessReview.ResourceAttributes
    public typealias NonResourceAttributes = SelfSubjectAccessReview.NonResourceAttributes
    public typealias Status = SelfSubjectAccessReview.Status

    /// A SubjectAccessReview's spec (local or not): what it asks about, and of whom.
    static func subjectErrors(_ spec: SubjectAccessReview.Spec) -> [FieldError] {
        var errors = exactlyOne(spec.resourceAttributes, spec.nonResourceAttributes)
        if (spec.user ?? "").isEmpty && (spec.groups ?? []).isEmpty {
            errors.append(.invalid("spec.user", spec.user ?? "", "at least one of user or group must be specified"))
        }
        return errors
    }

    static func exactlyOne(_ resource: ResourceAttributes?, _ nonResource: NonResourceAttributes?) -> [FieldError] {
        guard (resource == nil) == (nonResource == nil) else { return [] }
        return [FieldError(.invalid, field: "spec", value: "null", detail: "exactly one of nonResourceAttributes or resourceAttributes must be specified")]
    }
}

/// `authorization.k8s.io/v1 SubjectAccessReview`: may this user (with these groups) do this? Asked by
/// webhooks and controllers on another's behalf.
public struct SubjectAccessReview: Review {
    public static let apiVersion = "authorization.k8s.io/v1"
    public static let kind = "SubjectAccessReview"
    public static let resource = "subjectaccessreviews"
    public static let namespaced = false

    public struct Spec: Codable, Hashable, Sendable {
        public var resourceAttributes: AccessReview.ResourceAttributes?
        public var nonResourceAttributes: AccessReview.NonResourceAttributes?
        public var user: String?
        public var groups: [String]?
        public var extra: [String: [String]]?
        public var uid: String?
    }

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: Spec
    public var status: AccessReview.Status?

    public func validate() -> [FieldError] { AccessReview.subjectErrors(spec) }
}

/// `authorization.k8s.io/v1 LocalSubjectAccessReview`: a SubjectAccessReview inside one namespace, so that
/// namespace's admins may be allowed to ask it.
public struct LocalSubjectAccessReview: Review {
    public static let apiVersion = "authorization.k8s.io/v1"
    public static let kind = "LocalSubjectAccessReview"
    public static let resource = "localsubjectaccessreviews"
    public static let namespaced = true

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: SubjectAccessReview.Spec
    public var status: AccessReview.Status?

    public func validate() -> [FieldError] {
        var errors = AccessReview.subjectErrors(spec)
        if let attributes = spec.resourceAttributes, (attributes.namespace ?? "") != namespace {
            errors.append(.invalid("spec.resourceAttributes.namespace", attributes.namespace ?? "", "must match metadata.namespace"))
        }
        if spec.nonResourceAttributes != nil {
            errors.append(FieldError(.invalid, field: "spec.nonResourceAttributes", value: "{}", detail: "disallowed on this kind of request"))
        }
        return errors
    }
}

/// `authorization.k8s.io/v1 SelfSubjectRulesReview` (`kubectl auth can-i --list`): everything the caller may
/// do in a namespace, as the rules that allow it.
public struct SelfSubjectRulesReview: Review {
    public static let apiVersion = "authorization.k8s.io/v1"
    public static let kind = "SelfSubjectRulesReview"
    public static let resource = "selfsubjectrulesreviews"
    public static let namespaced = false

    public struct Spec: Codable, Hashable, Sendable {
        public var namespace: String?
    }
    public struct ResourceRule: Codable, Hashable, Sendable {
        public var verbs: [String]
        public var apiGroups: [String]?
        public var resources: [String]?
        public var resourceNames: [String]?
    }
    public struct NonResourceRule: Codable, Hashable, Sendable {
        public var verbs: [String]
        public var nonResourceURLs: [String]?
    }
    public struct Status: Codable, Hashable, Sendable {
        public var resourceRules: [ResourceRule]
        public var nonResourceRules: [NonResourceRule]
        public var incomplete: Bool
        public var evaluationError: String?

        public init(rules: [PolicyRule]) {
            resourceRules = rules.filter { !($0.resources ?? []).isEmpty }.map {
                ResourceRule(verbs: $0.verbs, apiGroups: $0.apiGroups, resources: $0.resources, resourceNames: $0.resourceNames)
            }
            nonResourceRules = rules.filter { !($0.nonResourceURLs ?? []).isEmpty }.map { NonResourceRule(verbs: $0.verbs, nonResourceURLs: $0.nonResourceURLs) }
            incomplete = false
        }
    }

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: Spec
    public var status: Status?

}

/// `authentication.k8s.io/v1 TokenReview`: who a bearer token stands for (webhooks and proxies that take
/// ServiceAccount tokens ask the API).
public struct TokenReview: Review {
    public static let apiVersion = "authentication.k8s.io/v1"
    public static let kind = "TokenReview"
    public static let resource = "tokenreviews"
    public static let namespaced = false

    public struct Spec: Codable, Hashable, Sendable {
        public var token: String?
        public var audiences: [String]?
    }
    public struct Status: Codable, Hashable, Sendable {
        public var authenticated: Bool?
        public var user: SelfSubjectReview.UserInfo?
        public var audiences: [String]?
        public var error: String?

        public init(authenticated: Bool? = nil, user: SelfSubjectReview.UserInfo? = nil, audiences: [String]? = nil, error: String? = nil) {
            self.authenticated = authenticated
            self.user = user
            self.audiences = audiences
            self.error = error
        }
    }

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: Spec
    public var status: Status?

}

/// `authentication.k8s.io/v1 SelfSubjectReview` (`kubectl auth whoami`): who the caller is, as authenticated.
public struct SelfSubjectReview: Review {
    public static let apiVersion = "authentication.k8s.io/v1"
    public static let kind = "SelfSubjectReview"
    public static let resource = "selfsubjectreviews"
    public static let namespaced = false

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

}

/// What every review kind is: created and answered at once, never stored, so only `create` is served; nothing
/// to default, and no rules but those a kind adds.
public protocol Review: KubeObject {}

extension Review {
    public static var shortNames: [String] { [] }
    public static var verbs: [String] { ["create"] }
    public mutating func applyDefaults() {}
    public func validate() -> [FieldError] { [] }
}
