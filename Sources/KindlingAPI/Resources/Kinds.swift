/// The built-in kinds: each kind's description (`ServedKind`) beside the type that holds its objects. A server's
/// `KindTable` starts from them; the CLI's resource names and manifests look kinds up here.
public enum Kinds {
    public struct Entry: Sendable {
        public let served: ServedKind
        public let type: any KubeObject.Type
    }

    public static let table: [Entry] = [
        Namespace.self, Node.self, Pod.self, Service.self, Endpoints.self, EndpointSlice.self, ReplicaSet.self, Deployment.self, ReplicationController.self, Job.self,
        CronJob.self, DaemonSet.self, StatefulSet.self, PersistentVolumeClaim.self, PersistentVolume.self, StorageClass.self, PodDisruptionBudget.self, ConfigMap.self,
        Secret.self, Event.self, Lease.self, NetworkPolicy.self, Ingress.self, IngressClass.self, CustomResourceDefinition.self,
        ServiceAccount.self, Role.self, ClusterRole.self, RoleBinding.self, ClusterRoleBinding.self, SelfSubjectAccessReview.self,
        SelfSubjectReview.self, SubjectAccessReview.self, LocalSubjectAccessReview.self, SelfSubjectRulesReview.self, TokenReview.self,
        APIService.self,
    ].map { Entry(served: $0.served, type: $0) }

    public static var all: [any KubeObject.Type] { table.map(\.type) }

    public static func byKind(_ kind: String, apiVersion: String? = nil) -> (any KubeObject.Type)? {
        table.first { $0.served.kind == kind && (apiVersion == nil || $0.served.apiVersion == apiVersion) }?.type
    }

    /// Resolves what a user typed: `pods`, `pod`, `po`, `deployments.apps`, `Deployment`.
    public static func byName(_ name: String) -> (any KubeObject.Type)? {
        table.first { $0.served.answers(to: name) }?.type
    }

    /// The built-in kinds' strategies, the start of every server's `KindTable`.
    public static let strategies: [any KindStrategy] = table.map { builtin($0.type) }

    static func builtin<T: KubeObject>(_ type: T.Type) -> any KindStrategy { BuiltinKind<T>() }

    /// A built-in type's `ServedKind`, described once.
    public static func served(of type: any KubeObject.Type) -> ServedKind? { servedByType[ObjectIdentifier(type)] }

    private static let servedByType = Dictionary(uniqueKeysWithValues: table.map { (ObjectIdentifier($0.type), $0.served) })
}
