import Foundation
import Yams

/// One object of a manifest file: what it is, and its JSON for the API.
public struct ManifestObject: Sendable {
    public let apiVersion: String
    public let kind: String
    public let name: String
    public let namespace: String?
    public let json: Data
    /// 0-based position of the document in its file, for error messages.
    public let index: Int

    /// The served kind, or nil when kindling does not serve it.
    public var type: (any KubeObject.Type)? { Kinds.byKind(kind, apiVersion: apiVersion) }
}

public struct ManifestError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

public enum Manifest {
    /// Splits multi-document YAML (or JSON) into objects; empty documents are skipped, `kind: List` is unrolled.
    /// Timestamps stay strings (as in Kubernetes' YAML to JSON conversion).
    public static func parse(_ text: String, source: String) throws -> [ManifestObject] {
        var resolver = Resolver.default
        resolver = resolver.removing(.timestamp)
        var documents: [Any?] = []
        do {
            let parser = try Parser(yaml: text, resolver: resolver)
            while let node = try parser.nextRoot() { documents.append(node.any) }
        } catch {
            throw ManifestError("error parsing \(source): error converting YAML to JSON: \(error)")
        }
        var objects: [ManifestObject] = []
        for (index, document) in documents.enumerated() {
            guard let document, !(document is NSNull) else { continue }
            guard let map = document as? [String: Any] else {
                throw ManifestError("error validating \(source): document \(index + 1) is not an object")
            }
            if map["kind"] as? String == "List", let items = map["items"] as? [Any] {
                for item in items {
                    guard let itemMap = item as? [String: Any] else { continue }
                    objects.append(try object(itemMap, index: index, source: source))
                }
            } else {
                objects.append(try object(map, index: index, source: source))
            }
        }
        return objects
    }

    static func object(_ map: [String: Any], index: Int, source: String) throws -> ManifestObject {
        guard let apiVersion = map["apiVersion"] as? String, !apiVersion.isEmpty else {
            throw ManifestError("error validating data: apiVersion not set (document \(index + 1) of \(source))")
        }
        guard let kind = map["kind"] as? String, !kind.isEmpty else {
            throw ManifestError("error validating data: kind not set (document \(index + 1) of \(source))")
        }
        let metadata = map["metadata"] as? [String: Any] ?? [:]
        let json: Data
        do {
            json = try JSONSerialization.data(withJSONObject: jsonSafe(map))
        } catch {
            throw ManifestError("error converting YAML to JSON in \(source): \(error)")
        }
        return ManifestObject(apiVersion: apiVersion, kind: kind, name: metadata["name"] as? String ?? "",
                              namespace: metadata["namespace"] as? String, json: json, index: index)
    }

    /// YAML may carry values JSON cannot (binary data, non-string keys); convert what can be, as strings.
    static func jsonSafe(_ value: Any) -> Any {
        switch value {
        case let map as [String: Any]: return map.mapValues(jsonSafe)
        case let map as [AnyHashable: Any]:
            return Dictionary(map.map { ("\($0.key)", jsonSafe($0.value)) }, uniquingKeysWith: { a, _ in a })
        case let list as [Any]: return list.map(jsonSafe)
        case is String, is Int, is Double, is Bool, is NSNull: return value
        case let data as Data: return data.base64EncodedString()
        default: return "\(value)"
        }
    }
}
