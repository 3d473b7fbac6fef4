import Foundation

/// Checking values against a schema node, in kube-openapi's words as apiextensions reports them:
/// `spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"`.
extension CustomResourceSchema {
    static func validate(_ node: Node, _ value: Any, old: Any? = nil, path: String, into found: inout [FieldError]) {
        let field = path.isEmpty ? "<root>" : path
        if value is NSNull {
            if !node.nullable && !node.preserveUnknown && node.type != nil {
                found.append(FieldError(.invalid, field: field, value: "\"null\"", detail: "\(field) in body must be of type \(node.type!): \"null\""))
            }
            return
        }
        if node.intOrString {
            guard isInteger(value) || value is String else {
                found.append(FieldError(.invalid, field: field, value: quoted(typeName(value)),
                                        detail: "\(field) in body must be of type integer,string: \(quoted(typeName(value)))"))
                return
            }
        } else if let type = node.type, !matches(type, value) {
            found.append(FieldError(.invalid, field: field, value: quoted(typeName(value)), detail: "\(field) in body must be of type \(type): \(quoted(typeName(value)))"))
            return
        }
        // Rules see values of the schema's type; the other checks go on beside them.
        evaluateRules(node, value, old: old is NSNull ? nil : old, path: path, into: &found)
        if let allowed = node.enumeration, !allowed.contains(where: { equal($0, value) }) {
            found.append(FieldError(.unsupported, field: field, value: render(value),
                                    detail: "supported values: " + allowed.map { quoted(jsonText($0)) }.joined(separator: ", ")))
        }
        switch value {
        case let text as String: checkString(node, text, field: field, into: &found)
        case let list as [Any]:
            if let max = node.maxItems, list.count > max {
                found.append(FieldError(.tooMany, field: field, value: String(list.count), detail: "must have at most \(max) \(max == 1 ? "item" : "items")"))
            }
            if let min = node.minItems, list.count < min {
                found.append(FieldError(.invalid, field: field, value: String(list.count), detail: "\(field) in body should have at least \(min) items"))
            }
            if let items = node.items {
                for (index, item) in list.enumerated() { validate(items, item, path: "\(path)[\(index)]", into: &found) }
            }
        case let map as [String: Any]:
            // An embedded object (a pod template in a custom resource, say) says what it is.
            if node.embedded {
                for name in ["apiVersion", "kind"] where ((map[name] as? String) ?? "").isEmpty {
                    found.append(.required(child(path, name), "must not be empty for embedded resources"))
                }
            }
            // The API's own root fields are checked as every kind's are, not by the schema.
            for name in node.required where map[name] == nil && !(path.isEmpty && apiFields.contains(name)) {
                found.append(.required(child(path, name)))
            }
            for key in map.keys.sorted() {
                let previous = (old as? [String: Any])?[key]
                if let known = node.properties[key] {
                    validate(known, map[key]!, old: previous, path: child(path, key), into: &found)
                } else if let extra = node.additionalProperties {
                    validate(extra, map[key]!, old: previous, path: child(path, key), into: &found)
                }
            }
        default:
            if let number = asDouble(value) { checkNumber(node, number, value, field: field, into: &found) }
        }
    }

    static func checkString(_ node: Node, _ text: String, field: String, into found: inout [FieldError]) {
        if let max = node.maxLength, text.count > max {
            found.append(FieldError(.tooLong, field: field, detail: "may not be more than \(max) \(max == 1 ? "byte" : "bytes")"))
        }
        if let min = node.minLength, text.count < min {
            found.append(FieldError(.invalid, field: field, value: quoted(text), detail: "\(field) in body should be at least \(min) chars long"))
        }
        if let pattern = node.pattern, let regex = try? NSRegularExpression(pattern: pattern),
           regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) == nil {
            found.append(FieldError(.invalid, field: field, value: quoted(text), detail: "\(field) in body should match '\(pattern)'"))
        }
        if let format = node.format, StringFormat.matches(text, format: format) == false {
            found.append(FieldError(.invalid, field: field, value: quoted(text), detail: "\(field) in body must be of type \(format): \(quoted(text))"))
        }
    }

    static func checkNumber(_ node: Node, _ number: Double, _ value: Any, field: String, into found: inout [FieldError]) {
        if let max = node.maximum, node.exclusiveMaximum ? number >= max : number > max {
            found.append(FieldError(.invalid, field: field, value: render(value),
                                    detail: "\(field) in body should be less than \(node.exclusiveMaximum ? "" : "or equal to ")\(format(max))"))
        }
        if let min = node.minimum, node.exclusiveMinimum ? number <= min : number < min {
            found.append(FieldError(.invalid, field: field, value: render(value),
                                    detail: "\(field) in body should be greater than \(node.exclusiveMinimum ? "" : "or equal to ")\(format(min))"))
        }
    }

    static func child(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// Numbers and bools in these trees are NSNumbers (JSONSerialization's, and `foundation`'s defaults), told
    /// apart by `JSONNumber`.
    static func number(_ value: Any) -> JSONNumber? {
        guard !(value is String), let number = value as? NSNumber else { return nil }
        return JSONNumber(number)
    }

    static func isBool(_ value: Any) -> Bool { if case .bool? = number(value) { true } else { false } }

    static func isInteger(_ value: Any) -> Bool {
        switch number(value) {
        case .int?: true
        case .double(let d)?: d.rounded() == d
        default: false
        }
    }

    static func asDouble(_ value: Any) -> Double? {
        switch number(value) {
        case .int(let i)?: Double(i)
        case .double(let d)?: d
        default: nil
        }
    }

    static func matches(_ type: String, _ value: Any) -> Bool {
        switch type {
        case "object": value is [String: Any]
        case "array": value is [Any]
        case "string": value is String
        case "boolean": isBool(value)
        case "integer": isInteger(value)
        case "number": asDouble(value) != nil
        default: true
        }
    }

    /// The JSON type of a value, as the message names it.
    static func typeName(_ value: Any) -> String {
        if isBool(value) { return "boolean" }
        switch value {
        case is String: return "string"
        case is [Any]: return "array"
        case is [String: Any]: return "object"
        case is NSNull: return "null"
        default: return isInteger(value) ? "integer" : "number"
        }
    }

    static func quoted(_ text: String) -> String { "\"" + text + "\"" }

    /// A value as Go's `%v` or `%q` shows it in a field error.
    static func render(_ value: Any) -> String {
        if let text = value as? String { return quoted(text) }
        if isBool(value) { return (value as! NSNumber).boolValue ? "true" : "false" }
        if let number = asDouble(value) { return format(number) }
        return (try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed])).map { String(decoding: $0, as: UTF8.self) } ?? "\(value)"
    }

    static func format(_ number: Double) -> String {
        number.rounded() == number && abs(number) < 1e15 ? String(Int64(number)) : String(number)
    }

    static func jsonText(_ value: JSONValue) -> String {
        switch value {
        case .string(let s): s
        case .int(let i): String(i)
        case .double(let d): format(d)
        case .bool(let b): b ? "true" : "false"
        case .null: "null"
        default: (try? String(decoding: KubeJSON.encoder.encode(value), as: UTF8.self)) ?? ""
        }
    }

    static func equal(_ allowed: JSONValue, _ value: Any) -> Bool {
        switch allowed {
        case .string(let s): (value as? String) == s
        case .int(let i): !isBool(value) && asDouble(value) == Double(i)
        case .double(let d): !isBool(value) && asDouble(value) == d
        case .bool(let b): isBool(value) && (value as! NSNumber).boolValue == b
        case .null: value is NSNull
        default: jsonText(allowed) == render(value)
        }
    }
}
