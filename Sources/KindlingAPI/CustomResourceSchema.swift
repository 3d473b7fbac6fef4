import Foundation

/// A CustomResourceDefinition version's OpenAPI v3 schema, as kube-apiserver applies it to custom objects:
/// defaults filled in, fields the schema does not know pruned (unless `x-kubernetes-preserve-unknown-fields`),
/// then every value checked (types, required, enum, bounds, lengths, patterns, items), each failure named by its
/// path in apiextensions' words. Over JSON trees; pure.
public struct CustomResourceSchema: CustomResourceRules, Hashable {
    /// One node of the schema: what a value there may be.
    public final class Node: Sendable, Hashable {
        let type: String?
        let properties: [String: Node]
        let additionalProperties: Node?
        /// `additionalProperties: true`: any value is kept, unchecked.
        let anyAdditional: Bool
        let items: Node?
        let required: [String]
        let enumeration: [JSONValue]?
        let minimum: Double?, maximum: Double?, exclusiveMinimum: Bool, exclusiveMaximum: Bool
        let minLength: Int?, maxLength: Int?, minItems: Int?, maxItems: Int?
        let pattern: String?
        let format: String?
        let nullable: Bool
        let preserveUnknown: Bool
        let intOrString: Bool
        let embedded: Bool
        let defaultValue: JSONValue?
        /// `x-kubernetes-validations`, parsed.
        let rules: [Rule]
        let source: JSONValue

        init(_ value: JSONValue) {
            source = value
            let map = Self.members(value)
            func string(_ key: String) -> String? {
                guard case .string(let text)? = map[key] else { return nil }
                return text
            }
            func bool(_ key: String) -> Bool {
                guard case .bool(let flag)? = map[key] else { return false }
                return flag
            }
            func number(_ key: String) -> Double? {
                switch map[key] {
                case .int(let i)?: return Double(i)
                case .double(let d)?: return d
                default: return nil
                }
            }
            func int(_ key: String) -> Int? { number(key).map { Int($0) } }
            type = string("type")
            if case .object(let props)? = map["properties"] { properties = props.mapValues(Node.init) } else { properties = [:] }
            switch map["additionalProperties"] {
            case .object?: additionalProperties = Node(map["additionalProperties"]!); anyAdditional = false
            case .bool(true)?: additionalProperties = nil; anyAdditional = true
            default: additionalProperties = nil; anyAdditional = false
            }
            if case .object? = map["items"] { items = Node(map["items"]!) } else { items = nil }
            var names: [String] = []
            if case .array(let listed)? = map["required"] {
                for case .string(let name) in listed { names.append(name) }
            }
            required = names
            if case .array(let values)? = map["enum"] { enumeration = values } else { enumeration = nil }
            minimum = number("minimum")
            maximum = number("maximum")
            exclusiveMinimum = bool("exclusiveMinimum")
            exclusiveMaximum = bool("exclusiveMaximum")
            minLength = int("minLength")
            maxLength = int("maxLength")
            minItems = int("minItems")
            maxItems = int("maxItems")
            pattern = string("pattern")
            format = string("format")
            nullable = bool("nullable")
            preserveUnknown = bool("x-kubernetes-preserve-unknown-fields")
            intOrString = bool("x-kubernetes-int-or-string")
            embedded = bool("x-kubernetes-embedded-resource")
            defaultValue = map["default"]
            if case .array(let listed)? = map["x-kubernetes-validations"] { rules = listed.compactMap(Rule.init) } else { rules = [] }
        }

        static func members(_ value: JSONValue) -> [String: JSONValue] {
            guard case .object(let members) = value else { return [:] }
            return members
        }

        public static func == (a: Node, b: Node) -> Bool { a.source == b.source }
        public func hash(into hasher: inout Hasher) { hasher.combine(source) }
    }

    public let root: Node

    public init(_ schema: JSONValue) { root = Node(schema) }

    // MARK: The schema itself

    static let types = ["array", "boolean", "integer", "number", "object", "string"]
    static let unsupported = ["id", "additionalItems", "patternProperties", "definitions", "dependencies", "$ref"]

    /// What keeps the schema from being structural, as apiextensions words it (`path` is where it sits in the CRD).
    public func structuralErrors(path: String) -> [FieldError] {
        var errors: [FieldError] = []
        check(root, path: path, level: .root, into: &errors)
        return errors
    }

    enum Level { case root, items, field }

    func check(_ node: Node, path: String, level: Level, into errors: inout [FieldError]) {
        let map = Node.members(node.source)
        for keyword in Self.unsupported where map[keyword] != nil { errors.append(.forbidden("\(path).\(keyword)", "\(keyword) is not supported")) }
        if case .bool(false)? = map["x-kubernetes-preserve-unknown-fields"] {
            errors.append(.invalid("\(path).x-kubernetes-preserve-unknown-fields", "false", "must be true or undefined"))
        }
        if case .array? = map["items"] { errors.append(.forbidden("\(path).items", "items must be a schema object and not an array")) }
        if !node.properties.isEmpty, map["additionalProperties"] != nil {
            errors.append(.forbidden("\(path).additionalProperties", "additionalProperties and properties are mutual exclusive"))
        }
        if let type = node.type {
            if !Self.types.contains(type) { errors.append(.unsupported("\(path).type", type, supported: Self.types)) }
        } else if !node.intOrString && !node.preserveUnknown {
            let detail = switch level {
            case .root: "must not be empty at the root"
            case .items: "must not be empty for specified array items"
            case .field: "must not be empty for specified object fields"
            }
            errors.append(.required("\(path).type", detail))
        }
        if level == .root, let type = node.type, type != "object" { errors.append(.invalid("\(path).type", type, "must be object at the root")) }
        if node.type == "array", node.items == nil { errors.append(.required("\(path).items", "must be specified")) }
        if let pattern = node.pattern, (try? NSRegularExpression(pattern: pattern)) == nil {
            errors.append(.invalid("\(path).pattern", pattern, "must be a valid regular expression, but isn't"))
        }
        errors += Self.ruleErrors(node, path: path)
        for name in node.properties.keys.sorted() { check(node.properties[name]!, path: "\(path).properties[\(name)]", level: .field, into: &errors) }
        if let items = node.items { check(items, path: "\(path).items", level: .items, into: &errors) }
        if let extra = node.additionalProperties { check(extra, path: "\(path).additionalProperties", level: .field, into: &errors) }
    }

    // MARK: Objects

    /// The object's fields with the schema's defaults filled in where absent, then pruned of what the schema
    /// does not know; `apiVersion`, `kind` and `metadata` at the root are the API's, never touched.
    public func defaultAndPrune(_ object: [String: Any]) -> [String: Any] {
        var result = Self.apply(root, to: Self.body(of: object)) as? [String: Any] ?? [:]
        for key in Self.apiFields { result[key] = object[key] }
        return result
    }

    static var apiFields: Set<String> { UnstructuredObject.apiFields }

    static func body(of object: [String: Any]) -> [String: Any] { object.filter { !apiFields.contains($0.key) } }

    static func apply(_ node: Node, to value: Any) -> Any {
        if let map = value as? [String: Any] {
            if node.preserveUnknown && node.properties.isEmpty && node.additionalProperties == nil { return map }
            var result: [String: Any] = [:]
            for (key, child) in node.properties where map[key] == nil {
                if let value = child.defaultValue { result[key] = foundation(value) }
            }
            for (key, child) in map {
                if let known = node.properties[key] {
                    result[key] = apply(known, to: child)
                } else if let extra = node.additionalProperties {
                    result[key] = apply(extra, to: child)
                } else if node.anyAdditional || node.preserveUnknown || node.embedded && apiFields.contains(key) {
                    result[key] = child
                }
            }
            return result
        }
        if let list = value as? [Any], let items = node.items { return list.map { apply(items, to: $0) } }
        return value
    }

    static func foundation(_ value: JSONValue) -> Any {
        switch value {
        case .null: NSNull()
        case .bool(let b): NSNumber(value: b)
        case .int(let i): NSNumber(value: i)
        case .double(let d): NSNumber(value: d)
        case .string(let s): s
        case .array(let a): a.map(foundation)
        case .object(let o): o.mapValues(foundation)
        }
    }

    /// Every value that fails the schema, each named by its path (`spec.replicas`).
    public func errors(in object: [String: Any], old: [String: Any]? = nil) -> [FieldError] {
        var found: [FieldError] = []
        Self.validate(root, Self.body(of: object), old: old.map(Self.body), path: "", into: &found)
        return found
    }
}
