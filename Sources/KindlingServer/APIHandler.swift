import Foundation
import KindlingAPI

/// One API request, reduced to what the handler needs; independent of the HTTP library.
public struct APIRequest: Sendable {
    public var method: String
    public var path: String
    public var query: [String: String]
    public var body: Data
    public var contentType: String?
    /// The Accept header: kubectl asks for Tables and aggregated discovery through it.
    public var accept: String?
    /// Names the writer of a change when the request gives no `fieldManager`.
    public var userAgent: String?

    public init(method: String, path: String, query: [String: String] = [:], body: Data = Data(), contentType: String? = nil,
                accept: String? = nil, userAgent: String? = nil) {
        self.userAgent = userAgent
        self.method = method
        self.path = path
        self.query = query
        self.body = body
        self.contentType = contentType
        self.accept = accept
    }
}

public enum APIResponse: Sendable {
    /// A JSON answer; `warnings` become `Warning: 299` headers (kubectl prints them as `Warning: ...`).
    case json(status: Int, body: Data, warnings: [String] = [], contentType: String = "application/json")
    /// A watch (one JSON event per line) or a followed log, until the client goes away.
    case stream(AsyncStream<Data>, contentType: String = "application/json")
}

/// Maps Kubernetes REST paths to registry calls for every served kind, and errors to `Status` objects.
public struct APIHandler: Sendable {
    public let registry: Registry
    /// The cluster served, for what reaches into pods: `pods/log` reads the logs its agents write and
    /// `pods/exec` runs commands in its pods (both on this machine); nil serves neither.
    public let cluster: String?
    /// Where recent reads of container logs ended, for an attach that follows one.
    let logReads = ContainerLog.ReadPositions()
    /// kube-apiserver's limit on request bodies (3 MiB).
    public static let maxBodySize = 3 * 1024 * 1024

    public static let tooLarge = Status(code: 413, reason: "RequestEntityTooLarge", message: "Request entity too large: limit is \(maxBodySize)")

    public init(registry: Registry, cluster: String? = nil) {
        self.registry = registry
        self.cluster = cluster
    }

    public func handle(_ request: APIRequest) async -> APIResponse {
        do {
            return try await route(request)
        } catch let status as Status {
            return APIHandler.json(status.code, status)
        } catch let error as DecodingError {
            return APIHandler.json(400, Status.badRequest("the body of the request could not be decoded: \(error.fieldDescription)"))
        } catch {
            return APIHandler.json(500, Status.internalError("\(error)"))
        }
    }

    static func json<T: Encodable>(_ status: Int, _ value: T, warnings: [String] = [], contentType: String = "application/json") -> APIResponse {
        .json(status: status, body: (try? KubeJSON.encoder.encode(value)) ?? Data("{}".utf8), warnings: warnings, contentType: contentType)
    }

    /// Splits a path into group/version and the rest: `/apis/apps/v1/namespaces/dev/replicasets/x`.
    func route(_ request: APIRequest) async throws -> APIResponse {
        let parts = request.path.split(separator: "/").map(String.init)
        switch parts.first {
        case "version" where parts.count == 1:
            return APIHandler.json(200, Discovery.Version())
        case "openapi":
            guard let answer = OpenAPI.serve(parts) else {
                throw Status(code: 404, reason: "NotFound", message: "the server could not find the requested resource")
            }
            return answer
        case "healthz", "readyz", "livez":
            return .json(status: 200, body: Data("ok".utf8))
        case "api":
            if parts.count == 1 {
                if Discovery.wantsAggregated(request.accept) { return Discovery.aggregated(Discovery.legacyGroup) }
                return APIHandler.json(200, Discovery.apiVersions)
            }
            guard parts[1] == "v1" else { throw Status.notFound(GroupResource(group: "", resource: "versions"), parts[1]) }
            return try await resource(request, groupVersion: "v1", parts: Array(parts.dropFirst(2)))
        case "apis":
            if parts.count == 1 {
                if Discovery.wantsAggregated(request.accept) { return Discovery.aggregated(Discovery.namedGroups) }
                return APIHandler.json(200, Discovery.groups)
            }
            guard parts.count >= 3 else { throw Status(code: 404, reason: "NotFound", message: "the server could not find the requested resource") }
            return try await resource(request, groupVersion: "\(parts[1])/\(parts[2])", parts: Array(parts.dropFirst(3)))
        default:
            throw Status(code: 404, reason: "NotFound", message: "the server could not find the requested resource")
        }
    }

    func resource(_ request: APIRequest, groupVersion: String, parts: [String]) async throws -> APIResponse {
        if parts.isEmpty {
            guard let list = Discovery.resources(groupVersion: groupVersion) else {
                throw Status(code: 404, reason: "NotFound", message: "the server could not find the requested resource")
            }
            return APIHandler.json(200, list)
        }
        let served = Kinds.all.filter { $0.apiVersion == groupVersion }
        func kind(_ resource: String) -> (any KubeObject.Type)? { served.first { $0.resource == resource } }

        // /namespaces/{ns}/{resource}[/{name}[/{sub}]] or /{resource}[/{name}[/{sub}]]
        var namespace: String?
        var rest = parts
        if parts.count >= 3, parts[0] == "namespaces", let type = kind(parts[2]), type.namespaced {
            namespace = parts[1]
            rest = Array(parts.dropFirst(2))
        }
        guard let type = kind(rest[0]), rest.count <= 3 else {
            throw Status(code: 404, reason: "NotFound", message: "the server could not find the requested resource")
        }
        let target = Target(namespace: namespace, name: rest.count > 1 ? rest[1] : nil, subresource: rest.count > 2 ? rest[2] : nil)
        return try await serve(type, target, request)
    }

    struct Target {
        var namespace: String?
        var name: String?
        var subresource: String?
    }

    func serve<T: KubeObject>(_ type: T.Type, _ target: Target, _ request: APIRequest) async throws -> APIResponse {
        let selector = try request.query["labelSelector"].map { text in
            do { return try Selector(parsing: text) } catch { throw Status.badRequest("unable to parse requirement: \(error)") }
        } ?? .everything
        let fields = try request.query["fieldSelector"].map { text in
            let parsed: FieldSelector
            do { parsed = try FieldSelector(parsing: text) } catch { throw Status.badRequest("\(error)") }
            if let problem = parsed.validate(for: T.self) { throw Status.badRequest("field label not supported: \(problem)") }
            return parsed
        } ?? .everything

        guard let name = target.name else {
            switch request.method {
            case "GET":
                if let watch = request.query["watch"], watch == "true" || watch == "1" {
                    return try watchStream(T.self, namespace: target.namespace, request: request, selector: selector, fields: fields)
                }
                let all = try registry.list(T.self, namespace: target.namespace, selector: selector, fields: fields)
                let page = try ListPaging.page(all.items, key: { "\($0.namespace)/\($0.name)" }, revision: all.metadata.resourceVersion ?? "",
                                               limit: request.query["limit"], continueToken: request.query["continue"],
                                               filtered: request.query["labelSelector"] != nil || request.query["fieldSelector"] != nil)
                let meta = ListMeta(resourceVersion: page.resourceVersion, continue: page.continue, remainingItemCount: page.remainingItemCount)
                if Table.isRequested(accept: request.accept) {
                    var table = Self.table(page.items, resourceVersion: page.resourceVersion, request)
                    table.metadata = meta
                    return APIHandler.json(200, table)
                }
                var list = ObjectList(items: page.items, resourceVersion: page.resourceVersion)
                list.metadata = meta
                return APIHandler.json(200, list)
            case "POST":
                let (object, warnings) = try decodeBody(T.self, request)
                return APIHandler.json(201, try registry.create(object, namespace: T.namespaced ? (target.namespace ?? "default") : nil,
                                                                dryRun: try Self.dryRun(request), writer: Self.writer(request)),
                                       warnings: warnings)
            default:
                throw Status.methodNotAllowed("the server does not allow this method on the requested resource")
            }
        }
        let namespace = target.namespace ?? ""
        switch (request.method, target.subresource) {
        case ("GET", nil), ("GET", "status"):
            let object = try registry.get(T.self, namespace: namespace, name: name)
            if Table.isRequested(accept: request.accept) {
                return APIHandler.json(200, Self.table([object], resourceVersion: object.metadata.resourceVersion, request))
            }
            return APIHandler.json(200, object)
        case ("PUT", let sub) where sub == nil || sub == "status":
            let (object, warnings) = try decodeBody(T.self, request)
            return APIHandler.json(200, try registry.update(object, namespace: namespace, name: name, scope: sub == nil ? .main : .status,
                                                            dryRun: try Self.dryRun(request), writer: Self.writer(request, subresource: sub)),
                                   warnings: warnings)
        case ("PATCH", let sub) where sub == nil || sub == "status":
            var warnings: [String] = []
            let patched = try patch(T.self, namespace: namespace, name: name, request: request, scope: sub == nil ? .main : .status,
                                    warnings: &warnings)
            return APIHandler.json(200, patched, warnings: warnings)
        case ("DELETE", nil):
            let options = request.body.isEmpty ? DeleteOptions() : try KubeJSON.decoder.decode(DeleteOptions.self, from: request.body)
            if try Self.dryRun(request) || options.dryRun?.contains("All") == true {
                return APIHandler.json(200, try registry.get(T.self, namespace: namespace, name: name))
            }
            let grace = options.gracePeriodSeconds ?? request.query["gracePeriodSeconds"].flatMap { Int64($0) }
            let deleted = try registry.delete(T.self, namespace: namespace, name: name, gracePeriodSeconds: grace,
                                              expectedUID: options.preconditions?.uid,
                                              propagationPolicy: options.propagationPolicy ?? request.query["propagationPolicy"] ?? "Background")
            return APIHandler.json(200, deleted)
        case ("GET", "exec"), ("POST", "exec"), ("GET", "attach"), ("POST", "attach") where T.self == Pod.self:
            // Reached only when the WebSocket upgrade was declined (see HTTPServer): say why.
            let pod = try registry.get(Pod.self, namespace: namespace, name: name)
            if target.subresource == "attach", pod.phase == "Pending" { throw Status.badRequest("pod \(name) has not started yet; cannot attach to it") }
            if target.subresource == "exec", pod.phase != "Running" { throw Status.badRequest("pod \(name) is not running (phase \(pod.phase)); cannot exec into it") }
            let subprotocols = PodExec.subprotocols.joined(separator: " or ")
            throw Status.badRequest("Upgrade request required: \(target.subresource ?? "exec") takes a WebSocket with subprotocol \(subprotocols)")
        case ("GET", "log") where T.self == Pod.self:
            return try logs(try registry.get(Pod.self, namespace: namespace, name: name), request)
        case (let method, "scale"):
            guard let scalable = T.self as? any Scalable.Type else { break }
            return try scale(scalable, namespace: namespace, name: name, method: method, request: request)
        default:
            break
        }
        throw Status.methodNotAllowed("the server does not allow this method on the requested resource")
    }

    /// `dryRun=All`: the write is checked and answered as if made, and nothing is stored (`kubectl diff`,
    /// `--dry-run=server`).
    /// Who writes, for managedFields: `?fieldManager=`, else the User-Agent's program name.
    static func writer(_ request: APIRequest, subresource: String? = nil) -> ManagedFields.Writer {
        ManagedFields.Writer(manager: ManagedFields.Writer.manager(fieldManager: request.query["fieldManager"], userAgent: request.userAgent),
                             subresource: subresource)
    }

    static func dryRun(_ request: APIRequest) throws -> Bool {
        guard let value = request.query["dryRun"], !value.isEmpty else { return false }
        guard value == "All" else { throw Status.badRequest("dryRun: Unsupported value: \"\(value)\": supported values: \"All\"") }
        return true
    }

    /// kubectl's columns for `objects`, each row with its object's metadata, all of it (`includeObject=Object`,
    /// as `kubectl get --sort-by` asks) or nothing (`None`).
    static func table<T: KubeObject>(_ objects: [T], resourceVersion: String?, _ request: APIRequest) -> Table {
        Printing.serverTable(objects, resourceVersion: resourceVersion,
                             includeObject: request.query["includeObject"].flatMap(Printing.IncludeObject.init) ?? .metadata,
                             now: Date().timeIntervalSince1970, parseTime: { Timestamp.date($0)?.timeIntervalSince1970 })
    }

    /// The body's size checked: present, and at most `maxBodySize`.
    func checkBody(_ request: APIRequest) throws {
        guard !request.body.isEmpty else { throw Status.badRequest("the request has no body") }
        guard request.body.count <= APIHandler.maxBodySize else { throw APIHandler.tooLarge }
    }

    /// A patch's body as a JSON value; anything else is the client's error (400), as Kubernetes answers it.
    func jsonBody(_ request: APIRequest) throws -> Any {
        try checkBody(request)
        do {
            return try JSONSerialization.jsonObject(with: request.body, options: [.fragmentsAllowed])
        } catch {
            throw Status.badRequest("the body of the request could not be decoded as JSON: \((error as NSError).userInfo[NSDebugDescriptionErrorKey] ?? error)")
        }
    }

    /// The body as a `T`, with the warnings for the fields it has that `T` has not (an error under
    /// `fieldValidation=Strict`).
    func decodeBody<T: KubeObject>(_ type: T.Type, _ request: APIRequest) throws -> (T, [String]) {
        try checkBody(request)
        let validation = try FieldValidation(parameter: request.query["fieldValidation"])
        var body = request.body
        var tree: Any?
        // kubectl's create commands send protobuf, and never retry as JSON.
        if request.contentType?.hasPrefix(KubeProtobuf.mediaType) == true {
            do {
                tree = try KubeProtobuf.decode(request.body)
                body = try JSONSerialization.data(withJSONObject: tree!)
            } catch let failure as KubeProtobuf.Failure {
                throw Status.badRequest("the body of the request could not be decoded: \(failure.description)")
            }
        }
        let object: T
        do {
            object = try KubeJSON.decoder.decode(T.self, from: body)
        } catch let error as DecodingError {
            // kube-apiserver's words for a body its decoder refuses.
            throw Status.badRequest("\(T.kind) in version \"\(T.apiVersion.split(separator: "/").last ?? "")\" cannot be handled as a \(T.kind): \(error.fieldDescription)")
        }
        if let version = object.apiVersion, version != T.apiVersion {
            throw Status.badRequest("the API version in the data (\(version)) does not match the expected API version (\(T.apiVersion))")
        }
        if let kind = object.kind, kind != T.kind {
            throw Status.badRequest("the kind in the data (\(kind)) does not match the expected kind (\(T.kind))")
        }
        guard validation != .ignore else { return (object, []) }
        let bodyTree = try tree ?? JSONSerialization.jsonObject(with: body)
        return (object, try FieldValidation.check(kind: T.kind, apiVersion: T.apiVersion,
                                                  unknown: FieldValidation.unknownFields(body: bodyTree, decoded: try KubeJSON.tree(object)), validation))
    }

    /// PATCH in the four formats kube-apiserver takes: the patch is applied to the stored object's JSON, which
    /// must then decode, validate and keep its name. A server-side apply also creates what does not exist.
    func patch<T: KubeObject>(_ type: T.Type, namespace: String, name: String, request: APIRequest,
                              scope: Registry.UpdateScope, warnings: inout [String]) throws -> T {
        let validation = try FieldValidation(parameter: request.query["fieldValidation"])
        let contentType = (request.contentType ?? "").split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        if contentType == "application/apply-patch+yaml" {
            return try serverSideApply(T.self, namespace: namespace, name: name, request: request, scope: scope, warnings: &warnings)
        }
        let apply: (Any, [String: Any]) throws -> [String: Any]
        switch contentType {
        case "application/merge-patch+json":
            apply = { patch, current in KubeJSON.mergePatch(patch, onto: current) as? [String: Any] ?? [:] }
        case "application/strategic-merge-patch+json":
            apply = { patch, current in
                guard let patch = patch as? [String: Any] else { throw Status.badRequest("the patch must be a JSON object") }
                do { return try Patch.strategicMerge(patch, onto: current, kind: T.kind) } catch let failure as Patch.Failure {
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
            throw Status(code: 415, reason: "UnsupportedMediaType", message: "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json")
        }
        let patch = try jsonBody(request)
        var found: [String] = []
        let writer = Self.writer(request, subresource: scope == .status ? "status" : nil)
        let result = try registry.modify(T.self, namespace: namespace, name: name, dryRun: try Self.dryRun(request), writer: writer) { current in
            let merged = try apply(patch, try KubeJSON.tree(current))
            // A resourceVersion in the patch is a precondition, as in kube-apiserver.
            if let version = (merged["metadata"] as? [String: Any])?["resourceVersion"] as? String, version != current.metadata.resourceVersion {
                throw Status.conflict(T.groupResource, name, "the object has been modified; please apply your changes to the latest version and try again")
            }
            var patched = try KubeJSON.value(T.self, from: merged)
            found = try FieldValidation.check(kind: T.kind, apiVersion: T.apiVersion,
                                              unknown: FieldValidation.unknownFields(body: merged, decoded: try KubeJSON.tree(patched)), validation)
            patched = scope == .status ? Registry.withStatus(of: patched, on: current) : Registry.withStatus(of: current, on: patched)
            try validatePatched(patched, current)
            return patched
        }
        warnings = found
        return result
    }

    /// `application/apply-patch+yaml`: the body (YAML or JSON) is the manager's whole intent for the object
    /// (see `ManagedFields.apply`); `force=true` takes fields from other managers instead of conflicting.
    func serverSideApply<T: KubeObject>(_ type: T.Type, namespace: String, name: String, request: APIRequest,
                                        scope: Registry.UpdateScope, warnings: inout [String]) throws -> T {
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
        guard document.apiVersion == T.apiVersion, document.kind == T.kind else {
            throw Status.badRequest("the object in the apply request (\(document.apiVersion), Kind=\(document.kind)) is not a \(T.apiVersion), Kind=\(T.kind)")
        }
        guard document.name == name else {
            throw Status.badRequest("the name of the object (\(document.name)) does not match the name on the URL (\(name))")
        }
        if T.namespaced, var metadata = config["metadata"] as? [String: Any] {
            if let own = metadata["namespace"] as? String, !own.isEmpty, own != namespace {
                throw Status.badRequest("the namespace of the provided object does not match the namespace sent on the request")
            }
            metadata["namespace"] = namespace
            config["metadata"] = metadata
        }
        func decoded(_ tree: [String: Any]) throws -> T {
            let object = try KubeJSON.value(T.self, from: tree)
            warnings = try FieldValidation.check(kind: T.kind, apiVersion: T.apiVersion,
                                                 unknown: FieldValidation.unknownFields(body: tree, decoded: try KubeJSON.tree(object)), validation)
            return object
        }
        let dryRun = try Self.dryRun(request)
        guard (try? registry.get(T.self, namespace: namespace, name: name)) != nil else {
            var object = try decoded(config)
            let applied = try ManagedFields.apply(config, onto: [:], entries: [], manager: manager, force: force,
                                                  kind: T.kind, apiVersion: T.apiVersion, now: registry.now)
            object.metadata.managedFields = applied.entries
            return try registry.create(object, namespace: T.namespaced ? namespace : nil, dryRun: dryRun)
        }
        return try registry.modify(T.self, namespace: namespace, name: name, dryRun: dryRun) { current in
            let applied = try ManagedFields.apply(config, onto: try KubeJSON.tree(current), entries: current.metadata.managedFields ?? [],
                                                  manager: manager, force: force, kind: T.kind, apiVersion: T.apiVersion, now: registry.now)
            var object = try decoded(applied.object)
            object.metadata.managedFields = applied.entries
            object = Registry.withStatus(of: current, on: object)
            try validatePatched(object, current)
            return object
        }
    }

    func validatePatched<T: KubeObject>(_ patched: T, _ current: T) throws {
        if patched.name != current.name { throw Status.badRequest("metadata.name may not be changed by a patch") }
    }

    func scale<T: Scalable>(_ type: T.Type, namespace: String, name: String, method: String, request: APIRequest) throws -> APIResponse {
        func view(_ object: T) -> Scale {
            var meta = ObjectMeta(name: object.metadata.name, namespace: object.metadata.namespace)
            meta.uid = object.metadata.uid
            meta.resourceVersion = object.metadata.resourceVersion
            meta.creationTimestamp = object.metadata.creationTimestamp
            return Scale(metadata: meta, spec: .init(replicas: object.desiredReplicas),
                         status: .init(replicas: object.currentReplicas, selector: object.podSelector?.selector.description))
        }
        switch method {
        case "GET":
            return APIHandler.json(200, view(try registry.get(T.self, namespace: namespace, name: name)))
        case "PUT", "PATCH":
            let replicas: Int?
            if method == "PUT" {
                replicas = try KubeJSON.decoder.decode(Scale.self, from: request.body).spec.replicas
            } else {
                let patch = try jsonBody(request) as? [String: Any]
                replicas = (patch?["spec"] as? [String: Any])?["replicas"] as? Int
            }
            guard let replicas else { throw Status.badRequest("spec.replicas is required") }
            if replicas < 0 {
                throw Status.invalid(kind: "Scale", group: "autoscaling", name: name,
                                     errors: [.invalid("spec.replicas", replicas, "must be greater than or equal to 0")])
            }
            let updated = try registry.modify(T.self, namespace: namespace, name: name, writer: Self.writer(request, subresource: "scale")) { current in
                var next = current
                next.desiredReplicas = replicas
                return next
            }
            return APIHandler.json(200, view(updated))
        default:
            throw Status.methodNotAllowed("the server does not allow this method on the requested resource")
        }
    }

    /// `pods/{name}/log`: a container's output as text (`container`, `tailLines`, `limitBytes`, `follow`).
    func logs(_ pod: Pod, _ request: APIRequest) throws -> APIResponse {
        let container = try ContainerLog.container(of: pod, asked: request.query["container"])
        guard let cluster else { throw Status.badRequest("this server keeps no container logs") }
        let log = ContainerLog(registry: registry, cluster: cluster, pod: pod, container: container)
        guard let handle = log.open() else { throw log.waiting }
        let end = handle.seekToEndOfFile()
        logReads.record(log, offset: end)
        let limit = request.query["limitBytes"].flatMap(UInt64.init).flatMap { $0 > 0 ? $0 : nil }
        // What exists now: the last lines only (read from the end), or the whole file in chunks, never all at once.
        var head = Data()
        if let tail = request.query["tailLines"].flatMap(Int.init), tail >= 0 {
            head = LogText.lastLines(of: handle, tail, end: end)
            if let limit, UInt64(head.count) > limit { head = head.prefix(Int(limit)) }
        } else {
            handle.seek(toFileOffset: 0)
        }
        let follow = request.query["follow"] == "true" || request.query["follow"] == "1"
        let whole = request.query["tailLines"] == nil
        let rest = follow ? log.follow(handle) : nil, first = head
        return .stream(AsyncStream { continuation in
            let task = Task {
                continuation.yield(first)
                if whole {
                    var left = min(end, limit ?? end)
                    while left > 0, !Task.isCancelled {
                        let chunk = handle.readData(ofLength: Int(min(left, 64 * 1024)))
                        if chunk.isEmpty { break }
                        left -= UInt64(chunk.count)
                        continuation.yield(chunk)
                    }
                }
                if let rest { for await chunk in rest { continuation.yield(chunk) } } else { try? handle.close() }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }, contentType: "text/plain")
    }

    /// The bookmark that ends a watch's initial events: an object of the kind with only its resourceVersion
    /// and the `k8s.io/initial-events-end` annotation.
    static func initialEventsEnd<T: KubeObject>(_ type: T.Type, resourceVersion: String) -> Data? {
        let event: [String: Any] = ["type": "BOOKMARK", "object": [
            "kind": T.kind, "apiVersion": T.apiVersion,
            "metadata": ["resourceVersion": resourceVersion, "annotations": ["k8s.io/initial-events-end": "true"]],
        ]]
        return (try? JSONSerialization.data(withJSONObject: event, options: [.sortedKeys])).map { $0 + [UInt8(ascii: "\n")] }
    }

    func watchStream<T: KubeObject>(_ type: T.Type, namespace: String?, request: APIRequest,
                                    selector: Selector, fields: FieldSelector) throws -> APIResponse {
        let from = try request.query["resourceVersion"].flatMap { text -> Int64? in
            guard !text.isEmpty else { return nil }
            guard let value = Int64(text) else { throw Status.badRequest("invalid resourceVersion \"\(text)\"") }
            return value
        }
        // `sendInitialEvents=true` (the streaming list kubectl's delete waits with): the current objects as ADDED
        // events, then a bookmark annotated `k8s.io/initial-events-end`, then the changes after that list.
        var initial: [WatchEvent<T>] = []
        var start = from
        var initialEnd: Data?
        if request.query["sendInitialEvents"] == "true" {
            let list = try registry.list(T.self, namespace: namespace, selector: selector, fields: fields)
            initial = list.items.map { WatchEvent(type: .added, object: $0) }
            start = Int64(list.metadata.resourceVersion ?? "")
            initialEnd = Self.initialEventsEnd(T.self, resourceVersion: list.metadata.resourceVersion ?? "")
        }
        let events = try registry.watch(T.self, namespace: namespace, resourceVersion: start, selector: selector, fields: fields)
        let timeout = request.query["timeoutSeconds"].flatMap(Double.init)
        // `kubectl get -w` watches in Table form: each event's object is a one-row Table.
        let asTable = Table.isRequested(accept: request.accept)
        func line(_ event: WatchEvent<T>) -> Data? {
            let encoded = asTable
                ? try? KubeJSON.encoder.encode(WatchEvent(type: WatchEvent<Table>.EventType(rawValue: event.type.rawValue)!,
                                                          object: Self.table([event.object], resourceVersion: event.object.metadata.resourceVersion, request)))
                : try? KubeJSON.encoder.encode(event)
            return encoded.map { $0 + [UInt8(ascii: "\n")] }
        }
        return .stream(AsyncStream { continuation in
            for event in initial { if let line = line(event) { continuation.yield(line) } }
            if let initialEnd { continuation.yield(initialEnd) }
            let task = Task {
                for await event in events {
                    guard let line = line(event) else { continue }
                    continuation.yield(line)
                }
                continuation.finish()
            }
            let timer = timeout.map { seconds in
                Task {
                    try? await Task.sleep(for: .seconds(seconds))
                    continuation.finish()
                }
            }
            continuation.onTermination = { _ in
                task.cancel()
                timer?.cancel()
            }
        })
    }
}

/// `DeleteOptions` as DELETE bodies carry them.
struct DeleteOptions: Codable {
    struct Preconditions: Codable { var uid: String?; var resourceVersion: String? }
    var gracePeriodSeconds: Int64?
    var propagationPolicy: String?
    var preconditions: Preconditions?
    var dryRun: [String]?
}
