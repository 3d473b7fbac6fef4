import Foundation
import KindlingAPI

/// The three patch formats of `PATCH` (and `kubectl patch --type`), as pure functions of JSON trees: JSON merge
/// patch (RFC 7386), JSON patch (RFC 6902) and Kubernetes' strategic merge patch, whose lists merge by a key
/// per field (containers by name, ports by port) and whose `$patch`, `$retainKeys`, `$setElementOrder` and
/// `$deleteFromPrimitiveList` directives kubectl apply sends.
public enum Patch {
    public struct Failure: Error, Equatable, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    // MARK: Strategic merge patch

    /// How a list field merges: by the value of `key` in its maps, or as a set of scalars (`key` nil).
    public struct ListRule: Equatable, Sendable {
        public let key: String?
    }

    /// The merge rules of the lists of `kind` at `path` (field names, no indices), from the patchStrategy and
    /// patchMergeKey tags of Kubernetes' types. Lists without a rule are replaced whole (atomic).
    public static func listRule(kind: String, path: [String]) -> ListRule? {
        listRules[(PodTemplatePath.inside(kind: kind, path: path) ?? path).joined(separator: ".")]
    }

    static let listRules: [String: ListRule] = [
        "metadata.ownerReferences": ListRule(key: "uid"), "metadata.finalizers": ListRule(key: nil),
        // Pods and pod templates.
        "spec.containers": ListRule(key: "name"), "spec.initContainers": ListRule(key: "name"),
        "spec.ephemeralContainers": ListRule(key: "name"), "spec.volumes": ListRule(key: "name"),
        "spec.imagePullSecrets": ListRule(key: "name"), "spec.hostAliases": ListRule(key: "ip"),
        "spec.schedulingGates": ListRule(key: "name"), "spec.resourceClaims": ListRule(key: "name"),
        "spec.topologySpreadConstraints": ListRule(key: "topologyKey"),
        "spec.containers.ports": ListRule(key: "containerPort"), "spec.initContainers.ports": ListRule(key: "containerPort"),
        "spec.containers.env": ListRule(key: "name"), "spec.initContainers.env": ListRule(key: "name"),
        "spec.containers.volumeMounts": ListRule(key: "mountPath"), "spec.initContainers.volumeMounts": ListRule(key: "mountPath"),
        "spec.containers.volumeDevices": ListRule(key: "devicePath"),
        "status.conditions": ListRule(key: "type"),
        // Services (ports by port; also `spec.ports` of nothing else served) and nodes.
        "spec.ports": ListRule(key: "port"), "spec.podCIDRs": ListRule(key: nil), "status.addresses": ListRule(key: "type"),
    ]

    /// `patch` applied to `original` the strategic way for `kind`.
    public static func strategicMerge(_ patch: [String: Any], onto original: [String: Any], kind: String) throws -> [String: Any] {
        try mergeMap(patch, onto: original, kind: kind, path: [])
    }

    static func mergeMap(_ patch: [String: Any], onto original: [String: Any], kind: String, path: [String]) throws -> [String: Any] {
        if let directive = patch["$patch"] as? String {
            switch directive {
            case "replace": return patch.filter { !$0.key.hasPrefix("$") }
            case "delete": return [:]
            case "merge": break
            default: throw Failure("unknown patch type: \(directive) in map: \(patch)")
            }
        }
        var result = original
        for (key, value) in patch {
            if key.hasPrefix("$deleteFromPrimitiveList/") {
                let field = String(key.dropFirst("$deleteFromPrimitiveList/".count))
                let remove = (value as? [Any] ?? []).map(scalarKey)
                result[field] = (result[field] as? [Any] ?? []).filter { !remove.contains(scalarKey($0)) }
                continue
            }
            if key.hasPrefix("$") { continue }
            let fieldPath = path + [key]
            switch value {
            case is NSNull:
                result[key] = nil
            case let map as [String: Any] where map["$patch"] as? String == "delete":
                result[key] = nil
            case let map as [String: Any]:
                result[key] = try mergeMap(map, onto: result[key] as? [String: Any] ?? [:], kind: kind, path: fieldPath)
            case let list as [Any]:
                if let rule = listRule(kind: kind, path: fieldPath) {
                    result[key] = try mergeList(list, onto: result[key] as? [Any] ?? [], rule: rule, kind: kind, path: fieldPath)
                } else {
                    result[key] = list.map(stripDirectives)
                }
            default:
                result[key] = value
            }
        }
        // $setElementOrder/<field>: the merged list in the patch's order, items it does not name after them.
        for (key, value) in patch where key.hasPrefix("$setElementOrder/") {
            let field = String(key.dropFirst("$setElementOrder/".count))
            guard let merged = result[field] as? [Any], let order = value as? [Any],
                  let rule = listRule(kind: kind, path: path + [field]) else { continue }
            let identity: (Any) -> String = { item in
                if let key = rule.key { return scalarKey((item as? [String: Any])?[key] ?? NSNull()) }
                return scalarKey(item)
            }
            let ranks = Dictionary(order.enumerated().map { (identity($0.element), $0.offset) }, uniquingKeysWith: { a, _ in a })
            result[field] = merged.enumerated().sorted { a, b in
                (ranks[identity(a.element)] ?? order.count + a.offset, a.offset) < (ranks[identity(b.element)] ?? order.count + b.offset, b.offset)
            }.map(\.element)
        }
        // $retainKeys: only the listed fields stay.
        if let retain = patch["$retainKeys"] as? [Any] {
            let keep = Set(retain.compactMap { $0 as? String })
            result = result.filter { keep.contains($0.key) }
        }
        return result
    }

    static func mergeList(_ patch: [Any], onto original: [Any], rule: ListRule, kind: String, path: [String]) throws -> [Any] {
        // A `{"$patch": "replace"}` element: the list is the patch's other elements.
        if patch.contains(where: { ($0 as? [String: Any])?["$patch"] as? String == "replace" }) {
            return patch.filter { ($0 as? [String: Any])?["$patch"] == nil }.map(stripDirectives)
        }
        guard let key = rule.key else {
            // A set of scalars: the union, in order.
            var seen = Set(original.map(scalarKey))
            return original + patch.filter { seen.insert(scalarKey($0)).inserted }
        }
        var result = original
        for item in patch {
            guard let element = item as? [String: Any] else { throw Failure("expected a map in the list at \(path.joined(separator: "."))") }
            guard let value = element[key] else {
                throw Failure("map: \(element) does not contain declared merge key: \(key)")
            }
            let index = result.firstIndex { ($0 as? [String: Any]).map { scalarKey($0[key] ?? NSNull()) == scalarKey(value) } ?? false }
            if element["$patch"] as? String == "delete" {
                if let index { result.remove(at: index) }
                continue
            }
            if let index {
                result[index] = try mergeMap(element, onto: result[index] as? [String: Any] ?? [:], kind: kind, path: path)
            } else {
                result.append(try mergeMap(element, onto: [:], kind: kind, path: path))
            }
        }
        return result
    }

    /// A scalar as a comparable key (JSON numbers and strings kept apart).
    static func scalarKey(_ value: Any) -> String {
        switch value {
        case let string as String: "s:" + string
        case let number as NSNumber: "n:\(number)"
        default: "other:\(value)"
        }
    }

    static func stripDirectives(_ value: Any) -> Any {
        switch value {
        case let map as [String: Any]: map.filter { !$0.key.hasPrefix("$") }.mapValues(stripDirectives)
        case let list as [Any]: list.map(stripDirectives)
        default: value
        }
    }

    // MARK: JSON patch (RFC 6902)

    /// `operations` applied in order; any failing operation fails the whole patch.
    public static func jsonPatch(_ operations: [Any], onto document: Any) throws -> Any {
        var document = document
        for (index, raw) in operations.enumerated() {
            guard let operation = raw as? [String: Any], let op = operation["op"] as? String, let path = operation["path"] as? String else {
                throw Failure("the patch's operation \(index) needs an op and a path")
            }
            let pointer = try parsePointer(path)
            switch op {
            case "add": document = try set(document, pointer, try required(operation, "value"), insert: true)
            case "replace":
                _ = try get(document, pointer)
                document = try set(document, pointer, try required(operation, "value"), insert: false)
            case "remove": document = try remove(document, pointer)
            case "move", "copy":
                guard let from = operation["from"] as? String else { throw Failure("the \(op) operation \(index) needs a from") }
                let source = try parsePointer(from)
                let value = try get(document, source)
                if op == "move" { document = try remove(document, source) }
                document = try set(document, pointer, value, insert: true)
            case "test":
                let expected = try required(operation, "value")
                guard NSDictionary(dictionary: ["v": try get(document, pointer)]).isEqual(to: ["v": expected]) else {
                    throw Failure("testing value \(path) failed")
                }
            default: throw Failure("Unexpected kind: \(op)")
            }
        }
        return document
    }

    static func required(_ operation: [String: Any], _ key: String) throws -> Any {
        guard let value = operation[key] else { throw Failure("the \(operation["op"] ?? "") operation needs a \(key)") }
        return value
    }

    static func parsePointer(_ path: String) throws -> [String] {
        guard path.isEmpty || path.hasPrefix("/") else { throw Failure("JSON pointer must be empty or start with a \"/\": \(path)") }
        return path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map {
            $0.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
        }
    }

    static func get(_ document: Any, _ pointer: [String]) throws -> Any {
        guard let head = pointer.first else { return document }
        if let map = document as? [String: Any], let child = map[head] { return try get(child, Array(pointer.dropFirst())) }
        if let list = document as? [Any], let index = Int(head), list.indices.contains(index) { return try get(list[index], Array(pointer.dropFirst())) }
        throw Failure("doc is missing path: /\(pointer.joined(separator: "/"))")
    }

    static func set(_ document: Any, _ pointer: [String], _ value: Any, insert: Bool) throws -> Any {
        guard let head = pointer.first else { return value }
        let rest = Array(pointer.dropFirst())
        if var map = document as? [String: Any] {
            if rest.isEmpty { map[head] = value } else {
                guard let child = map[head] else { throw Failure("doc is missing path: /\(pointer.joined(separator: "/"))") }
                map[head] = try set(child, rest, value, insert: insert)
            }
            return map
        }
        if var list = document as? [Any] {
            if rest.isEmpty, insert {
                let index = head == "-" ? list.count : Int(head) ?? -1
                guard (0...list.count).contains(index) else { throw Failure("add operation does not apply: index \(head) out of bounds") }
                list.insert(value, at: index)
                return list
            }
            guard let index = Int(head), list.indices.contains(index) else { throw Failure("index \(head) out of bounds") }
            list[index] = rest.isEmpty ? value : try set(list[index], rest, value, insert: insert)
            return list
        }
        throw Failure("doc is missing path: /\(pointer.joined(separator: "/"))")
    }

    static func remove(_ document: Any, _ pointer: [String]) throws -> Any {
        guard let head = pointer.first else { throw Failure("cannot remove the whole document") }
        let rest = Array(pointer.dropFirst())
        if var map = document as? [String: Any], let child = map[head] {
            map[head] = rest.isEmpty ? nil : try remove(child, rest)
            return map
        }
        if var list = document as? [Any], let index = Int(head), list.indices.contains(index) {
            if rest.isEmpty { list.remove(at: index) } else { list[index] = try remove(list[index], rest) }
            return list
        }
        throw Failure("Unable to remove nonexistent key: \(head): missing value")
    }
}
