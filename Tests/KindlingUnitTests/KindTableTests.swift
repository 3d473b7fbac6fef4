import Foundation
import KindlingAPI
import KindlingPrinters
import KindlingServer
import KindlingStore
import Testing

/// The kind table: each kind's names, scope and subresources as Kubernetes serves them, and what the handler,
/// discovery and OpenAPI make of it.
@Suite struct KindTableTests {
    @Test func everyEntryDescribesItsType() {
        for entry in Kinds.table {
            #expect(entry.served.kind == entry.type.kind)
            #expect(entry.served.apiVersion == entry.type.apiVersion)
            #expect(entry.served.namespaced == entry.type.namespaced)
        }
        let routes = Kinds.table.map { "\($0.served.apiVersion)/\($0.served.resource)" }
        #expect(Set(routes).count == routes.count)
    }

    @Test(arguments: [
        ("po", "Pod"), ("pods", "Pod"), ("pod", "Pod"), ("Pod", "Pod"), ("deployments.apps", "Deployment"), ("deploy", "Deployment"),
        ("ingresses.networking.k8s.io", "Ingress"), ("netpol", "NetworkPolicy"), ("ns", "Namespace"), ("endpointslices", "EndpointSlice"),
    ])
    func userNamesResolve(name: String, kind: String) {
        #expect(Kinds.byName(name)?.kind == kind)
    }

    /// Subresources as kube-apiserver lists them (of those kindling serves); most kinds have none.
    @Test(arguments: [
        ("pods", ["status", "log", "exec", "attach", "eviction", "ephemeralcontainers"]), ("deployments", ["status", "scale"]), ("replicasets", ["status", "scale"]),
        ("services", ["status"]), ("nodes", ["status"]), ("namespaces", ["status"]), ("ingresses", ["status"]),
        ("configmaps", []), ("secrets", []), ("endpoints", []), ("endpointslices", []), ("events", []), ("leases", []),
        ("networkpolicies", []), ("ingressclasses", []),
    ])
    func subresources(resource: String, names: [String]) {
        #expect(Kinds.table.first { $0.served.resource == resource }?.served.subresources.map(\.name) == names)
    }

    typealias Routed = (resource: String, namespace: String?, name: String?, subresource: String?)

    /// Paths below a group version, as kube-apiserver's request info splits them; nil is 404.
    @Test(arguments: [
        ("v1", "pods", ("pods", nil, nil, nil) as Routed?),
        ("v1", "namespaces/dev/pods", ("pods", "dev", nil, nil)),
        ("v1", "namespaces/dev/pods/web/log", ("pods", "dev", "web", "log")),
        ("v1", "namespaces/dev", ("namespaces", nil, "dev", nil)),
        ("v1", "namespaces/dev/status", ("namespaces", nil, "dev", "status")),
        ("apps/v1", "namespaces/dev/deployments/web/scale", ("deployments", "dev", "web", "scale")),
        ("v1", "nodes/kind-worker/status", ("nodes", nil, "kind-worker", "status")),
        ("v1", "namespaces/dev/widgets", nil),
        ("v1", "namespaces/dev/nodes", nil),
        ("v1", "namespaces/dev/deployments", nil),
        ("v1", "namespaces/dev/configmaps/x/status", nil),
        ("v1", "namespaces/dev/pods/web/scale", nil),
        ("v1", "namespaces/dev/pods/web/status/extra", nil),
        ("v1", "widgets", nil),
    ])
    func routing(groupVersion: String, path: String, expected: Routed?) {
        let parts = path.split(separator: "/").map(String.init)
        let routed = try? APIHandler.target(groupVersion: groupVersion, parts: parts)
        #expect(routed?.0.served.resource == expected?.resource)
        #expect(routed?.1.namespace == expected?.namespace)
        #expect(routed?.1.name == expected?.name)
        #expect(routed?.1.subresource == expected?.subresource)
        if expected == nil {
            #expect(throws: Status.self) { try APIHandler.target(groupVersion: groupVersion, parts: parts) }
        }
    }

    @Test func deletionIsTheKindsDecision() {
        var pod = Pod(metadata: ObjectMeta(name: "web", namespace: "dev"), spec: PodSpec(containers: [Container(name: "c", image: "busybox")]))
        #expect(pod.deletionGrace(requested: nil) == nil)
        pod.spec.nodeName = "kind-worker"
        pod.spec.terminationGracePeriodSeconds = 12
        #expect(pod.deletionGrace(requested: nil) == 12)
        #expect(pod.deletionGrace(requested: 3) == 3)
        #expect(pod.deletionGrace(requested: 0) == nil)
        var namespace = Namespace(name: "dev")
        #expect(namespace.deletionGrace(requested: nil) == 0)
        namespace.markForDeletion()
        #expect(namespace.status?.phase == "Terminating")
        #expect(namespace.spec?.finalizers == ["kubernetes"])
        #expect(ConfigMap(namespace: "dev", name: "c", data: [:]).deletionGrace(requested: nil) == nil)
    }
}

/// The handler and the discovery documents read the table.
@Suite struct KindTableServingTests {
    let handler: APIHandler

    init() throws {
        let registry = Registry(store: try Store(path: nil))
        _ = try registry.create(Namespace(name: "dev"))
        _ = try registry.create(ConfigMap(namespace: "dev", name: "settings", data: [:]))
        handler = APIHandler(registry: registry)
    }

    func call(_ method: String, _ path: String, accept: String? = nil) async -> (Int, [String: Any]) {
        guard case .json(let status, let data, _, _) = await handler.handle(APIRequest(method: method, path: path, accept: accept)) else { return (0, [:]) }
        return (status, (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:])
    }

    /// Unknown resources and subresources are 404 NotFound; a known subresource with the wrong method is 405.
    @Test func unservedPathsAreNotFound() async {
        for path in ["/api/v1/namespaces/dev/widgets", "/api/v1/namespaces/dev/widgets/x", "/api/v1/namespaces/dev/nodes",
                     "/api/v1/namespaces/dev/configmaps/settings/status", "/api/v1/namespaces/dev/configmaps/settings/scale"] {
            let (status, body) = await call("GET", path)
            #expect(status == 404, "\(path)")
            #expect(body["reason"] as? String == "NotFound", "\(path)")
        }
        #expect(await call("DELETE", "/api/v1/namespaces/dev/configmaps/settings").0 == 200)
        #expect(await call("POST", "/api/v1/namespaces/dev/status").0 == 405)
        #expect(await call("GET", "/api/v1/namespaces/dev/status").0 == 200)
    }

    @Test func discoveryListsEachKindsSubresources() async throws {
        let (_, core) = await call("GET", "/api/v1")
        let resources = try #require(core["resources"] as? [[String: Any]])
        func entry(_ name: String) -> [String: Any]? { resources.first { $0["name"] as? String == name } }
        #expect(entry("pods/exec")?["kind"] as? String == "PodExecOptions")
        #expect(entry("pods/exec")?["verbs"] as? [String] == ["create", "get"])
        #expect(entry("pods/log")?["verbs"] as? [String] == ["get"])
        #expect(entry("configmaps") != nil && entry("configmaps/status") == nil)

        let (_, aggregated) = await call("GET", "/api", accept: "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList")
        let versions = try #require((aggregated["items"] as? [[String: Any]])?.first?["versions"] as? [[String: Any]])
        let listed = try #require(versions.first?["resources"] as? [[String: Any]])
        let pods = try #require(listed.first { $0["resource"] as? String == "pods" })
        #expect((pods["subresources"] as? [[String: Any]])?.compactMap { $0["subresource"] as? String } == ["status", "log", "exec", "attach", "eviction", "ephemeralcontainers"])
        #expect(pods["categories"] as? [String] == ["all"])
        let maps = try #require(listed.first { $0["resource"] as? String == "configmaps" })
        #expect(maps["subresources"] == nil && maps["categories"] == nil)
    }

    @Test func openAPIDescribesSubresourcePaths() async throws {
        guard case .json(_, let index, _, _) = await handler.handle(APIRequest(method: "GET", path: "/openapi/v3")) else { Issue.record("no index"); return }
        let paths = try #require((try JSONSerialization.jsonObject(with: index) as? [String: Any])?["paths"] as? [String: Any])
        #expect(Set(paths.keys) == ["api/v1", "apis/apps/v1", "apis/coordination.k8s.io/v1", "apis/discovery.k8s.io/v1", "apis/networking.k8s.io/v1",
                                   "apis/apiextensions.k8s.io/v1", "apis/authentication.k8s.io/v1", "apis/authorization.k8s.io/v1",
                                   "apis/rbac.authorization.k8s.io/v1", "apis/apiregistration.k8s.io/v1", "apis/batch/v1", "apis/storage.k8s.io/v1", "apis/policy/v1"])
        guard case .json(_, let data, _, _) = await handler.handle(APIRequest(method: "GET", path: "/openapi/v3/apis/apps/v1")) else { return }
        let document = try #require((try JSONSerialization.jsonObject(with: data) as? [String: Any])?["paths"] as? [String: Any])
        let scale = try #require(document["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"] as? [String: Any])
        #expect(Set(scale.keys) == ["get", "put", "patch"])
        let gvk = (scale["get"] as? [String: Any])?["x-kubernetes-group-version-kind"] as? [String: String]
        #expect(gvk == ["group": "autoscaling", "version": "v1", "kind": "Scale"])
    }
}

/// Every kind's printer: one cell per column, the narrow columns a prefix-preserving subset of the wide ones,
/// and a server Table whose columns come from the kind even with no rows.
@Suite struct PrinterTests {
    static let minimal: [String: String] = [
        "Pod": #"{"metadata":{"name":"x","namespace":"d"},"spec":{"containers":[{"name":"c","image":"i"}]}}"#,
        "Service": #"{"metadata":{"name":"x","namespace":"d"},"spec":{"ports":[{"port":80}]}}"#,
        "EndpointSlice": #"{"metadata":{"name":"x","namespace":"d"},"addressType":"IPv4"}"#,
        "Event": #"{"metadata":{"name":"x","namespace":"d"},"involvedObject":{"kind":"Pod","name":"p"}}"#,
        "NetworkPolicy": #"{"metadata":{"name":"x","namespace":"d"},"spec":{"podSelector":{}}}"#,
        "Ingress": #"{"metadata":{"name":"x","namespace":"d"},"spec":{}}"#,
        "ReplicaSet": #"{"metadata":{"name":"x","namespace":"d"},"spec":{}}"#,
        "ReplicationController": #"{"metadata":{"name":"x","namespace":"d"},"spec":{}}"#,
        "CronJob": #"{"metadata":{"name":"x","namespace":"d"},"spec":{"schedule":"@hourly","jobTemplate":{"spec":{"template":{"spec":{"containers":[]}}}}}}"#,
        "DaemonSet": #"{"metadata":{"name":"x","namespace":"d"},"spec":{"template":{"spec":{"containers":[]}}}}"#,
        "StatefulSet": #"{"metadata":{"name":"x","namespace":"d"},"spec":{"template":{"spec":{"containers":[]}}}}"#,
        "PersistentVolumeClaim": #"{"metadata":{"name":"x","namespace":"d"},"spec":{}}"#,
        "PersistentVolume": #"{"metadata":{"name":"x"},"spec":{}}"#,
        "StorageClass": #"{"metadata":{"name":"x"},"provisioner":"p"}"#,
        "PodDisruptionBudget": #"{"metadata":{"name":"x","namespace":"d"},"spec":{}}"#,
        "Job": #"{"metadata":{"name":"x","namespace":"d"},"spec":{"template":{"spec":{"containers":[]}}}}"#,
        "APIService": #"{"metadata":{"name":"v1.x.io"},"spec":{"group":"x.io","version":"v1","groupPriorityMinimum":1,"versionPriority":1}}"#,
        "Deployment": #"{"metadata":{"name":"x","namespace":"d"},"spec":{}}"#,
        "CustomResourceDefinition": #"{"metadata":{"name":"x"},"spec":{"group":"g.io","names":{"plural":"p","kind":"K"},"scope":"Cluster","versions":[]}}"#,
        "RoleBinding": #"{"metadata":{"name":"x","namespace":"d"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"Role","name":"r"}}"#,
        "ClusterRoleBinding": #"{"metadata":{"name":"x"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"r"}}"#,
    ]

    func check<T: KubeObject>(_ type: T.Type) throws {
        let json = Self.minimal[T.kind] ?? #"{"metadata":{"name":"x"}}"#
        let object = try KubeJSON.decoder.decode(T.self, from: Data(json.utf8))
        let wide = Printing.table([object], wide: true, withNamespace: false, now: 0, parseTime: { _ in 0 })
        let narrow = Printing.table([object], wide: false, withNamespace: false, now: 0, parseTime: { _ in 0 })
        #expect(wide.rows.first?.count == wide.headers.count, "\(T.kind)")
        #expect(narrow.rows.first?.count == narrow.headers.count, "\(T.kind)")
        #expect(narrow.headers == wide.headers.filter(narrow.headers.contains), "\(T.kind)")
        let empty = Printing.serverTable([T](), resourceVersion: "1", now: 0, parseTime: { _ in 0 })
        let printer = try #require(Printers.ownPrinter(for: T.self), "\(T.kind) has no printer of its own")
        #expect(empty.columnDefinitions.map(\.priority) == printer.columns.map { $0.wide ? 1 : 0 }, "\(T.kind)")
    }

    @Test func everyKindPrintsOneCellPerColumn() throws {
        // Reviews are created and answered, never listed: no columns.
        for entry in Kinds.table where entry.served.verbs.contains("list") { try check(entry.type) }
    }

    /// An empty list's Table has its own kind's columns (it once had a pod's, whatever was listed).
    @Test func emptyTablesHaveTheirKindsColumns() {
        let table = Printing.serverTable([Deployment](), resourceVersion: "1", now: 0, parseTime: { _ in nil })
        #expect(table.columnDefinitions.map(\.name) == ["Name", "Ready", "Up-to-date", "Available", "Age", "Containers", "Images", "Selector"])
        #expect(table.columnDefinitions.filter { $0.type == "integer" }.map(\.name) == ["Up-to-date", "Available"])
    }
}

/// Table rows carry objects as `JSONValue`s: made from the JSON tree, they must be what decoding the same JSON gives.
@Suite struct JSONValueTests {
    struct Sample: Encodable {
        var flag = true, off = false, count = 3, zero = 0, ratio = 1.5, name = "x", none: String? = nil
        var list: [Int] = [1, 0], nested = ["a": ["b": false]]
    }

    @Test func fromTheTreeAsFromTheDecoder() throws {
        let decoded = try KubeJSON.decoder.decode(JSONValue.self, from: KubeJSON.encoder.encode(Sample()))
        #expect(try JSONValue(encoding: Sample()) == decoded)
        #expect(try JSONValue(encoding: Sample()) == .object(["flag": .bool(true), "off": .bool(false), "count": .int(3), "zero": .int(0),
                                                                 "ratio": .double(1.5), "name": .string("x"), "list": .array([.int(1), .int(0)]),
                                                                 "nested": .object(["a": .object(["b": .bool(false)])])]))
        #expect(try JSONValue(encoding: "text") == .string("text"))
    }
}
