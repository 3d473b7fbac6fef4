import KindlingAPI

/// The discovery documents clients read to find out what is served (`/api`, `/apis`, `/api/v1`, ...).
enum Discovery {
    struct APIVersions: Codable { var kind = "APIVersions"; var versions: [String]; var serverAddressByClientCIDRs: [[String: String]] }
    struct GroupVersion: Codable { var groupVersion: String; var version: String }
    struct APIGroup: Codable { var name: String; var versions: [GroupVersion]; var preferredVersion: GroupVersion }
    struct APIGroupList: Codable { var kind = "APIGroupList"; var apiVersion = "v1"; var groups: [APIGroup] }
    struct APIResource: Codable {
        var name: String
        var singularName: String
        var namespaced: Bool
        var kind: String
        var verbs: [String]
        var shortNames: [String]?
        var group: String?
        var version: String?
    }
    struct APIResourceList: Codable { var kind = "APIResourceList"; var apiVersion = "v1"; var groupVersion: String; var resources: [APIResource] }
    struct Version: Codable {
        var major = KubernetesVersion.major, minor = KubernetesVersion.minor, gitVersion = KubernetesVersion.gitVersion
        var gitCommit = "", gitTreeState = "clean"
        var buildDate = "", goVersion = "", compiler = "swift", platform = "linux/amd64"
    }

    static let verbs = ["create", "delete", "get", "list", "patch", "update", "watch"]
    static let subresourceVerbs = ["get", "patch", "update"]

    /// The subresources a kind serves, for both discovery forms: `status` for every kind, `scale`
    /// (autoscaling/v1 Scale) for the scalable ones.
    static func subresources(of kind: any KubeObject.Type) -> [(name: String, kind: GroupVersionKind)] {
        [("status", GroupVersionKind(group: kind.group, version: "v1", kind: kind.kind))]
            + (kind is any Scalable.Type ? [("scale", GroupVersionKind(group: "autoscaling", version: "v1", kind: "Scale"))] : [])
    }

    static var apiVersions: APIVersions {
        APIVersions(versions: ["v1"], serverAddressByClientCIDRs: [["clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"]])
    }

    static var groups: APIGroupList {
        APIGroupList(groups: namedGroups.map { name in
            let gv = GroupVersion(groupVersion: "\(name)/v1", version: "v1")
            return APIGroup(name: name, versions: [gv], preferredVersion: gv)
        })
    }

    static func resources(groupVersion: String) -> APIResourceList? {
        let kinds = Kinds.all.filter { $0.apiVersion == groupVersion }
        guard !kinds.isEmpty else { return nil }
        var resources: [APIResource] = []
        for kind in kinds {
            resources.append(APIResource(name: kind.resource, singularName: kind.kind.lowercased(), namespaced: kind.namespaced,
                                         kind: kind.kind, verbs: verbs, shortNames: kind.shortNames))
            for sub in subresources(of: kind) {
                let foreign = sub.kind.group != kind.group
                resources.append(APIResource(name: kind.resource + "/" + sub.name, singularName: "", namespaced: kind.namespaced,
                                             kind: sub.kind.kind, verbs: subresourceVerbs,
                                             group: foreign ? sub.kind.group : nil, version: foreign ? sub.kind.version : nil))
            }
        }
        return APIResourceList(groupVersion: groupVersion, resources: resources)
    }

    // MARK: Aggregated discovery (apidiscovery.k8s.io/v2): every group, version and resource in one answer.

    static let aggregatedType = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"

    struct GroupVersionKind: Codable { var group: String; var version: String; var kind: String }
    struct SubresourceDiscovery: Codable { var subresource: String; var responseKind: GroupVersionKind; var verbs: [String] }
    struct ResourceDiscovery: Codable {
        var resource: String
        var responseKind: GroupVersionKind
        var scope: String
        var singularResource: String
        var verbs: [String]
        var shortNames: [String]?
        var categories: [String]?
        var subresources: [SubresourceDiscovery]?
    }
    struct VersionDiscovery: Codable { var version: String; var resources: [ResourceDiscovery]; var freshness = "Current" }
    struct GroupName: Codable { var name: String }
    struct GroupDiscovery: Codable { var metadata: GroupName; var versions: [VersionDiscovery] }
    struct GroupDiscoveryList: Codable {
        var kind = "APIGroupDiscoveryList"
        var apiVersion = "apidiscovery.k8s.io/v2"
        var metadata = ListMeta()
        var items: [GroupDiscovery]
    }

    /// Whether the client asks for the aggregated form (kubectl does, first, for `/api` and `/apis`).
    static func wantsAggregated(_ accept: String?) -> Bool {
        AcceptHeader.offers(accept, ["g=apidiscovery.k8s.io", "v=v2", "as=APIGroupDiscoveryList"])
    }

    static func aggregated(_ groups: [String]) -> APIResponse {
        let list = GroupDiscoveryList(items: groups.map { group in
            let kinds = Kinds.all.filter { $0.group == group }
            let resources = kinds.map { kind in
                let subresources = subresources(of: kind).map {
                    SubresourceDiscovery(subresource: $0.name, responseKind: $0.kind, verbs: subresourceVerbs)
                }
                return ResourceDiscovery(resource: kind.resource, responseKind: .init(group: group, version: "v1", kind: kind.kind),
                                         scope: kind.namespaced ? "Namespaced" : "Cluster", singularResource: kind.kind.lowercased(),
                                         verbs: verbs, shortNames: kind.shortNames.isEmpty ? nil : kind.shortNames,
                                         categories: allCategory.contains(kind.kind) ? ["all"] : nil, subresources: subresources)
            }
            return GroupDiscovery(metadata: GroupName(name: group), versions: [VersionDiscovery(version: "v1", resources: resources)])
        })
        return APIHandler.json(200, list, contentType: aggregatedType)
    }

    /// The legacy group (`/api`) and the named ones (`/apis`).
    static let legacyGroup = [""]
    static var namedGroups: [String] { Set(Kinds.all.map { $0.group }.filter { !$0.isEmpty }).sorted() }

    /// Kinds in the `all` category (`kubectl get all`), as Kubernetes puts them there.
    static let allCategory: Set = ["Pod", "Service", "ReplicaSet", "Deployment"]
}
