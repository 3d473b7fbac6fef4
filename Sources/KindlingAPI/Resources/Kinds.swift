/// The table of served kinds: each kind's description (`ServedKind`) beside the type that holds its objects.
/// Discovery, OpenAPI, the handler's routing, the CLI's resource names and manifests all look kinds up here.
public enum Kinds {
    public struct Entry: Sendable {
        public let served: ServedKind
        public let type: any KubeObject.Type
    }

    public static let table: [Entry] = [
        Namespace.self, Node.self, Pod.self, Service.self, Endpoints.self, EndpointSlice.self, ReplicaSet.self, Deployment.self, ConfigMap.self,
        Secret.self, Event.self, Lease.self, NetworkPolicy.self, Ingress.self, IngressClass.self,
    ].map { Entry(served: $0.served, type: $0) }

    public static var all: [any KubeObject.Type] { table.map(\.type) }

    public static func byKind(_ kind: String, apiVersion: String? = nil) -> (any KubeObject.Type)? {
        table.first { $0.served.kind == kind && (apiVersion == nil || $0.served.apiVersion == apiVersion) }?.type
    }

    /// Resolves what a user typed: `pods`, `pod`, `po`, `deployments.apps`, `Deployment`.
    public static func byName(_ name: String) -> (any KubeObject.Type)? {
        table.first { $0.served.answers(to: name) }?.type
    }

    /// The kind served at `/<groupVersion>/<resource>`: looked up on every request, so by a key made once.
    public static func entry(groupVersion: String, resource: String) -> Entry? { byRoute["\(groupVersion)/\(resource)"] }

    private static let byRoute = Dictionary(uniqueKeysWithValues: table.map { ("\($0.served.apiVersion)/\($0.served.resource)", $0) })

    /// The kinds of one group version (`v1`, `apps/v1`), in the table's order.
    public static func served(groupVersion: String) -> [ServedKind] {
        table.map(\.served).filter { $0.apiVersion == groupVersion }
    }

    public static func served(group: String) -> [ServedKind] { table.map(\.served).filter { $0.group == group } }

    /// Every served group version, sorted: `apps/v1`, ..., `v1`.
    public static var groupVersions: [String] { Set(table.map(\.served.apiVersion)).sorted() }

    /// The named groups (`/apis`), sorted; the legacy group "" is not among them.
    public static var namedGroups: [String] { Set(table.map(\.served.group).filter { !$0.isEmpty }).sorted() }
}
