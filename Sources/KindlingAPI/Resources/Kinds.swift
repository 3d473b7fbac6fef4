/// The kinds kindling serves, for looking one up by kind, resource, singular or short name
/// (`kubectl get po`, `get pod`, `get pods` all work).
public enum Kinds {
    public static let all: [any KubeObject.Type] = [
        Namespace.self, Node.self, Pod.self, Service.self, Endpoints.self, EndpointSlice.self, ReplicaSet.self, Deployment.self, ConfigMap.self,
        Secret.self, Event.self, Lease.self, NetworkPolicy.self, Ingress.self, IngressClass.self,
    ]

    public static func byKind(_ kind: String, apiVersion: String? = nil) -> (any KubeObject.Type)? {
        all.first { $0.kind == kind && (apiVersion == nil || $0.apiVersion == apiVersion) }
    }

    /// Resolves what a user typed: `pods`, `pod`, `po`, `deployments.apps`, `Deployment`.
    public static func byName(_ name: String) -> (any KubeObject.Type)? {
        let lower = name.lowercased()
        return all.first { type in
            let names = [type.resource, type.kind.lowercased(), type.groupResource.description] + type.shortNames
            return names.contains(lower)
        }
    }
}
