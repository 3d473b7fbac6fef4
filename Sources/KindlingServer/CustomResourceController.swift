import Foundation
import KindlingAPI

/// Serves the kinds CustomResourceDefinitions define: apiextensions' naming, establishing and finalizing
/// controllers in one. A CRD's names are accepted unless another CRD of its group has them; it is then
/// NamesAccepted and Established, and its served versions are in the server's kind table, each with its
/// schema and columns. A deleted CRD stays served but takes no new objects while its objects are deleted; it
/// leaves the table once they are gone, and then goes.
struct CustomResourceController: Controller {
    let name = "customresourcedefinitions"
    /// What this controller put in the table, by CRD name, with the definition it came from.
    let served = ServedDefinitions()

    func run(_ registry: Registry) async throws {
        try await reconcileOnChange(registry, watching: [CustomResourceDefinition.self]) { try sync(registry) }
    }

    func sync(_ registry: Registry) throws {
        let crds = try registry.list(CustomResourceDefinition.self).items
        var wanted: [String: CustomResourceDefinition] = [:]
        for crd in crds {
            if crd.metadata.deletionTimestamp != nil {
                if try !finalize(crd, registry), crd.isEstablished { wanted[crd.name] = crd }
                continue
            }
            let status = Self.status(of: crd, among: crds, now: registry.now)
            // Conditions keep their transition times unless they change, so an unchanged status compares equal.
            if status != crd.status {
                try registry.modifyUnchecked(CustomResourceDefinition.self, name: crd.name) { current in
                    var next = current
                    next.status = Self.status(of: current, among: crds, now: registry.now)
                    return next.status == current.status ? nil : next
                }
            }
            var accepted = crd
            accepted.status = status
            if accepted.isEstablished { wanted[crd.name] = accepted }
        }
        served.sync(wanted, into: registry.kinds)
    }

    /// The CRD's status given every CRD: accepted names unless another CRD of the group has them, the
    /// NamesAccepted and Established conditions, the storage version among the stored ones. Pure.
    static func status(of crd: CustomResourceDefinition, among all: [CustomResourceDefinition], now: String) -> CustomResourceDefinition.Status {
        var status = crd.status ?? CustomResourceDefinition.Status()
        let names = crd.spec.names
        let peers = all.filter { $0.name != crd.name && $0.spec.group == crd.spec.group && $0.metadata.deletionTimestamp == nil }
            .compactMap { $0.status?.acceptedNames }
        var conflict: (reason: String, message: String)?
        func taken(_ reason: String, _ value: String?, _ used: (CustomResourceDefinition.Names) -> [String]) {
            guard let value, !value.isEmpty, peers.contains(where: { used($0).contains(value) }) else { return }
            conflict = (reason, "\"\(value)\" is already in use")
        }
        taken("PluralConflict", names.plural) { [$0.plural] }
        taken("SingularConflict", names.singular) { [$0.singular ?? ""] }
        for short in names.shortNames ?? [] { taken("ShortNamesConflict", short) { $0.shortNames ?? [] } }
        taken("KindConflict", names.kind) { [$0.kind] }
        taken("ListKindConflict", names.listKind) { [$0.listKind ?? ""] }
        var conditions = status.conditions ?? []
        if let conflict {
            conditions.set(Condition(type: "NamesAccepted", status: "False", reason: conflict.reason, message: conflict.message), now: now)
            if conditions["Established"] == nil {
                conditions.set(Condition(type: "Established", status: "False", reason: "NotAccepted", message: "not all names are accepted"), now: now)
            }
        } else {
            status.acceptedNames = names
            conditions.set(Condition(type: "NamesAccepted", status: "True", reason: "NoConflicts", message: "no conflicts found"), now: now)
            conditions.set(Condition(type: "Established", status: "True", reason: "InitialNamesAccepted",
                                     message: "the initial names have been accepted"), now: now)
        }
        if let approval = APIApproval.state(group: crd.spec.group, annotations: crd.metadata.annotations).condition {
            conditions.set(approval, now: now)
        }
        status.conditions = conditions
        if let storage = crd.storageVersion, !(status.storedVersions ?? []).contains(storage) {
            status.storedVersions = (status.storedVersions ?? []) + [storage]
        }
        return status
    }

    /// A deleted CRD: its objects deleted (as clients delete them, so their finalizers hold them), then, once
    /// none is left, out of the table and its finalizer removed, so it goes. Returns whether it went.
    func finalize(_ crd: CustomResourceDefinition, _ registry: Registry) throws -> Bool {
        guard (crd.metadata.finalizers ?? []).contains(CustomResourceDefinition.cleanupFinalizer) else { return false }
        // Objects are kept by group and plural alone, so any version's kind reaches all of them.
        if crd.isEstablished, let version = crd.spec.versions.first(where: \.storage) ?? crd.spec.versions.first {
            let stored = CustomKind(crd.servedKind(version))
            try setTerminating(crd, registry, "True", "InstanceDeletionInProgress", "CustomResource deletion is in progress")
            for object in try registry.list(stored).items where object.metadata.deletionTimestamp == nil {
                _ = try? registry.delete(stored, namespace: object.namespace, name: object.name)
            }
            guard try registry.list(stored).items.isEmpty else { return false }
            try setTerminating(crd, registry, "False", "InstanceDeletionCompleted", "removed all instances")
        } else {
            try setTerminating(crd, registry, "False", "NeverEstablished", "resource was never established")
        }
        served.remove(crd.name, from: registry.kinds)
        try registry.modify(CustomResourceDefinition.self, name: crd.name) { current in
            var next = current
            next.metadata.finalizers = current.metadata.finalizers?.filter { $0 != CustomResourceDefinition.cleanupFinalizer }
            return next
        }
        return true
    }

    /// The Terminating condition, as apiextensions' finalizer reports its progress.
    func setTerminating(_ crd: CustomResourceDefinition, _ registry: Registry, _ status: String, _ reason: String, _ message: String) throws {
        try registry.modifyUnchecked(CustomResourceDefinition.self, name: crd.name) { current in
            var next = current, conditions = current.status?.conditions ?? []
            conditions.set(Condition(type: "Terminating", status: status, reason: reason, message: message), now: registry.now)
            next.status = next.status ?? CustomResourceDefinition.Status()
            next.status?.conditions = conditions
            return next.status == current.status ? nil : next
        }
    }
}

/// The kinds the controller has put in a kind table, by CRD, each with the definition it came from, so a
/// changed definition replaces exactly its own.
final class ServedDefinitions: @unchecked Sendable {
    private let lock = NSLock()
    private var current: [String: CustomResourceDefinition] = [:]

    /// What the served kinds are made of (the spec, the accepted names, whether the CRD is being deleted): a
    /// write that changes only other metadata or conditions (the controller's own status writes) leaves them in
    /// place, so requests never see them gone for a moment.
    static func same(_ a: CustomResourceDefinition, _ b: CustomResourceDefinition?) -> Bool {
        guard let b else { return false }
        return a.spec == b.spec && a.status?.acceptedNames == b.status?.acceptedNames
            && (a.metadata.deletionTimestamp == nil) == (b.metadata.deletionTimestamp == nil)
    }

    func sync(_ wanted: [String: CustomResourceDefinition], into table: KindTable) {
        lock.withLock {
            for (name, crd) in current where !Self.same(crd, wanted[name]) { unserve(crd, from: table); current[name] = nil }
            for (name, crd) in wanted where current[name] == nil {
                for kind in Self.strategies(crd) { try? table.add(kind) }
                current[name] = crd
            }
        }
    }

    func remove(_ name: String, from table: KindTable) {
        lock.withLock {
            if let crd = current.removeValue(forKey: name) { unserve(crd, from: table) }
        }
    }

    private func unserve(_ crd: CustomResourceDefinition, from table: KindTable) {
        for kind in crd.servedKinds() { table.remove(groupVersion: kind.apiVersion, resource: kind.resource) }
    }

    static func strategies(_ crd: CustomResourceDefinition) -> [CustomKind] {
        func rules(_ version: CustomResourceDefinition.Version?) -> CustomResourceSchema? {
            version?.schema?.openAPIV3Schema.map(CustomResourceSchema.init)
        }
        let storage = crd.spec.versions.first(where: \.storage)
        return crd.spec.versions.filter(\.served).map { version in
            CustomKind(crd.servedKind(version), rules: rules(version), storageRules: version.storage ? nil : rules(storage),
                       columns: CustomResourceDefinition.columns(version), scale: version.subresources?.scale,
                       terminating: crd.metadata.deletionTimestamp != nil, openAPISchema: version.schema?.openAPIV3Schema)
        }
    }
}
