import Crypto
import Foundation
import KindlingAPI

/// `/openapi/v3`: the index of one document per group version, and those documents. kubectl reads them before
/// every apply: it validates on the server (`fieldValidation=Strict`) only when the PATCH operation of the
/// object's kind lists that parameter, and fails otherwise ("failed to download openapi"). The documents
/// describe every served path and operation with Kubernetes' extensions (`x-kubernetes-group-version-kind`,
/// `x-kubernetes-action`) and parameters, and the schemas of the kinds (`kubectl explain` reads them): custom
/// kinds' from their definitions, built-in kinds' from kindling's types (`OpenAPI+Builtin`).
enum OpenAPI {
    /// The index and documents for the kinds of one kind table snapshot, kept until the table changes.
    final class Documents: @unchecked Sendable {
        private let lock = NSLock()
        private var made: (revision: Int, index: Data, documents: [String: Data])?

        /// Answers `/openapi/v3` and `/openapi/v3/<group version>`.
        func serve(_ parts: [String], _ table: KindTable.Snapshot) -> APIResponse? {
            guard parts.count >= 2, parts[1] == "v3" else { return nil }
            let current = lock.withLock {
                if let made, made.revision == table.revision { return made }
                let documents = OpenAPI.documents(table)
                let next = (revision: table.revision, index: OpenAPI.index(documents), documents: documents)
                made = next
                return next
            }
            if parts.count == 2 { return .json(status: 200, body: current.index) }
            guard let document = current.documents[parts.dropFirst(2).joined(separator: "/")] else { return nil }
            return .json(status: 200, body: document)
        }
    }

    /// `/openapi/v2`: a Swagger 2.0 document with no definitions (the schemas are in v3), in gnostic's protobuf
    /// (what client-go asks for) or JSON. kubectl falls back to it to validate a kind v3 does not describe, and
    /// needs it to answer: with no definition for the kind it skips validation and says `no matches for kind`.
    static func version2(accept: String?) -> APIResponse {
        let title = "Kubernetes", version = KubernetesVersion.gitVersion
        guard accept?.contains("protobuf") == true else {
            let document: [String: Any] = ["swagger": "2.0", "info": ["title": title, "version": version], "paths": [String: Any]()]
            return .json(status: 200, body: (try? JSONSerialization.data(withJSONObject: document, options: [.sortedKeys])) ?? Data())
        }
        func field(_ number: UInt8, _ bytes: [UInt8]) -> [UInt8] { [number << 3 | 2, UInt8(bytes.count)] + bytes }
        // openapi.v2.Document: swagger (1), info (2: title 1, version 2), paths (8, empty).
        let info = field(1, Array(title.utf8)) + field(2, Array(version.utf8))
        let document = field(1, Array("2.0".utf8)) + field(2, info) + field(8, [])
        return .json(status: 200, body: Data(document), contentType: "application/com.github.proto-openapi.spec.v2.v1.0+protobuf")
    }

    /// The index: each group version's document under a content hash, as kube-apiserver names them.
    static func index(_ documents: [String: Data]) -> Data {
        let paths = Dictionary(uniqueKeysWithValues: documents.map { path, document in
            (path, ["serverRelativeURL": "/openapi/v3/\(path)?hash=\(hash(document))"])
        })
        return (try? JSONSerialization.data(withJSONObject: ["paths": paths], options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
    }

    /// One document per served group version, by its path: `api/v1`, `apis/apps/v1`, ...
    static func documents(_ table: KindTable.Snapshot) -> [String: Data] {
        Dictionary(uniqueKeysWithValues: table.groupVersions.map { apiVersion in
            let document: [String: Any] = [
                "openapi": "3.0.0",
                "info": ["title": "Kubernetes", "version": Discovery.Version().gitVersion],
                "paths": paths(table.served(groupVersion: apiVersion)),
                "components": ["schemas": schemas(table.kinds.filter { $0.served.apiVersion == apiVersion })],
            ]
            let path = apiVersion.contains("/") ? "apis/\(apiVersion)" : "api/\(apiVersion)"
            return (path, (try? JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data())
        })
    }

    static func hash(_ data: Data) -> String {
        SHA512.hash(data: data).prefix(64).map { String(format: "%02X", $0) }.joined()
    }

    static func query(_ name: String, _ description: String) -> [String: Any] {
        ["name": name, "in": "query", "description": description, "schema": ["type": "string", "uniqueItems": true]]
    }

    static var writeParameters: [[String: Any]] { [
        query("dryRun", "When present, indicates that modifications should not be persisted."),
        query("fieldManager", "fieldManager is a name associated with the actor or entity that is making these changes."),
        query("fieldValidation", "fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields: Ignore, Warn (the default) or Strict."),
    ] }
    static var listParameters: [[String: Any]] {
        ["continue", "fieldSelector", "labelSelector", "limit", "resourceVersion", "timeoutSeconds", "watch"].map { query($0, "") }
    }

    /// Every path of the kinds and their subresources with its operations.
    static func paths(_ kinds: [ServedKind]) -> [String: Any] {
        var paths: [String: Any] = [:]
        for kind in kinds {
            let prefix = "/" + (kind.group.isEmpty ? "api/v1" : "apis/\(kind.apiVersion)")
                + (kind.namespaced ? "/namespaces/{namespace}" : "") + "/\(kind.resource)"
            func operation(_ action: String, _ parameters: [[String: Any]] = [], sub: ServedKind.Subresource? = nil) -> [String: Any] {
                let gvk = sub?.responseKind ?? kind.groupVersionKind
                return ["operationId": "\(action)\(kind.kind)\(sub.map { $0.name.prefix(1).uppercased() + $0.name.dropFirst() } ?? "")",
                        "x-kubernetes-action": action, "x-kubernetes-group-version-kind": ["group": gvk.group, "version": gvk.version, "kind": gvk.kind],
                        "parameters": parameters, "responses": ["200": ["description": "OK"]]]
            }
            var collection = ["get": operation("list", listParameters), "post": operation("post", writeParameters)]
            if kind.verbs.contains("deletecollection") {
                collection["delete"] = operation("deletecollection", listParameters.filter { ($0["name"] as? String) != "watch" }
                                                 + [query("dryRun", ""), query("gracePeriodSeconds", ""), query("propagationPolicy", "")])
            }
            paths[prefix] = collection
            paths[prefix + "/{name}"] = ["get": operation("get"), "put": operation("put", writeParameters),
                                         "patch": operation("patch", writeParameters + [query("force", "Force is going to \"force\" Apply requests.")]),
                                         "delete": operation("delete", [query("dryRun", ""), query("gracePeriodSeconds", ""), query("propagationPolicy", "")])]
            for sub in kind.subresources {
                // exec and attach are "connect" actions (a stream, not an object), as kube-apiserver lists them.
                let connect = sub.verbs.contains("create")
                let methods = [("get", "get", connect ? "connect" : "get"), ("create", "post", "connect"), ("update", "put", "put"), ("patch", "patch", "patch")]
                paths[prefix + "/{name}/\(sub.name)"] = Dictionary(uniqueKeysWithValues: methods.filter { sub.verbs.contains($0.0) }.map { verb, method, action in
                    (method, operation(action, verb == "update" || verb == "patch" ? writeParameters : [], sub: sub))
                })
            }
        }
        return paths
    }
}
