/// `?fieldSelector=` for the fields kindling indexes: `metadata.name`, `metadata.namespace`, and for pods
/// `spec.nodeName` and `status.phase` (what agents and `kubectl get pods --field-selector` use).
public struct FieldSelector: Hashable, Sendable {
    public struct Requirement: Hashable, Sendable {
        public var field: String
        public var value: String
        public var negated: Bool
    }

    public var requirements: [Requirement]

    public static let everything = FieldSelector(requirements: [])

    public init(requirements: [Requirement]) { self.requirements = requirements }

    public struct ParseError: Error, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    public init(parsing text: String) throws {
        requirements = try text.split(separator: ",").map { part in
            let negated = part.contains("!=")
            let pieces = part.split(separator: negated ? "!" : "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard pieces.count == 2 else { throw ParseError(message: "invalid selector: '\(text)'; can't understand '\(part)'") }
            var value = pieces[1]
            while value.first == "=" { value = value.dropFirst() }
            let field = String(pieces[0]).replacingOccurrences(of: " ", with: "")
            return Requirement(field: field, value: String(value), negated: negated)
        }
    }

    public func validate(for kind: String) -> String? {
        let supported = ["metadata.name", "metadata.namespace"] + (kind == "Pod" ? ["spec.nodeName", "status.phase"] : [])
        for requirement in requirements where !supported.contains(requirement.field) {
            return "\"\(requirement.field)\" is not a known field selector: only \"\(supported.joined(separator: "\", \""))\""
        }
        return nil
    }

    public func matches<T: KubeObject>(_ object: T) -> Bool {
        requirements.allSatisfy { requirement in
            let actual: String? = switch requirement.field {
            case "metadata.name": object.metadata.name
            case "metadata.namespace": object.metadata.namespace
            case "spec.nodeName": (object as? Pod)?.spec.nodeName
            case "status.phase": (object as? Pod)?.phase
            default: nil
            }
            return ((actual ?? "") == requirement.value) != requirement.negated
        }
    }
}
