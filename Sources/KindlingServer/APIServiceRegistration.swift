import Foundation
import KindlingAPI

/// kube-apiserver's autoregistration and availability controllers: every group version the server serves
/// (built-in and from CRDs) has its local APIService, labelled as kube-apiserver labels them, and goes when
/// the version stops being served; every APIService's `Available` condition says whether it is served. Local
/// ones always are. One with a service names an aggregated API server, which kindling does not proxy to: it
/// is stored and shown, and marked not available.
struct APIServiceRegistration: Controller {
    let name = "apiservice-registration"

    static let automanaged = "kube-aggregator.kubernetes.io/automanaged"

    /// kube-apiserver's group and version priorities for the groups kindling serves; others (CRDs' groups)
    /// get what the CRD registration controller gives them.
    static let priorities: [String: (group: Int, version: Int)] = [
        "": (18000, 1), "apps": (17800, 15), "batch": (17400, 15), "authentication.k8s.io": (17700, 15), "authorization.k8s.io": (17600, 15),
        "networking.k8s.io": (17200, 15), "rbac.authorization.k8s.io": (17000, 15), "apiextensions.k8s.io": (16700, 15),
        "coordination.k8s.io": (16500, 15), "discovery.k8s.io": (16200, 15), "apiregistration.k8s.io": (18000, 15),
        "storage.k8s.io": (16800, 15), "policy": (17100, 15),
    ]

    func run(_ registry: Registry) async throws {
        try await reconcileOnChange(registry, watching: [APIService.self, CustomResourceDefinition.self, Service.self]) { try sync(registry) }
    }

    /// The local APIServices the kinds served call for, by name.
    static func wanted(_ kinds: KindTable.Snapshot) -> [String: APIService] {
        let builtin = Set(KindTable.builtin.groupVersions)
        var wanted: [String: APIService] = [:]
        for groupVersion in kinds.groupVersions {
            let parts = groupVersion.split(separator: "/").map(String.init)
            let (group, version) = parts.count == 2 ? (parts[0], parts[1]) : ("", parts[0])
            let priority = priorities[group] ?? (1000, 100)
            let name = APIService.name(group: group, version: version)
            let labels = [automanaged: builtin.contains(groupVersion) ? "onstart" : "true"]
            wanted[name] = APIService(metadata: ObjectMeta(name: name, labels: labels),
                                      spec: .init(group: group, version: version, groupPriorityMinimum: priority.group, versionPriority: priority.version))
        }
        return wanted
    }

    /// What an APIService's Available condition says.
    static func available(_ service: APIService, services: [Service]) -> Condition {
        guard let reference = service.spec.service else {
            return Condition(type: "Available", status: "True", reason: "Local", message: "Local APIServices are always available")
        }
        let namespace = reference.namespace ?? "", name = reference.name ?? ""
        guard services.contains(where: { $0.namespace == namespace && $0.name == name }) else {
            return Condition(type: "Available", status: "False", reason: "ServiceNotFound", message: "service/\(name) in \"\(namespace)\" is not present")
        }
        return Condition(type: "Available", status: "False", reason: "FailedDiscoveryCheck",
                         message: "kindling does not proxy to aggregated API servers")
    }

    func sync(_ registry: Registry) throws {
        let wanted = Self.wanted(registry.kinds.snapshot)
        var existing = Dictionary(uniqueKeysWithValues: try registry.list(APIService.self).items.map { ($0.name, $0) })
        for (name, service) in wanted where existing[name] == nil {
            do {
                existing[name] = try registry.create(service)
            } catch let status as Status where status.reason == "AlreadyExists" {}
        }
        for (name, service) in existing where service.metadata.labels?[Self.automanaged] != nil && wanted[name] == nil {
            _ = try? registry.delete(APIService.self, name: name)
            existing[name] = nil
        }
        let services = try registry.list(Service.self).items
        for service in existing.values {
            var condition = Self.available(service, services: services)
            let current = service.status?.conditions?["Available"]
            guard current?.status != condition.status || current?.reason != condition.reason || current?.message != condition.message else { continue }
            condition.lastTransitionTime = current?.status == condition.status ? current?.lastTransitionTime : Timestamp.string()
            try registry.modifyUnchecked(APIService.self, name: service.name) { current in
                var next = current
                next.status = .init(conditions: [condition])
                return next
            }
        }
    }
}
