import Foundation
import KindlingAPI
import KindlingMachinery

/// PATCH in its four formats, server-side apply among them.
extension APIHandler {
    /// PATCH in the four formats kube-apiserver takes: the patch is applied to the stored object's JSON, which
    /// must then decode, validate and keep its name. A server-side apply also creates what does not exist.
    func patch<S: KindStrategy>(_ kind: S, namespace: String, name: String, request: APIRequest,
                                scope: Registry.UpdateScope, warnings: inout [String]) throws -> S.Object {
        let served = kind.served
        let validation = try FieldValidation(parameter: request.query["fieldValidation"])
        let contentType = (request.contentType ?? "").split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        if contentType == "application/apply-patch+yaml" {
            return try serverSideApply(kind, namespace: namespace, name: name, request: request, scope: scope, warnings: &warnings)
        }
        let apply: (Any, [String: Any]) throws -> [String: Any]
        switch contentType {
        case "application/merge-patch+json":
            apply = { patch, current in KubeJSON.mergePatch(patch, onto: current) as? [String: Any] ?? [:] }
        case "application/strategic-merge-patch+json" where kind.strategicMerge:
            apply = { patch, current in
                guard let patch = patch as? [String: Any] else { throw Status.badRequest("the patch must be a JSON object") }
                do { return try Patch.strategicMerge(patch, onto: current, kind: served.kind) } catch let failure as Patch.Failure {
                    throw Status.badRequest(failure.description)
                }
            }
        case "application/json-patch+json":
            apply = { patch, current in
                guard let operations = patch as? [Any] else { throw Status.badRequest("the JSON patch must be a list of operations") }
                do {
                    guard let result = try Patch.jsonPatch(operations, onto: current) as? [String: Any] else {
                        throw Status.badRequest("the JSON patch must leave an object")
                    }
                    return result
                } catch let failure as Patch.Failure {
                    throw Status(code: 422, reason: "Invalid", message: failure.description)
                }
            }
        default:
            let accepted = ["application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml"]
                + (kind.strategicMerge ? ["application/strategic-merge-patch+json"] : [])
            throw Status(code: 415, reason: "UnsupportedMediaType",
                         message: "the body of the request was in an unknown format - accepted media types include: \(accepted.joined(separator: ", "))")
        }
        let patch = try jsonBody(request)
        var found: [String] = []
        let writer = Self.writer(request, subresource: scope == .status ? "status" : scope == .ephemeralContainers ? "ephemeralcontainers" : nil)
        let result = try registry.modify(kind, namespace: namespace, name: name, dryRun: try Self.dryRun(request), writer: writer) { current in
            let merged = try apply(patch, try KubeJSON.tree(current))
            // A resourceVersion in the patch is a precondition, as in kube-apiserver.
            if let version = (merged["metadata"] as? [String: Any])?["resourceVersion"] as? String, version != current.metadata.resourceVersion {
                throw Status.conflict(served.groupResource, name, "the object has been modified; please apply your changes to the latest version and try again")
            }
            var patched = try KubeJSON.value(S.Object.self, from: merged)
            kind.decoded(&patched)
            found = try FieldValidation.check(kind: served.kind, apiVersion: served.apiVersion, custom: kind.definedBySchema,
                                              unknown: FieldValidation.unknownFields(body: merged, decoded: try KubeJSON.tree(patched)), validation)
            switch scope {
            case .status: patched = Registry.withStatus(of: patched, on: current)
            case .ephemeralContainers: patched = Registry.withEphemeralContainers(of: patched, on: current)
            case .main: patched = Registry.mainWrite(patched, over: current, as: kind)
            }
            try validatePatched(patched, current)
            return patched
        }
        warnings = found
        return result
    }

    /// `application/apply-patch+yaml`: the body (YAML or JSON) is the manager's whole intent for the object
    /// (see `ManagedFields.apply`); `force=true` takes fields from other managers instead of conflicting.
    func serverSideApply<S: KindStrategy>(_ kind: S, namespace: String, name: String, request: APIRequest,
                                          scope: Registry.UpdateScope, warnings: inout [String]) throws -> S.Object {
        let served = kind.served
        guard let manager = request.query["fieldManager"], !manager.isEmpty else {
            throw Status.badRequest("PATCH, application/apply-patch+yaml requests must specify a fieldManager")
        }
        guard scope == .main else { throw Status.badRequest("server-side apply of the status subresource is not served by kindling") }
        try checkBody(request)
        let validation = try FieldValidation(parameter: request.query["fieldValidation"] ?? "Strict")
        let force = request.query["force"] == "true"
        let documents: [ManifestObject]
        do {
            documents = try Manifest.parse(String(decoding: request.body, as: UTF8.self), source: "the apply request")
        } catch let error as ManifestError {
            throw Status.badRequest(error.description)
        }
        guard documents.count == 1, let document = documents.first,
              var config = try JSONSerialization.jsonObject(with: document.json) as? [String: Any] else {
            throw Status.badRequest("an apply request takes exactly one object")
        }
        guard document.apiVersion == served.apiVersion, document.kind == served.kind else {
            throw Status.badRequest("the object in the apply request (\(document.apiVersion), Kind=\(document.kind)) is not a \(served.apiVersion), Kind=\(served.kind)")
        }
        guard document.name == name else {
            throw Status.badRequest("the name of the object (\(document.name)) does not match the name on the URL (\(name))")
        }
        if served.namespaced, var metadata = config["metadata"] as? [String: Any] {
            if let own = metadata["namespace"] as? String, !own.isEmpty, own != namespace {
                throw Status.badRequest("the namespace of the provided object does not match the namespace sent on the request")
            }
            metadata["namespace"] = namespace
            config["metadata"] = metadata
        }
        func decoded(_ tree: [String: Any]) throws -> S.Object {
            var object = try KubeJSON.value(S.Object.self, from: tree)
            kind.decoded(&object)
            warnings = try FieldValidation.check(kind: served.kind, apiVersion: served.apiVersion, custom: kind.definedBySchema,
                                                 unknown: FieldValidation.unknownFields(body: tree, decoded: try KubeJSON.tree(object)), validation)
            return object
        }
        let dryRun = try Self.dryRun(request)
        guard (try? registry.get(kind, namespace: namespace, name: name)) != nil else {
            var object = try decoded(config)
            let applied = try ManagedFields.apply(config, onto: [:], entries: [], manager: manager, force: force,
                                                  kind: served.kind, apiVersion: served.apiVersion, now: registry.now)
            object.metadata.managedFields = applied.entries
            return try registry.create(object, as: kind, namespace: served.namespaced ? namespace : nil, dryRun: dryRun)
        }
        return try registry.modify(kind, namespace: namespace, name: name, dryRun: dryRun) { current in
            let applied = try ManagedFields.apply(config, onto: try KubeJSON.tree(current), entries: current.metadata.managedFields ?? [],
                                                  manager: manager, force: force, kind: served.kind, apiVersion: served.apiVersion, now: registry.now)
            var object = try decoded(applied.object)
            object.metadata.managedFields = applied.entries
            object = Registry.mainWrite(object, over: current, as: kind)
            try validatePatched(object, current)
            return object
        }
    }

    func validatePatched<T: APIObject>(_ patched: T, _ current: T) throws {
        if patched.name != current.name { throw Status.badRequest("metadata.name may not be changed by a patch") }
    }
}
