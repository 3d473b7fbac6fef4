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

    static var apiVersions: APIVersions {
        APIVersions(versions: ["v1"], serverAddressByClientCIDRs: [["clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"]])
    }

    static func groups(_ table: KindTable.Snapshot) -> APIGroupList {
        APIGroupList(groups: table.namedGroups.map { name in
            let versions = table.versions(of: name).map { GroupVersion(groupVersion: "\(name)/\($0)", version: $0) }
            return APIGroup(name: name, versions: versions, preferredVersion: versions[0])
        })
    }

    static func resources(groupVersion: String, _ table: KindTable.Snapshot) -> APIResourceList? {
        let kinds = table.served(groupVersion: groupVersion)
        guard !kinds.isEmpty else { return nil }
        var resources: [APIResource] = []
        for kind in kinds {
            resources.append(APIResource(name: kind.resource, singularName: kind.singular, namespaced: kind.namespaced,
                                         kind: kind.kind, verbs: kind.verbs, shortNames: kind.shortNames))
            for sub in kind.subresources {
                let foreign = sub.responseKind.group != kind.group
                resources.append(APIResource(name: kind.resource + "/" + sub.name, singularName: "", namespaced: kind.namespaced,
                                             kind: sub.responseKind.kind, verbs: sub.verbs,
                                             group: foreign ? sub.responseKind.group : nil, version: foreign ? sub.responseKind.version : nil))
            }
        }
        return APIResourceList(groupVersion: groupVersion, resources: resources)
    }

    // MARK: Aggregated discovery (apidiscovery.k8s.io/v2): every group, version and resource in one answer.

    static let aggregatedType = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"

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

    static func aggregated(_ groups: [String], _ table: KindTable.Snapshot) -> APIResponse {
        let list = GroupDiscoveryList(items: groups.map { group in
            GroupDiscovery(metadata: GroupName(name: group), versions: table.versions(of: group).map { version in
                VersionDiscovery(version: version, resources: table.served(group: group, version: version).map(resource))
            })
        })
        return APIHandler.json(200, list, contentType: aggregatedType)
    }

    static func resource(_ kind: ServedKind) -> ResourceDiscovery {
        ResourceDiscovery(resource: kind.resource, responseKind: kind.groupVersionKind, scope: kind.namespaced ? "Namespaced" : "Cluster",
                          singularResource: kind.singular, verbs: kind.verbs, shortNames: kind.shortNames.isEmpty ? nil : kind.shortNames,
                          categories: kind.categories.isEmpty ? nil : kind.categories,
                          subresources: kind.subresources.isEmpty ? nil : kind.subresources.map {
                              SubresourceDiscovery(subresource: $0.name, responseKind: $0.responseKind, verbs: $0.verbs)
                          })
    }

    /// The legacy group (`/api`) and the named ones (`/apis`).
    static let legacyGroup = [""]
}
