import KindlingAPI
import KindlingMachinery

/// The schemas of built-in kinds: read from kindling's own types (`TypeSchema`), so `kubectl explain` shows the
/// fields kindling keeps (a field Kubernetes has and kindling drops is not there), named as kube-openapi names
/// Kubernetes' types, with a description of each kind.
extension OpenAPI {
    /// A built-in kind's schema, its metadata (and that of pod templates) referring to ObjectMeta's.
    static func builtinSchema(_ type: any KubeObject.Type) -> [String: Any] {
        func of<T: KubeObject>(_ type: T.Type) -> [String: Any] {
            TypeSchema.of(T.self, metadataSchema: reference(objectMetaName, "Standard object's metadata."))
        }
        return of(type)
    }

    /// Each built-in group's Go package, the prefix of its schemas' names.
    static let builtinPackages = [
        "": "io.k8s.api.core", "apps": "io.k8s.api.apps", "batch": "io.k8s.api.batch", "discovery.k8s.io": "io.k8s.api.discovery",
        "networking.k8s.io": "io.k8s.api.networking", "coordination.k8s.io": "io.k8s.api.coordination",
        "rbac.authorization.k8s.io": "io.k8s.api.rbac", "authentication.k8s.io": "io.k8s.api.authentication",
        "authorization.k8s.io": "io.k8s.api.authorization", "apiextensions.k8s.io": "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions",
        "apiregistration.k8s.io": "io.k8s.kube-aggregator.pkg.apis.apiregistration", "storage.k8s.io": "io.k8s.api.storage", "policy": "io.k8s.api.policy",
    ]

    /// What each built-in kind is, for `kubectl explain <kind>`.
    static let kindDescriptions = [
        "Namespace": "A scope for names: objects of namespaced kinds live in one, and deleting it deletes them.",
        "Node": "A machine pods run on; in kindling a network namespace with its own agent, as kind's nodes are containers.",
        "Pod": "One or more containers that share a network namespace and volumes, scheduled together onto one node.",
        "Service": "A stable address and name in front of the pods its selector picks, programmed on every node by the service proxy.",
        "Endpoints": "The addresses and ports behind a Service, as the endpoints controller reads them from its ready pods.",
        "EndpointSlice": "A part of the endpoints of a Service, with each endpoint's readiness, node and zone.",
        "ReplicaSet": "Keeps a number of pods made from its template running, adopting pods its selector matches.",
        "ReplicationController": "The ReplicaSet's predecessor: keeps a number of pods from its template, with an equality-based selector.",
        "Deployment": "Declares pods by a template and rolls changes out through ReplicaSets, one per template.",
        "Job": "Runs pods to completion: a number of successes, a number of them at a time, within a number of failures.",
        "CronJob": "Makes a Job from its template at each time of a cron schedule.",
        "DaemonSet": "Runs a pod of its template on every node it is meant for.",
        "StatefulSet": "Runs pods with stable names, hostnames and claims of their own, started and updated in order.",
        "PersistentVolumeClaim": "A request for storage, bound to a PersistentVolume its class provisions.",
        "PersistentVolume": "Storage a claim binds to; kindling's are directories on the machine, tied to one node.",
        "StorageClass": "How claims naming it get their volumes: the provisioner, binding mode and reclaim policy.",
        "PodDisruptionBudget": "How many of the pods it picks must stay healthy while they are evicted (kubectl drain).",
        "ConfigMap": "Configuration as keys and values, for pods to read as variables or files.",
        "Secret": "Sensitive data as keys and base64 values, for pods to read as variables or files.",
        "Event": "A report of something that happened to an object, for describe and get events.",
        "Lease": "A lock with a holder and a renewal time; nodes renew theirs as a heartbeat.",
        "NetworkPolicy": "Which traffic the pods it selects may receive and send; anything else is dropped once a policy selects them.",
        "Ingress": "HTTP routing by host and path to Services, served by an ingress controller.",
        "IngressClass": "Which controller serves the Ingresses that name this class.",
        "CustomResourceDefinition": "Adds a kind to the API: its names, versions and the schema of its objects.",
        "ServiceAccount": "An identity for the processes of pods, whose tokens the API authenticates.",
        "Role": "Rules granting verbs on resources within one namespace.",
        "ClusterRole": "Rules granting verbs on resources in every namespace, on cluster-scoped kinds and on non-resource paths.",
        "RoleBinding": "Grants a Role or ClusterRole to users, groups and ServiceAccounts within one namespace.",
        "ClusterRoleBinding": "Grants a ClusterRole to users, groups and ServiceAccounts across the cluster.",
        "SelfSubjectAccessReview": "Asks whether the caller may do something; answered at once, never stored.",
        "SelfSubjectReview": "Asks who the caller is, as authenticated; answered at once, never stored.",
        "SubjectAccessReview": "Asks whether a user or group may do something; answered at once, never stored.",
        "LocalSubjectAccessReview": "A SubjectAccessReview within one namespace; answered at once, never stored.",
        "SelfSubjectRulesReview": "Asks for everything the caller may do in a namespace; answered at once, never stored.",
        "TokenReview": "Asks who a bearer token stands for; answered at once, never stored.",
        "APIService": "A group version the API serves, locally or through an aggregated API server.",
    ]
}
