import Foundation

/// The `Status` object every API error is answered with, as kube-apiserver words it.
public struct Status: Codable, Hashable, Sendable, Error, CustomStringConvertible {
    public struct Details: Codable, Hashable, Sendable {
        public var name: String?
        public var group: String?
        public var kind: String?
        public var causes: [Cause]?

        public init(name: String? = nil, group: String? = nil, kind: String? = nil, causes: [Cause]? = nil) {
            self.name = name
            self.group = group
            self.kind = kind
            self.causes = causes
        }
    }

    public struct Cause: Codable, Hashable, Sendable {
        public var reason: String?
        public var message: String?
        public var field: String?

        public init(reason: String? = nil, message: String? = nil, field: String? = nil) {
            self.reason = reason
            self.message = message
            self.field = field
        }
    }

    public var kind = "Status"
    public var apiVersion = "v1"
    public var metadata = ListMeta()
    public var status: String
    public var message: String
    public var reason: String
    public var details: Details?
    public var code: Int

    public init(code: Int, reason: String, message: String, details: Details? = nil) {
        self.status = code < 400 ? "Success" : "Failure"
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
    }

    public var description: String { message }

    /// `Error from server (NotFound): pods "x" not found` is what kubectl prints of this.
    public static func notFound(_ resource: GroupResource, _ name: String) -> Status {
        Status(code: 404, reason: "NotFound", message: "\(resource) \"\(name)\" not found",
               details: Details(name: name, group: resource.group.isEmpty ? nil : resource.group, kind: resource.resource))
    }

    public static func alreadyExists(_ resource: GroupResource, _ name: String) -> Status {
        Status(code: 409, reason: "AlreadyExists", message: "\(resource) \"\(name)\" already exists",
               details: Details(name: name, group: resource.group.isEmpty ? nil : resource.group, kind: resource.resource))
    }

    public static func conflict(_ resource: GroupResource, _ name: String, _ detail: String) -> Status {
        Status(code: 409, reason: "Conflict",
               message: "Operation cannot be fulfilled on \(resource) \"\(name)\": \(detail)",
               details: Details(name: name, group: resource.group.isEmpty ? nil : resource.group, kind: resource.resource))
    }

    public static func invalid(kind: String, group: String, name: String, errors: [FieldError]) -> Status {
        let qualified = group.isEmpty ? kind : "\(kind).\(group)"
        let error = InvalidObjectError(kind: qualified, name: name, errors: errors)
        return Status(code: 422, reason: "Invalid", message: error.description,
                      details: Details(name: name, group: group.isEmpty ? nil : group, kind: kind,
                                       causes: errors.map { Cause(reason: "Field\($0.kind.reasonSuffix)", message: $0.body, field: $0.field) }))
    }

    public static func badRequest(_ message: String) -> Status {
        Status(code: 400, reason: "BadRequest", message: message)
    }

    public static func methodNotAllowed(_ message: String) -> Status {
        Status(code: 405, reason: "MethodNotAllowed", message: message)
    }

    public static func gone(_ message: String) -> Status {
        Status(code: 410, reason: "Expired", message: message)
    }

    public static func forbidden(_ resource: GroupResource, _ name: String, _ detail: String) -> Status {
        Status(code: 403, reason: "Forbidden", message: "\(resource)\(name.isEmpty ? "" : " \"\(name)\"") is forbidden: \(detail)",
               details: Details(name: name, group: resource.group.isEmpty ? nil : resource.group, kind: resource.resource))
    }

    public static func internalError(_ message: String) -> Status {
        Status(code: 500, reason: "InternalError", message: "Internal error occurred: \(message)")
    }

    public static func success() -> Status { Status(code: 200, reason: "", message: "") }
}

extension FieldError.Kind {
    /// The cause reasons kube-apiserver puts in Status details: FieldValueInvalid, FieldValueRequired, ...
    var reasonSuffix: String {
        switch self {
        case .invalid: "ValueInvalid"
        case .unsupported: "ValueNotSupported"
        case .required: "ValueRequired"
        case .forbidden: "ValueForbidden"
        case .duplicate: "ValueDuplicate"
        case .notFound: "ValueNotFound"
        case .unknownField: "UnknownField"
        case .tooLong: "ValueTooLong"
        case .tooMany: "ValueTooMany"
        }
    }
}

/// A resource named with its API group, printed as Kubernetes prints it: `pods`, `replicasets.apps`.
public struct GroupResource: Hashable, Sendable, CustomStringConvertible {
    public let group: String
    public let resource: String

    public init(group: String, resource: String) {
        self.group = group
        self.resource = resource
    }

    public var description: String { group.isEmpty ? resource : "\(resource).\(group)" }
}

extension Status {
    /// The body as kube-apiserver writes it: Go's field order (kind, apiVersion, metadata, status, message,
    /// reason, details, code), empty fields left out, `<`, `>` and `&` escaped as Go escapes them, and the
    /// newline Go's encoder ends with. Clients that compare bodies see the same bytes.
    public var wireJSON: Data {
        func string(_ text: String) -> String {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.withoutEscapingSlashes]
            let quoted = (try? encoder.encode(text)).map { String(decoding: $0, as: UTF8.self) } ?? "\"\""
            return quoted.replacingOccurrences(of: "<", with: "\\u003c").replacingOccurrences(of: ">", with: "\\u003e")
                .replacingOccurrences(of: "&", with: "\\u0026")
        }
        func object(_ fields: [(String, String?)]) -> String {
            "{" + fields.compactMap { key, value in value.map { "\"\(key)\":\($0)" } }.joined(separator: ",") + "}"
        }
        func optional(_ text: String?) -> String? { text.flatMap { $0.isEmpty ? nil : string($0) } }
        let causes = details?.causes.map { causes in
            "[" + causes.map { object([("reason", optional($0.reason)), ("message", optional($0.message)), ("field", optional($0.field))]) }
                .joined(separator: ",") + "]"
        }
        let details = self.details.map { details in
            object([("name", optional(details.name)), ("group", optional(details.group)), ("kind", optional(details.kind)), ("causes", causes)])
        }
        let metadata = object([("resourceVersion", optional(self.metadata.resourceVersion)), ("continue", optional(self.metadata.continue))])
        let body = object([("kind", string(kind)), ("apiVersion", string(apiVersion)), ("metadata", metadata), ("status", optional(status)),
                           ("message", optional(message)), ("reason", optional(reason)), ("details", details),
                           ("code", code == 0 ? nil : String(code))])
        return Data((body + "\n").utf8)
    }
}
