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
        var major = "1", minor = "34", gitVersion = "v1.34.0-kindling", gitCommit = "", gitTreeState = "clean"
        var buildDate = "", goVersion = "", compiler = "swift", platform = "linux/amd64"
    }

    static let verbs = ["create", "delete", "get", "list", "patch", "update", "watch"]

    static var apiVersions: APIVersions {
        APIVersions(versions: ["v1"], serverAddressByClientCIDRs: [["clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"]])
    }

    static var groups: APIGroupList {
        let groupNames = Set(Kinds.all.map { $0.group }.filter { !$0.isEmpty }).sorted()
        return APIGroupList(groups: groupNames.map { name in
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
            resources.append(APIResource(name: kind.resource + "/status", singularName: "", namespaced: kind.namespaced,
                                         kind: kind.kind, verbs: ["get", "patch", "update"]))
            if kind == ReplicaSet.self || kind == Deployment.self {
                resources.append(APIResource(name: kind.resource + "/scale", singularName: "", namespaced: true, kind: "Scale",
                                             verbs: ["get", "patch", "update"], group: "autoscaling", version: "v1"))
            }
        }
        return APIResourceList(groupVersion: groupVersion, resources: resources)
    }
}
