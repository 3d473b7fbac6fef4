/// `metadata` of every object (apimachinery's ObjectMeta), with the fields kindling keeps.
public struct ObjectMeta: Codable, Hashable, Sendable {
    public var name: String?
    public var generateName: String?
    public var namespace: String?
    public var uid: String?
    public var resourceVersion: String?
    public var generation: Int64?
    public var creationTimestamp: String?
    public var deletionTimestamp: String?
    public var deletionGracePeriodSeconds: Int64?
    public var labels: [String: String]?
    public var annotations: [String: String]?
    public var ownerReferences: [OwnerReference]?
    public var finalizers: [String]?
    /// Who set which fields (see `ManagedFields`).
    public var managedFields: [ManagedFieldsEntry]?

    public init(name: String? = nil, namespace: String? = nil, labels: [String: String]? = nil) {
        self.name = name
        self.namespace = namespace
        self.labels = labels
    }
}

public struct OwnerReference: Codable, Hashable, Sendable {
    public var apiVersion: String
    public var kind: String
    public var name: String
    public var uid: String
    public var controller: Bool?
    public var blockOwnerDeletion: Bool?

    public init(apiVersion: String, kind: String, name: String, uid: String, controller: Bool? = true,
                blockOwnerDeletion: Bool? = true) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.name = name
        self.uid = uid
        self.controller = controller
        self.blockOwnerDeletion = blockOwnerDeletion
    }
}

public struct ListMeta: Codable, Hashable, Sendable {
    public var resourceVersion: String?
    public var `continue`: String?
    public var remainingItemCount: Int64?

    public init(resourceVersion: String? = nil, continue token: String? = nil, remainingItemCount: Int64? = nil) {
        self.resourceVersion = resourceVersion
        self.continue = token
        self.remainingItemCount = remainingItemCount
    }
}

/// A number or a name, as in `targetPort: 8080` / `targetPort: http`.
public enum IntOrString: Codable, Hashable, Sendable, CustomStringConvertible {
    case int(Int)
    case string(String)

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let i = try? container.decode(Int.self) {
            self = .int(i)
        } else {
            self = .string(try container.decode(String.self))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .int(let i): try container.encode(i)
        case .string(let s): try container.encode(s)
        }
    }

    /// Kubernetes' GetScaledValueFromIntOrPercent: a number as it is, a percentage of `total` rounded up or down;
    /// nil for a string that is not a percentage.
    public func scaled(of total: Int, roundUp: Bool) -> Int? {
        switch self {
        case .int(let number): return number
        case .string(let text):
            guard text.hasSuffix("%"), let percent = Int(text.dropLast()) else { return nil }
            return roundUp ? (percent * total + 99) / 100 : percent * total / 100
        }
    }

    /// Why it is no count or percentage of a whole (negative, not `N%`, over 100 %), in kube-apiserver's words.
    public var countOrPercentProblem: String? {
        switch self {
        case .int(let number): return number < 0 ? "must be greater than or equal to 0" : nil
        case .string(let text):
            guard text.hasSuffix("%"), let percent = Int(text.dropLast()), percent >= 0 else {
                return "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')"
            }
            return percent > 100 ? "must not be greater than 100%" : nil
        }
    }

    public var description: String {
        switch self {
        case .int(let i): String(i)
        case .string(let s): s
        }
    }
}

/// `metav1.Condition`-like status conditions used by nodes, pods and deployments.
public struct Condition: Codable, Hashable, Sendable {
    public var type: String
    public var status: String
    public var lastHeartbeatTime: String?
    public var lastProbeTime: String?
    public var lastTransitionTime: String?
    public var lastUpdateTime: String?
    public var reason: String?
    public var message: String?

    public init(type: String, status: String, reason: String? = nil, message: String? = nil,
                lastTransitionTime: String? = nil) {
        self.type = type
        self.status = status
        self.reason = reason
        self.message = message
        self.lastTransitionTime = lastTransitionTime
    }
}

extension Array where Element == Condition {
    public subscript(type: String) -> Condition? { first { $0.type == type } }

    /// The conditions without their times, to tell a real change from a heartbeat.
    public var withoutTimes: [Condition] {
        map { condition in
            var condition = condition
            condition.lastTransitionTime = nil
            condition.lastProbeTime = nil
            condition.lastUpdateTime = nil
            condition.lastHeartbeatTime = nil
            return condition
        }
    }

    /// Sets a condition, keeping its lastTransitionTime unless its status changes.
    public mutating func set(_ condition: Condition, now: String) {
        var condition = condition
        if let index = firstIndex(where: { $0.type == condition.type }) {
            condition.lastTransitionTime = self[index].status == condition.status
                ? self[index].lastTransitionTime : now
            self[index] = condition
        } else {
            condition.lastTransitionTime = condition.lastTransitionTime ?? now
            append(condition)
        }
    }
}

extension ObjectMeta {
    /// The API's descriptions of two fields, which Tables give the Name and Age columns.
    public static let nameDescription = "Name must be unique within a namespace. Is required when creating resources, although some resources "
        + "may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation "
        + "idempotence and configuration definition. Cannot be updated. More info: "
        + "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"
    public static let creationTimestampDescription = "CreationTimestamp is a timestamp representing the server time when this object was "
        + "created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. "
        + "It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: "
        + "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
}
