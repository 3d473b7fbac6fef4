/// One problem with one field of an object, worded as Kubernetes' `field.Error` words it, so that
/// messages read like the apiserver's: `nodes[1].role: Unsupported value: "master": supported values: ...`.
public struct FieldError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case invalid = "Invalid value"
        case unsupported = "Unsupported value"
        case required = "Required value"
        case forbidden = "Forbidden"
        case duplicate = "Duplicate value"
        case notFound = "Not found"
        case unknownField = "unknown field"
        case tooLong = "Too long"
        case tooMany = "Too many"
    }

    public let kind: Kind
    public let field: String
    /// The offending value as Kubernetes quotes it (strings in quotes), or nil where none is shown.
    public let value: String?
    public let detail: String

    public init(_ kind: Kind, field: String, value: String? = nil, detail: String = "") {
        self.kind = kind
        self.field = field
        self.value = value
        self.detail = detail
    }

    public static func invalid(_ field: String, _ value: String, _ detail: String) -> FieldError {
        FieldError(.invalid, field: field, value: quoted(value), detail: detail)
    }
    /// Numbers are shown unquoted, as Kubernetes shows them: `spec.replicas: Invalid value: -1: ...`.
    public static func invalid(_ field: String, _ value: some BinaryInteger, _ detail: String) -> FieldError {
        FieldError(.invalid, field: field, value: String(value), detail: detail)
    }
    public static func unsupported(_ field: String, _ value: String, supported: [String]) -> FieldError {
        FieldError(.unsupported, field: field, value: quoted(value),
                   detail: "supported values: " + supported.map(quoted).joined(separator: ", "))
    }
    public static func required(_ field: String, _ detail: String = "") -> FieldError {
        FieldError(.required, field: field, detail: detail)
    }
    public static func forbidden(_ field: String, _ detail: String) -> FieldError {
        FieldError(.forbidden, field: field, detail: detail)
    }
    public static func duplicate(_ field: String, _ value: String) -> FieldError {
        FieldError(.duplicate, field: field, value: quoted(value))
    }
    public static func unknownField(_ field: String) -> FieldError {
        FieldError(.unknownField, field: field)
    }

    static func quoted(_ s: String) -> String { "\"" + s + "\"" }

    public var description: String {
        kind == .unknownField ? body : "\(field): \(body)"
    }

    /// The message without the field, as a Status cause carries it (kubectl puts `field: ` before it).
    public var body: String {
        if kind == .unknownField { return "unknown field \"\(field)\"" }
        var text = kind.rawValue
        if let value { text += ": \(value)" }
        if !detail.isEmpty { text += ": \(detail)" }
        return text
    }
}

/// All problems found in one object; the message names the object the way `kubectl` errors do:
/// `Cluster.kind.x-k8s.io "kindling" is invalid: [a, b]`.
public struct InvalidObjectError: Error, Sendable, CustomStringConvertible {
    public let kind: String
    public let name: String
    public let errors: [FieldError]

    public init(kind: String, name: String, errors: [FieldError]) {
        self.kind = kind
        self.name = name
        self.errors = errors
    }

    public var description: String {
        let list = errors.count == 1 ? errors[0].description
            : "[" + errors.map(\.description).joined(separator: ", ") + "]"
        return "\(kind) \"\(name)\" is invalid: \(list)"
    }
}
