import Crypto
import Foundation
import KindlingAPI

/// `/openapi/v3`: the index of one document per group version, and those documents. kubectl reads them before
/// every apply: it validates on the server (`fieldValidation=Strict`) only when the PATCH operation of the
/// object's kind lists that parameter, and fails otherwise ("failed to download openapi"). The documents
/// describe every served path and operation with Kubernetes' extensions (`x-kubernetes-group-version-kind`,
/// `x-kubernetes-action`) and parameters; they carry no schemas yet (so `kubectl explain` has nothing to show).
enum OpenAPI {
    /// `api/v1`, `apis/apps/v1`, ...: the index's keys, one per served group version.
    static var groupVersionPaths: [String] {
        Set(Kinds.all.map { $0.apiVersion }).sorted().map { $0.contains("/") ? "apis/\($0)" : "api/\($0)" }
    }

    /// The index: each group version's document under a content hash, as kube-apiserver names them.
    static let index: Data = {
        let paths = Dictionary(uniqueKeysWithValues: groupVersionPaths.map { path in
            (path, ["serverRelativeURL": "/openapi/v3/\(path)?hash=\(hash(documents[path]!))"])
        })
        return (try? JSONSerialization.data(withJSONObject: ["paths": paths], options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
    }()

    static let documents: [String: Data] = Dictionary(uniqueKeysWithValues: groupVersionPaths.map { path in
        let apiVersion = path.hasPrefix("apis/") ? String(path.dropFirst("apis/".count)) : String(path.dropFirst("api/".count))
        let document: [String: Any] = [
            "openapi": "3.0.0",
            "info": ["title": "Kubernetes", "version": Discovery.Version().gitVersion],
            "paths": paths(Kinds.all.filter { $0.apiVersion == apiVersion }),
            "components": ["schemas": [String: Any]()],
        ]
        return (path, (try? JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data())
    })

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

    /// Every path of the kinds with its operations.
    static func paths(_ kinds: [any KubeObject.Type]) -> [String: Any] {
        var paths: [String: Any] = [:]
        for kind in kinds {
            let prefix = "/" + (kind.group.isEmpty ? "api/v1" : "apis/\(kind.apiVersion)")
                + (kind.namespaced ? "/namespaces/{namespace}" : "") + "/\(kind.resource)"
            let gvk = ["group": kind.group, "version": "v1", "kind": kind.kind]
            func operation(_ action: String, _ parameters: [[String: Any]] = [], status: Bool = false) -> [String: Any] {
                ["operationId": "\(action)\(kind.kind)\(status ? "Status" : "")", "x-kubernetes-action": action, "x-kubernetes-group-version-kind": gvk,
                 "parameters": parameters, "responses": ["200": ["description": "OK"]]]
            }
            paths[prefix] = ["get": operation("list", listParameters), "post": operation("post", writeParameters)]
            paths[prefix + "/{name}"] = ["get": operation("get"), "put": operation("put", writeParameters),
                                         "patch": operation("patch", writeParameters + [query("force", "Force is going to \"force\" Apply requests.")]),
                                         "delete": operation("delete", [query("dryRun", ""), query("gracePeriodSeconds", ""), query("propagationPolicy", "")])]
            paths[prefix + "/{name}/status"] = ["get": operation("get", status: true), "put": operation("put", writeParameters, status: true),
                                                "patch": operation("patch", writeParameters, status: true)]
        }
        return paths
    }

    /// Answers `/openapi/v3` and `/openapi/v3/<group version>`.
    static func serve(_ parts: [String]) -> APIResponse? {
        guard parts.count >= 2, parts[1] == "v3" else { return nil }
        if parts.count == 2 { return .json(status: 200, body: index) }
        guard let document = documents[parts.dropFirst(2).joined(separator: "/")] else { return nil }
        return .json(status: 200, body: document)
    }
}
