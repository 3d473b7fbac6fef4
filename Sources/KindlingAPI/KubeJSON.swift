import Foundation

/// The one JSON codec for API objects, shared by the server, the client and the CLI, and the JSON-tree
/// operations they need (merge patches, field-by-field comparisons).
public enum KubeJSON {
    /// Sorted keys: deterministic output, and apiVersion, kind, metadata, spec, status come out in that order.
    public static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        return encoder
    }()
    public static let decoder = JSONDecoder()

    /// A value as a JSON object tree (dictionaries, arrays, scalars).
    public static func tree<T: Encodable>(_ value: T) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: encoder.encode(value)) as? [String: Any] ?? [:]
    }

    /// A value read back from a JSON object tree.
    public static func value<T: Decodable>(_ type: T.Type, from tree: [String: Any]) throws -> T {
        try decoder.decode(T.self, from: JSONSerialization.data(withJSONObject: tree))
    }

    /// RFC 7386 JSON merge patch: maps merge recursively, null deletes, anything else replaces.
    public static func mergePatch(_ patch: Any, onto target: Any?) -> Any {
        guard let patch = patch as? [String: Any] else { return patch }
        var result = target as? [String: Any] ?? [:]
        for (key, value) in patch {
            result[key] = value is NSNull ? nil : mergePatch(value, onto: result[key])
        }
        return result
    }
}

/// A number as JSONSerialization read it: a bool, an integer or a float, which only its objCType tells apart
/// (`as? Bool` and `as? Int` both succeed on any of them).
public enum JSONNumber {
    case bool(Bool), int(Int64), double(Double)

    public init(_ number: NSNumber) {
        switch String(cString: number.objCType) {
        case "c": self = .bool(number.boolValue)
        case "f", "d": self = .double(number.doubleValue)
        default: self = .int(number.int64Value)
        }
    }
}

extension DecodingError {
    /// What is wrong, named by its field path as Kubernetes names fields: `spec.containers[0].ports: expected Array`.
    public var fieldDescription: String {
        func path(_ keys: [CodingKey]) -> String {
            var text = ""
            for key in keys {
                if let index = key.intValue { text += "[\(index)]" } else { text += (text.isEmpty ? "" : ".") + key.stringValue }
            }
            return text.isEmpty ? "<root>" : text
        }
        switch self {
        case .typeMismatch(let type, let context), .valueNotFound(let type, let context):
            return "\(path(context.codingPath)): expected \(type)"
        case .keyNotFound(let key, let context):
            return "\(path(context.codingPath + [key])): Required value"
        case .dataCorrupted(let context) where context.codingPath.isEmpty:
            return context.debugDescription
        case .dataCorrupted(let context):
            return "\(path(context.codingPath)): \(context.debugDescription)"
        @unknown default:
            return "\(self)"
        }
    }
}
