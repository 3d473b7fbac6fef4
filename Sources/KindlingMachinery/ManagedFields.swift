import Foundation
import KindlingAPI

/// `metadata.managedFields`: who set which field of an object, and server-side apply on top of it, as
/// kube-apiserver's structured-merge-diff keeps them, as pure functions of JSON trees.
///
/// A field is named by a path of steps as `fieldsV1` spells them: `f:spec` a field, `k:{"port":80,"protocol":"TCP"}`
/// the element of a list keyed by those fields, `v:"x"` an element of a set, `.` the keyed element itself.
/// Owned are leaves: scalars, atomic lists and maps, empty maps and lists. Every write through the API names its
/// writer (`fieldManager`, else the client's User-Agent up to its `/`); an update gives the writer the fields it
/// changed, taking them from whoever had them. An apply sends the fields its manager wants: values another
/// manager owns and the apply would change are conflicts (unless forced, which takes them), and fields the
/// manager applied before and no longer does are removed unless someone else owns them.
public enum ManagedFields {
    public typealias Path = [String]

    /// Who writes: `kubectl-client-side-apply`, `kubectl-scale` on `scale`, an agent on `status`.
    public struct Writer: Equatable, Sendable {
        public var manager: String
        public var subresource: String?

        public init(manager: String, subresource: String? = nil) {
            self.manager = manager
            self.subresource = subresource
        }

        /// Kubernetes' default manager: the User-Agent up to its first `/` (`kubectl/v1.37.1 (linux/amd64) ...`).
        public static func manager(fieldManager: String?, userAgent: String?) -> String {
            if let fieldManager, !fieldManager.isEmpty { return fieldManager }
            let agent = userAgent?.split(separator: "/").first.map(String.init) ?? ""
            return String((agent.isEmpty ? "unknown" : agent).prefix(128))
        }
    }

    /// How a list is merged and owned: whole (atomic), as a set of scalars, or by key fields per element.
    enum ListType: Equatable { case atomic, set, map([String]) }

    static func listType(kind: String, path: [String]) -> ListType {
        let inner = (PodTemplatePath.inside(kind: kind, path: path) ?? path).joined(separator: ".")
        // Ports are keyed by number and protocol for apply (patchMergeKey names only the number).
        if inner == "spec.ports" { return .map(["port", "protocol"]) }
        if inner.hasSuffix("containers.ports") || inner == "spec.initContainers.ports" { return .map(["containerPort", "protocol"]) }
        guard let rule = Patch.listRule(kind: kind, path: path) else { return .atomic }
        return rule.key.map { .map([$0]) } ?? .set
    }

    /// Label selectors (of workloads) and a Service's selector are owned whole.
    static func isAtomicMap(kind: String, path: [String]) -> Bool { path == ["spec", "selector"] }

    /// Metadata the server keeps, never owned.
    static let serverFields: Set<String> = ["name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp",
                                            "deletionTimestamp", "deletionGracePeriodSeconds", "managedFields", "selfLink", "generateName"]

    // MARK: Owned fields of a tree

    /// Every owned path of `object` with its value (the object's main part, or only its status).
    static func leaves(_ object: [String: Any], kind: String, status: Bool) -> [Path: Any] {
        var result: [Path: Any] = [:]
        for (field, value) in object {
            switch field {
            case "apiVersion", "kind": continue
            case "status" where !status: continue
            case _ where status && field != "status": continue
            case "metadata":
                guard let metadata = value as? [String: Any] else { continue }
                for (key, inner) in metadata where !serverFields.contains(key) {
                    collect(inner, kind: kind, names: ["metadata", key], path: ["f:metadata", "f:" + key], into: &result)
                }
            default:
                collect(value, kind: kind, names: [field], path: ["f:" + field], into: &result)
            }
        }
        return result
    }

    static let elementItself = "\u{0}element"

    static func collect(_ value: Any, kind: String, names: [String], path: Path, into result: inout [Path: Any]) {
        if let map = value as? [String: Any], !map.isEmpty, !isAtomicMap(kind: kind, path: names) {
            for (key, inner) in map { collect(inner, kind: kind, names: names + [key], path: path + ["f:" + key], into: &result) }
        } else if let list = value as? [Any], !list.isEmpty, case let type = listType(kind: kind, path: names), type != .atomic {
            for item in list {
                if case .map(let keys) = type, let element = item as? [String: Any] {
                    let step = path + ["k:" + key(of: element, keys)]
                    result[step + ["."]] = elementItself
                    for (field, inner) in element { collect(inner, kind: kind, names: names + [field], path: step + ["f:" + field], into: &result) }
                } else {
                    result[path + ["v:" + canonical(item)]] = item
                }
            }
        } else {
            result[path] = value
        }
    }

    /// The key fields of a list element as `k:` spells them (sorted JSON); a port's protocol defaults to TCP.
    static func key(of element: [String: Any], _ keys: [String]) -> String {
        var fields: [String: Any] = [:]
        for key in keys { fields[key] = element[key] ?? (key == "protocol" ? "TCP" : nil) }
        return canonical(fields)
    }

    static func canonical(_ value: Any) -> String {
        let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed, .withoutEscapingSlashes])
        return data.map { String(decoding: $0, as: UTF8.self) } ?? "\(value)"
    }

    static func same(_ a: Any?, _ b: Any?) -> Bool {
        switch (a, b) {
        case (nil, nil): return true
        case (let a?, let b?): return canonical(a) == canonical(b)
        default: return false
        }
    }

    // MARK: fieldsV1

    /// Paths as the nested `fieldsV1` object: `{"f:spec":{"f:replicas":{}}}`.
    public static func fieldsV1(_ paths: Set<Path>) -> JSONValue {
        var root: [String: Any] = [:]
        for path in paths { insert(path[...], into: &root) }
        func convert(_ node: [String: Any]) -> JSONValue { .object(node.mapValues { convert($0 as? [String: Any] ?? [:]) }) }
        return convert(root)
    }

    static func insert(_ path: ArraySlice<String>, into node: inout [String: Any]) {
        guard let first = path.first else { return }
        var child = node[first] as? [String: Any] ?? [:]
        insert(path.dropFirst(), into: &child)
        node[first] = child
    }

    /// The paths of a `fieldsV1` object.
    public static func paths(_ fields: JSONValue?) -> Set<Path> {
        var result: Set<Path> = []
        func walk(_ node: JSONValue, _ path: Path) {
            guard case .object(let children) = node else { return }
            for (step, child) in children {
                if case .object(let grand) = child, !grand.isEmpty { walk(child, path + [step]) } else { result.insert(path + [step]) }
            }
        }
        if let fields { walk(fields, []) }
        return result
    }

    /// A path as conflicts name it: `.spec.containers[name="nginx"].image`, `.spec.ports[port=80,protocol="TCP"]`.
    public static func display(_ path: Path) -> String {
        var text = ""
        for step in path where step != "." {
            let body = String(step.dropFirst(2))
            switch step.prefix(2) {
            case "f:": text += "." + body
            case "v:": text += "[=" + body + "]"
            case "k:":
                let object = (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:]
                text += "[" + object.keys.sorted().map { "\($0)=\(canonical(object[$0]!))" }.joined(separator: ",") + "]"
            default: text += step
            }
        }
        return text
    }

    // MARK: Updates

    /// The entries after `writer` changed the object from `old` (nil: created it) to `new`: the writer's Update
    /// entry gains what it changed, and every entry loses what was changed or removed.
    public static func recordUpdate(old: [String: Any]?, new: [String: Any], entries: [ManagedFieldsEntry], writer: Writer,
                                    kind: String, apiVersion: String, now: String) -> [ManagedFieldsEntry] {
        let status = writer.subresource == "status"
        let before = old.map { leaves($0, kind: kind, status: status) } ?? [:]
        let after = leaves(new, kind: kind, status: status)
        let changed = Set(after.filter { !same($0.value, before[$0.key]) }.keys)
        let removed = Set(before.keys).subtracting(after.keys)
        guard !changed.isEmpty || !removed.isEmpty else { return entries }
        var result: [ManagedFieldsEntry] = []
        var mine = Set<Path>()
        for entry in entries {
            let kept = paths(entry.fieldsV1).subtracting(changed).subtracting(removed)
            if entry.manager == writer.manager && entry.operation == "Update" && entry.subresource == writer.subresource {
                mine = kept
                continue
            }
            if kept.isEmpty { continue }
            var updated = entry
            updated.fieldsV1 = fieldsV1(kept)
            result.append(updated)
        }
        mine.formUnion(changed)
        result.append(ManagedFieldsEntry(manager: writer.manager, operation: "Update", apiVersion: apiVersion, time: now,
                                         fieldsV1: fieldsV1(mine), subresource: writer.subresource))
        return result
    }

    // MARK: Apply

    /// One field another manager owns with a different value than an apply sets.
    public struct Conflict: Equatable, Sendable {
        public var manager: String
        public var path: Path
    }

    /// kube-apiserver's 409 for conflicting applies: `Apply failed with 1 conflict: conflict with "kubectl-scale"
    /// with subresource "scale" using apps/v1: .spec.replicas`, one cause per field.
    public static func conflictStatus(_ conflicts: [Conflict], kind: String, group: String, name: String) -> Status {
        let message: String
        if conflicts.count == 1 {
            message = "conflict with \(conflicts[0].manager): \(display(conflicts[0].path))"
        } else {
            let managers = Array(Set(conflicts.map(\.manager))).sorted()
            message = managers.map { manager in
                (["conflicts with \(manager):"] + conflicts.filter { $0.manager == manager }.map { "- \(display($0.path))" }).joined(separator: "\n")
            }.joined(separator: "\n")
        }
        var status = Status(code: 409, reason: "Conflict",
                            message: "Apply failed with \(conflicts.count) conflict\(conflicts.count == 1 ? "" : "s"): \(message)")
        status.details = Status.Details(name: name, group: group, kind: kind.lowercased() + "s",
                                        causes: conflicts.map { .init(reason: "FieldManagerConflict", message: "conflict with \($0.manager)", field: display($0.path)) })
        return status
    }

    /// How a conflict names an entry's manager, as kube-apiserver prints it.
    static func describe(_ entry: ManagedFieldsEntry) -> String {
        var text = "\"\(entry.manager)\""
        if let subresource = entry.subresource, !subresource.isEmpty { text += " with subresource \"\(subresource)\"" }
        if entry.operation == "Update" { text += " using \(entry.apiVersion ?? "")" }
        return text
    }

    /// `config` applied by `manager` onto `live`: the merged object and the entries after it. Throws the
    /// conflicts unless `force`.
    public static func apply(_ config: [String: Any], onto live: [String: Any], entries: [ManagedFieldsEntry], manager: String,
                             force: Bool, kind: String, apiVersion: String, now: String) throws -> (object: [String: Any], entries: [ManagedFieldsEntry]) {
        var config = config
        config["status"] = nil
        let applied = leaves(config, kind: kind, status: false)
        let current = leaves(live, kind: kind, status: false)
        let isMine = { (entry: ManagedFieldsEntry) in entry.manager == manager && entry.operation == "Apply" && (entry.subresource ?? "").isEmpty }
        let previous = entries.first(where: isMine).map { paths($0.fieldsV1) } ?? []
        var others = entries.filter { !isMine($0) }.map { (entry: $0, paths: paths($0.fieldsV1)) }

        var conflicts: [(index: Int, path: Path)] = []
        for (path, value) in applied where path.last != "." && !same(current[path], value) {
            for (index, other) in others.enumerated() where other.paths.contains(path) { conflicts.append((index, path)) }
        }
        // kubectl's first server-side apply of what it applied client-side takes over those fields, as in
        // kube-apiserver: when they still hold what the last-applied annotation says.
        let upgrade = manager == "kubectl" && !conflicts.isEmpty
            && Set(conflicts.map(\.path)).isSubset(of: clientSideApplied(live, kind: kind, current: current))
        if !conflicts.isEmpty {
            guard force || upgrade else {
                throw conflictStatus(conflicts.map { Conflict(manager: describe(others[$0.index].entry), path: $0.path) }
                                        .sorted { ($0.manager, display($0.path)) < ($1.manager, display($1.path)) },
                                     kind: kind, group: "", name: (live["metadata"] as? [String: Any])?["name"] as? String ?? "")
            }
            for conflict in conflicts { others[conflict.index].paths.remove(conflict.path) }
        }

        var object = merge(live, config, kind: kind, names: []) as? [String: Any] ?? live
        let ownedByOthers = others.reduce(into: Set<Path>()) { $0.formUnion($1.paths) }
        // What this manager applied before and no longer does goes, unless someone else has it; deepest first.
        // A path that is now the parent of applied fields (`resources: {}` applied before, `resources: {limits: ...}`
        // now) stays too.
        let appliedParents = Set(applied.keys.flatMap { path in (1..<path.count).map { Array(path.prefix($0)) } })
        for path in previous.subtracting(applied.keys).subtracting(appliedParents).sorted(by: { $0.count > $1.count })
        where !ownedByOthers.contains(path) {
            if path.last == "." {
                let element = Array(path.dropLast())
                if ownedByOthers.contains(where: { $0.starts(with: element) }) { continue }
                object = removing(element[...], from: object) as? [String: Any] ?? object
            } else {
                object = removing(path[...], from: object) as? [String: Any] ?? object
            }
        }

        var result = others.compactMap { other -> ManagedFieldsEntry? in
            guard !other.paths.isEmpty else { return nil }
            var entry = other.entry
            entry.fieldsV1 = fieldsV1(other.paths)
            return entry
        }
        result.append(ManagedFieldsEntry(manager: manager, operation: "Apply", apiVersion: apiVersion, time: now,
                                         fieldsV1: fieldsV1(Set(applied.keys)), subresource: nil))
        return (object, result)
    }

    /// The fields of `live`'s last-applied-configuration annotation that still hold its values.
    static func clientSideApplied(_ live: [String: Any], kind: String, current: [Path: Any]) -> Set<Path> {
        guard let text = ((live["metadata"] as? [String: Any])?["annotations"] as? [String: Any])?["kubectl.kubernetes.io/last-applied-configuration"] as? String,
              let lastApplied = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] else { return [] }
        return Set(leaves(lastApplied, kind: kind, status: false).filter { same(current[$0.key], $0.value) }.keys)
    }

    /// `config` merged onto `live`: maps field by field, keyed lists element by element, sets by union, the rest replaced.
    static func merge(_ live: Any?, _ config: Any, kind: String, names: [String]) -> Any {
        if let config = config as? [String: Any], let live = live as? [String: Any], !isAtomicMap(kind: kind, path: names) {
            var result = live
            for (key, value) in config { result[key] = merge(live[key], value, kind: kind, names: names + [key]) }
            return result
        }
        if let config = config as? [Any], let live = live as? [Any] {
            switch listType(kind: kind, path: names) {
            case .atomic: return config
            case .set:
                let present = Set(live.map(canonical))
                return live + config.filter { !present.contains(canonical($0)) }
            case .map(let keys):
                var result = live
                for item in config {
                    guard let element = item as? [String: Any] else { continue }
                    let identity = key(of: element, keys)
                    if let index = result.firstIndex(where: { ($0 as? [String: Any]).map { key(of: $0, keys) } == identity }) {
                        result[index] = merge(result[index], element, kind: kind, names: names)
                    } else {
                        result.append(element)
                    }
                }
                return result
            }
        }
        return config
    }

    /// `value` without what `path` names (a field, a keyed element, a set's element).
    static func removing(_ path: ArraySlice<String>, from value: Any) -> Any {
        guard let step = path.first else { return value }
        let rest = path.dropFirst()
        let body = String(step.dropFirst(2))
        if step.hasPrefix("f:"), var map = value as? [String: Any], let child = map[body] {
            map[body] = rest.isEmpty ? nil : removing(rest, from: child)
            return map
        }
        if var list = value as? [Any] {
            let index: Int?
            if step.hasPrefix("v:") {
                index = list.firstIndex { canonical($0) == body }
            } else if step.hasPrefix("k:"), let keys = (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] {
                index = list.firstIndex { ($0 as? [String: Any]).map { key(of: $0, Array(keys.keys)) } == body }
            } else {
                index = nil
            }
            guard let index else { return value }
            if rest.isEmpty { list.remove(at: index) } else { list[index] = removing(rest, from: list[index]) }
            return list
        }
        return value
    }
}
