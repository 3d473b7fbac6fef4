import Foundation
import KindlingAPI

/// The `components.schemas` of a group version's document: each kind's schema as its definition gives it,
/// completed as apiextensions completes a CRD's (apiVersion, kind, metadata by reference, the kind's
/// `x-kubernetes-group-version-kind`), its list's, and the object metadata they refer to.
extension OpenAPI {
    static let objectMetaName = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
    static let listMetaName = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta"

    static func schemas(_ kinds: [any KindStrategy]) -> [String: Any] {
        var schemas: [String: Any] = [:]
        for kind in kinds {
            let served = kind.served, listKind = served.kind + "List"
            let tree: [String: Any]
            if let schema = kind.openAPISchema, let defined = try? KubeJSON.tree(schema) {
                tree = defined
            } else if let type = Kinds.byKind(served.kind, apiVersion: served.apiVersion) {
                tree = builtinSchema(type)
            } else {
                continue
            }
            let name = schemaName(served, kind: served.kind)
            schemas[name] = objectSchema(tree, served)
            if served.verbs.contains("list") { schemas[schemaName(served, kind: listKind)] = listSchema(served, listKind, items: name) }
        }
        if !schemas.isEmpty {
            schemas[objectMetaName] = objectMeta
            schemas[listMetaName] = listMeta
        }
        return schemas
    }

    /// `com.example.stable.v1.CronTab`: the group reversed, the version, the kind, as apiextensions names them;
    /// built-in kinds by their Go package, as kube-openapi names them (`io.k8s.api.core.v1.Pod`).
    static func schemaName(_ served: ServedKind, kind: String) -> String {
        if let package = builtinPackages[served.group], Kinds.byKind(served.kind, apiVersion: served.apiVersion) != nil {
            return "\(package).\(served.version).\(kind)"
        }
        return (served.group.split(separator: ".").reversed().map(String.init) + [served.version, kind]).joined(separator: ".")
    }

    static func groupVersionKind(_ served: ServedKind, kind: String) -> [[String: String]] {
        [["group": served.group, "version": served.version, "kind": kind]]
    }

    static func reference(_ name: String, _ description: String) -> [String: Any] {
        ["allOf": [["$ref": "#/components/schemas/\(name)"]], "description": description]
    }

    static var apiVersionField: [String: Any] { ["type": "string", "description":
        "The version of the schema this object follows: the server converts objects to the latest version it knows and may refuse unknown ones."] }
    static var kindField: [String: Any] { ["type": "string", "description":
        "The kind of REST resource this object is, in CamelCase; the server infers it from the endpoint a client writes to. Cannot be updated."] }

    static func objectSchema(_ tree: [String: Any], _ served: ServedKind) -> [String: Any] {
        var schema = tree
        var properties = tree["properties"] as? [String: Any] ?? [:]
        properties["apiVersion"] = apiVersionField
        properties["kind"] = kindField
        properties["metadata"] = reference(objectMetaName, "Standard object's metadata.")
        schema["properties"] = properties
        if schema["description"] == nil, let description = kindDescriptions[served.kind] { schema["description"] = description }
        schema["type"] = "object"
        schema["x-kubernetes-group-version-kind"] = groupVersionKind(served, kind: served.kind)
        return schema
    }

    static func listSchema(_ served: ServedKind, _ listKind: String, items: String) -> [String: Any] {
        ["type": "object", "required": ["items"], "description": "\(listKind) is a list of \(served.kind)",
         "properties": ["apiVersion": apiVersionField, "kind": kindField,
                        "items": ["type": "array", "description": "List of \(served.resource).",
                                  "items": ["$ref": "#/components/schemas/\(items)"]],
                        "metadata": reference(listMetaName, "Standard list metadata.")],
         "x-kubernetes-group-version-kind": groupVersionKind(served, kind: listKind)]
    }

    static func field(_ type: String, _ description: String, format: String? = nil) -> [String: Any] {
        var field: [String: Any] = ["type": type, "description": description]
        if let format { field["format"] = format }
        return field
    }

    static var objectMeta: [String: Any] { [
        "type": "object",
        "description": "The metadata every persisted object has, including those users create.",
        "properties": [
            "name": field("string", "The object's name, unique within its namespace (or the cluster, for cluster-scoped kinds). Cannot be updated."),
            "generateName": field("string", "A prefix from which the server makes a unique name when name is empty."),
            "namespace": field("string", "The namespace the object lives in; empty for cluster-scoped kinds. Cannot be updated."),
            "uid": field("string", "The server's unique identifier for this object, never reused. Read-only."),
            "resourceVersion": field("string", "An opaque value that changes with every write, for optimistic concurrency and watches. Read-only."),
            "generation": field("integer", "A sequence number of changes to the desired state. Read-only.", format: "int64"),
            "creationTimestamp": field("string", "When the server created the object (RFC 3339, UTC). Read-only.", format: "date-time"),
            "deletionTimestamp": field("string", "When the object will be deleted, set when deletion is requested. Read-only.", format: "date-time"),
            "deletionGracePeriodSeconds": field("integer", "Seconds the object is given to terminate gracefully. Read-only.", format: "int64"),
            "labels": ["type": "object", "additionalProperties": field("string", ""),
                       "description": "Keys and values for organizing and selecting objects (label selectors)."],
            "annotations": ["type": "object", "additionalProperties": field("string", ""),
                            "description": "Keys and values tools store on the object; not used for selection."],
            "finalizers": ["type": "array", "items": field("string", ""),
                           "description": "Names that must each be removed before the object, once marked for deletion, goes."],
            "ownerReferences": ["type": "array", "items": ["type": "object"],
                                "description": "The objects this one depends on; deleting all of them deletes it (garbage collection)."],
            "managedFields": ["type": "array", "items": ["type": "object"],
                              "description": "Which field manager set which fields, for server-side apply."],
        ] as [String: Any],
    ] }

    static var listMeta: [String: Any] { [
        "type": "object",
        "description": "The metadata of a list.",
        "properties": [
            "resourceVersion": field("string", "The revision the list was read at, from which a watch can start. Read-only."),
            "continue": field("string", "A token for the next page of a limited list, empty on the last page."),
            "remainingItemCount": field("integer", "How many items follow this page, when the server knows.", format: "int64"),
        ],
    ] }
}
