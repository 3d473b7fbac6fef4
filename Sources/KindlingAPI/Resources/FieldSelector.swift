/// `?fieldSelector=` over the fields each kind makes selectable (`KubeObject.selectableFields`): metadata.name
/// and metadata.namespace everywhere, a pod's spec.nodeName and status.phase, an event's involvedObject.*.
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

    /// Why the selector cannot apply to a kind whose selectable fields are `supported`, or nil when it can.
    public func validate(supported: [String]) -> String? {
        for requirement in requirements where !supported.contains(requirement.field) {
            return "\"\(requirement.field)\" is not a known field selector: only \"\(supported.joined(separator: "\", \""))\""
        }
        return nil
    }

    public func matches<T: KubeObject>(_ object: T) -> Bool { matches(object.fieldValue) }

    /// Whether an object whose fields read as `value` answers every requirement.
    public func matches(_ value: (String) -> String?) -> Bool {
        requirements.allSatisfy { ((value($0.field) ?? "") == $0.value) != $0.negated }
    }
}
