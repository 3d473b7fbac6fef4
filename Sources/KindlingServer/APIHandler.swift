import Foundation
import KindlingAPI
import KindlingMachinery
import KindlingPrinters

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
    /// Who sent it: the authenticated caller (the administrator on the root-only unix socket).
    public var user: UserInfo
    /// Whom the caller asks to act as (`Impersonate-*` headers, kubectl's `--as`), if anyone.
    public var impersonation: Impersonation?

    public init(method: String, path: String, query: [String: String] = [:], body: Data = Data(), contentType: String? = nil,
                accept: String? = nil, userAgent: String? = nil, user: UserInfo = .admin, impersonation: Impersonation? = nil) {
        self.userAgent = userAgent
        self.user = user
        self.impersonation = impersonation.flatMap { $0.isEmpty ? nil : $0 }
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
    /// The OpenAPI documents of the kinds served, made again when the kinds change.
    let openAPI = OpenAPI.Documents()
    /// kube-apiserver's limit on request bodies (3 MiB).
    public static let maxBodySize = 3 * 1024 * 1024

    public static let tooLarge = Status(code: 413, reason: "RequestEntityTooLarge", message: "Request entity too large: limit is \(maxBodySize)")

    /// Issues ServiceAccount tokens (`serviceaccounts/token`); nil issues none.
    public let tokens: ServiceAccountTokens?

    /// Who bearer tokens stand for, for TokenReview: the admin token (when given) and ServiceAccount tokens.
    let authenticator: Authenticator

    public init(registry: Registry, cluster: String? = nil, tokens: ServiceAccountTokens? = nil, adminToken: String? = nil) {
        self.registry = registry
        self.cluster = cluster
        self.tokens = tokens
        authenticator = Authenticator(adminToken: adminToken ?? "", tokens: tokens, registry: registry)
    }

    public func handle(_ request: APIRequest) async -> APIResponse {
        var request = request
        do {
            if let impersonation = request.impersonation { request.user = try impersonate(request.user, as: impersonation) }
            try authorize(request)
            return try await RequestContext.$user.withValue(request.user) { [request] in try await route(request) }
        } catch let status as Status {
            return APIHandler.json(status.code, status)
        } catch let error as DecodingError {
            return APIHandler.json(400, Status.badRequest("the body of the request could not be decoded: \(error.fieldDescription)"))
        } catch {
            return APIHandler.json(500, Status.internalError("\(error)"))
        }
    }

    static func json<T: Encodable>(_ status: Int, _ value: T, warnings: [String] = [], contentType: String = "application/json") -> APIResponse {
        let body = (value as? Status)?.wireJSON ?? (try? KubeJSON.encoder.encode(value)) ?? Data("{}".utf8)
        return .json(status: status, body: body, warnings: warnings, contentType: contentType)
    }

    /// Splits a path into group/version and the rest: `/apis/apps/v1/namespaces/dev/replicasets/x`.
    func route(_ request: APIRequest) async throws -> APIResponse {
        let parts = request.path.split(separator: "/").map(String.init)
        switch parts.first {
        case "version" where parts.count == 1:
            return APIHandler.json(200, Discovery.Version())
        case "openapi" where parts == ["openapi", "v2"]:
            return OpenAPI.version2(accept: request.accept)
        case "openapi":
            guard let answer = openAPI.serve(parts, registry.kinds.snapshot) else { throw Self.notFound }
            return answer
        case "healthz", "readyz", "livez":
            return .json(status: 200, body: Data("ok".utf8))
        case "api":
            if parts.count == 1 {
                if Discovery.wantsAggregated(request.accept) { return Discovery.aggregated(Discovery.legacyGroup, registry.kinds.snapshot) }
                return APIHandler.json(200, Discovery.apiVersions)
            }
            guard parts[1] == "v1" else { throw Status.notFound(GroupResource(group: "", resource: "versions"), parts[1]) }
            return try await resource(request, groupVersion: "v1", parts: Array(parts.dropFirst(2)))
        case "apis":
            if parts.count == 1 {
                let kinds = registry.kinds.snapshot
                if Discovery.wantsAggregated(request.accept) { return Discovery.aggregated(kinds.namedGroups, kinds) }
                return APIHandler.json(200, Discovery.groups(kinds))
            }
            guard parts.count >= 3 else { throw Self.notFound }
            return try await resource(request, groupVersion: "\(parts[1])/\(parts[2])", parts: Array(parts.dropFirst(3)))
        default:
            throw Self.notFound
        }
    }

    static let notFound = Status(code: 404, reason: "NotFound", message: "the server could not find the requested resource")
    static let namespaceSubresources = Set(Namespace.subresources.map(\.name))

    /// Finds the served kind, namespace, name and subresource in what follows a group version, as
    /// kube-apiserver's request info does: `namespaces/{ns}/{resource}/...` unless the third part is one of the
    /// namespace's own subresources (`namespaces/dev/status`). What the kind table does not serve is 404.
    public static func target(groupVersion: String, parts: [String],
                              in kinds: KindTable.Snapshot = KindTable.builtin) throws -> (any KindStrategy, Target) {
        var namespace: String?
        var rest = parts
        if parts.count > 2, parts[0] == "namespaces", !namespaceSubresources.contains(parts[2]) {
            namespace = parts[1]
            rest = Array(parts.dropFirst(2))
        }
        guard rest.count <= 3, let entry = kinds.entry(groupVersion: groupVersion, resource: rest[0]),
              namespace == nil || entry.served.namespaced else { throw notFound }
        let target = Target(namespace: namespace, name: rest.count > 1 ? rest[1] : nil, subresource: rest.count > 2 ? rest[2] : nil)
        if let sub = target.subresource, entry.served.subresource(sub) == nil { throw notFound }
        return (entry, target)
    }

    func resource(_ request: APIRequest, groupVersion: String, parts: [String]) async throws -> APIResponse {
        if parts.isEmpty {
            guard let list = Discovery.resources(groupVersion: groupVersion, registry.kinds.snapshot) else { throw Self.notFound }
            return APIHandler.json(200, list)
        }
        let (kind, target) = try Self.target(groupVersion: groupVersion, parts: parts, in: registry.kinds.snapshot)
        return try await serve(kind, target, request)
    }

    /// What a path names below its kind.
    public struct Target: Sendable {
        public var namespace: String?
        public var name: String?
        public var subresource: String?
    }

    func serve<S: KindStrategy>(_ kind: S, _ target: Target, _ request: APIRequest) async throws -> APIResponse {
        if let answer = try review(kind, request) { return answer }
        let selector = try request.query["labelSelector"].map { text in
            do { return try Selector(parsing: text) } catch { throw Status.badRequest("unable to parse requirement: \(error)") }
        } ?? .everything
        let fields = try request.query["fieldSelector"].map { text in
            let parsed: FieldSelector
            do { parsed = try FieldSelector(parsing: text) } catch { throw Status.badRequest("\(error)") }
            if let problem = parsed.validate(supported: kind.selectableFields) { throw Status.badRequest("field label not supported: \(problem)") }
            return parsed
        } ?? .everything
        guard let name = target.name else {
            return try collection(kind, namespace: target.namespace, request, selector: selector, fields: fields)
        }
        return try object(kind, namespace: target.namespace ?? "", name: name, subresource: target.subresource, request)
    }

    /// A kind's collection: list (as a Table or a page of a list), watch, create.
    func collection<S: KindStrategy>(_ kind: S, namespace: String?, _ request: APIRequest,
                                     selector: Selector, fields: FieldSelector) throws -> APIResponse {
        switch request.method {
        case "GET":
            if let watch = request.query["watch"], watch == "true" || watch == "1" {
                return try watchStream(kind, namespace: namespace, request: request, selector: selector, fields: fields)
            }
            let all = try registry.list(kind, namespace: namespace, selector: selector, fields: fields)
            let page = try ListPaging.page(all.items, key: { "\($0.namespace)/\($0.name)" }, revision: all.metadata.resourceVersion ?? "",
                                           limit: request.query["limit"], continueToken: request.query["continue"],
                                           filtered: request.query["labelSelector"] != nil || request.query["fieldSelector"] != nil)
            let meta = ListMeta(resourceVersion: page.resourceVersion, continue: page.continue, remainingItemCount: page.remainingItemCount)
            if Table.isRequested(accept: request.accept) {
                var table = Self.table(kind, page.items, resourceVersion: page.resourceVersion, request)
                table.metadata = meta
                return APIHandler.json(200, table)
            }
            var list = ObjectList(items: page.items, resourceVersion: page.resourceVersion, of: kind.served)
            list.metadata = meta
            return APIHandler.json(200, list)
        case "POST":
            if let custom = kind as? CustomKind, custom.terminating {
                throw Status.methodNotAllowed("create not allowed while custom resource definition is terminating")
            }
            let (object, warnings) = try decodeBody(kind, request)
            // A server that issues tokens runs the ServiceAccount controller and admission.
            if tokens != nil, let pod = object as? Pod {
                ServiceAccountAdmission.awaitDefaultAccount(pod, namespace: namespace ?? pod.metadata.namespace ?? "default", registry: registry)
            }
            return APIHandler.json(201, try registry.create(object, as: kind, namespace: kind.served.namespaced ? (namespace ?? "default") : nil,
                                                            dryRun: try Self.dryRun(request), writer: Self.writer(request)),
                                   warnings: warnings)
        case "DELETE" where kind.served.verbs.contains("deletecollection") && (namespace != nil || !kind.served.namespaced):
            return try deleteCollection(kind, namespace: namespace, request, selector: selector, fields: fields)
        default:
            throw Status.methodNotAllowed("the server does not allow this method on the requested resource")
        }
    }

    /// One object or one of its subresources (which the kind table has already checked the kind serves).
    func object<S: KindStrategy>(_ kind: S, namespace: String, name: String, subresource: String?, _ request: APIRequest) throws -> APIResponse {
        switch (request.method, subresource) {
        case ("GET", nil), ("GET", "status"):
            let object = try registry.get(kind, namespace: namespace, name: name)
            if Table.isRequested(accept: request.accept) {
                return APIHandler.json(200, Self.table(kind, [object], resourceVersion: object.metadata.resourceVersion, request))
            }
            return APIHandler.json(200, object)
        case ("GET", "ephemeralcontainers") where S.Object.self == Pod.self:
            return APIHandler.json(200, try registry.get(kind, namespace: namespace, name: name))
        case ("PUT", let sub) where sub == nil || sub == "status" || (sub == "ephemeralcontainers" && S.Object.self == Pod.self):
            let (object, warnings) = try decodeBody(kind, request)
            return APIHandler.json(200, try registry.update(object, as: kind, namespace: namespace, name: name, scope: Self.scope(sub),
                                                            dryRun: try Self.dryRun(request), writer: Self.writer(request, subresource: sub)),
                                   warnings: warnings)
        case ("PATCH", let sub) where sub == nil || sub == "status" || (sub == "ephemeralcontainers" && S.Object.self == Pod.self):
            var warnings: [String] = []
            let patched = try patch(kind, namespace: namespace, name: name, request: request, scope: Self.scope(sub),
                                    warnings: &warnings)
            return APIHandler.json(200, patched, warnings: warnings)
        case ("DELETE", nil):
            return try delete(kind, namespace: namespace, name: name, request)
        case ("GET", "exec"), ("POST", "exec"), ("GET", "attach"), ("POST", "attach"):
            throw try upgradeRequired(namespace: namespace, name: name, subresource: subresource ?? "")
        case ("POST", "token"):
            return try tokenRequest(namespace: namespace, account: name, request)
        case ("POST", "eviction") where S.Object.self == Pod.self:
            return try evict(namespace: namespace, name: name, request)
        case ("GET", "log"):
            return try logs(try registry.get(Pod.self, namespace: namespace, name: name), request)
        case (let method, "scale"):
            guard let scaling = kind.scaling else { break }
            return try scale(kind, scaling, namespace: namespace, name: name, method: method, request: request)
        default:
            break
        }
        throw Status.methodNotAllowed("the server does not allow this method on the requested resource")
    }

    /// What a write to the main resource or one of its write subresources may change.
    static func scope(_ subresource: String?) -> Registry.UpdateScope {
        switch subresource {
        case "status": .status
        case "ephemeralcontainers": .ephemeralContainers
        default: .main
        }
    }

    func delete<S: KindStrategy>(_ kind: S, namespace: String, name: String, _ request: APIRequest) throws -> APIResponse {
        let options = try DeleteOptions(request)
        if options.isDryRun { return APIHandler.json(200, try registry.get(kind, namespace: namespace, name: name)) }
        return APIHandler.json(200, try registry.delete(kind, namespace: namespace, name: name, gracePeriodSeconds: options.gracePeriodSeconds,
                                                        expectedUID: options.preconditions?.uid, propagationPolicy: options.propagation))
    }

    /// DELETE on a collection (deletecollection): every object the selectors match, each deleted as a DELETE
    /// of it would be, answered with the list of them as deleted (marked, or gone). One that goes meanwhile is
    /// passed over. Only in a namespace for namespaced kinds, as kube-apiserver serves it.
    func deleteCollection<S: KindStrategy>(_ kind: S, namespace: String?, _ request: APIRequest,
                                           selector: Selector, fields: FieldSelector) throws -> APIResponse {
        let options = try DeleteOptions(request)
        let matched = try registry.list(kind, namespace: namespace, selector: selector, fields: fields)
        if options.isDryRun { return APIHandler.json(200, ObjectList(items: matched.items, resourceVersion: matched.metadata.resourceVersion ?? "", of: kind.served)) }
        var deleted: [S.Object] = []
        for object in matched.items {
            do {
                deleted.append(try registry.delete(kind, namespace: object.namespace, name: object.name, gracePeriodSeconds: options.gracePeriodSeconds,
                                                   expectedUID: nil, propagationPolicy: options.propagation))
            } catch let status as Status where status.code == 404 {
                continue
            }
        }
        return APIHandler.json(200, ObjectList(items: deleted, resourceVersion: String(registry.store.currentRevision), of: kind.served))
    }

    /// `pods/exec` and `pods/attach` reached without the WebSocket upgrade (HTTPServer declined it): say why.
    func upgradeRequired(namespace: String, name: String, subresource: String) throws -> Status {
        let pod = try registry.get(Pod.self, namespace: namespace, name: name)
        if subresource == "attach", pod.phase == "Pending" { return Status.badRequest("pod \(name) has not started yet; cannot attach to it") }
        if subresource == "exec", pod.phase != "Running" { return Status.badRequest("pod \(name) is not running (phase \(pod.phase)); cannot exec into it") }
        let subprotocols = PodExec.subprotocols.joined(separator: " or ")
        return Status.badRequest("Upgrade request required: \(subresource) takes a WebSocket with subprotocol \(subprotocols)")
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
    static func table<S: KindStrategy>(_ kind: S, _ objects: [S.Object], resourceVersion: String?, _ request: APIRequest) -> Table {
        let include = request.query["includeObject"].flatMap(Printing.IncludeObject.init) ?? .metadata
        let now = Date().timeIntervalSince1970, parseTime = { Timestamp.date($0)?.timeIntervalSince1970 }
        if let columns = kind.declaredColumns {
            return Printing.declaredTable(objects, columns: columns, resourceVersion: resourceVersion, includeObject: include, now: now, parseTime: parseTime)
        }
        return Printing.serverTable(objects, resourceVersion: resourceVersion, includeObject: include, now: now, parseTime: parseTime)
    }
}

/// `DeleteOptions` as DELETE bodies carry them, or as query parameters (the Python client's and curl's way).
struct DeleteOptions: Codable {
    struct Preconditions: Codable { var uid: String?; var resourceVersion: String? }
    var gracePeriodSeconds: Int64?
    var propagationPolicy: String?
    var preconditions: Preconditions?
    var dryRun: [String]?

    init(_ request: APIRequest) throws {
        self = request.body.isEmpty ? DeleteOptions() : try KubeJSON.decoder.decode(DeleteOptions.self, from: request.body)
        if try APIHandler.dryRun(request) { dryRun = ["All"] }
        gracePeriodSeconds = gracePeriodSeconds ?? request.query["gracePeriodSeconds"].flatMap { Int64($0) }
        propagationPolicy = propagationPolicy ?? request.query["propagationPolicy"]
    }

    init() {}

    var isDryRun: Bool { dryRun?.contains("All") == true }
    var propagation: String { propagationPolicy ?? "Background" }
}
