import Foundation
import KindlingAddresses
import KindlingAPI

/// A last step before an object is written, for rules that need the rest of the cluster (kube-apiserver's
/// admission and allocators). Runs under the registry's admission lock.
public protocol Admission: Sendable {
    func admit<T: APIObject>(_ object: T, old: T?, registry: Registry) throws -> T
}

public struct NoAdmission: Admission {
    public init() {}
    public func admit<T: APIObject>(_ object: T, old: T?, registry: Registry) throws -> T { object }
}

/// Admission plugins in order, each seeing what the one before made.
public struct AdmissionChain: Admission {
    public let plugins: [any Admission]

    public init(_ plugins: [any Admission]) { self.plugins = plugins }

    public func admit<T: APIObject>(_ object: T, old: T?, registry: Registry) throws -> T {
        try plugins.reduce(object) { try $1.admit($0, old: old, registry: registry) }
    }
}

/// kube-apiserver's DefaultIngressClass plugin: a new Ingress that names no class (neither `ingressClassName`
/// nor the old annotation) gets the default IngressClass, the newest if several say they are.
public struct DefaultIngressClassAdmission: Admission {
    public static let defaultAnnotation = "ingressclass.kubernetes.io/is-default-class"

    public init() {}

    public func admit<T: APIObject>(_ object: T, old: T?, registry: Registry) throws -> T {
        guard old == nil, var ingress = object as? Ingress, ingress.spec.ingressClassName == nil,
              ingress.metadata.annotations?["kubernetes.io/ingress.class"] == nil else { return object }
        let defaults = try registry.list(IngressClass.self).items.filter { $0.metadata.annotations?[Self.defaultAnnotation] == "true" }
        guard let newest = defaults.max(by: { ($0.metadata.creationTimestamp ?? "", $0.name) < ($1.metadata.creationTimestamp ?? "", $1.name) }) else { return object }
        ingress.spec.ingressClassName = newest.name
        return ingress as! T
    }
}

/// kube-apiserver's DefaultStorageClass plugin: a claim that names no class gets the default one (the newest,
/// when several are marked).
public struct DefaultStorageClassAdmission: Admission {
    public init() {}

    public func admit<T: APIObject>(_ object: T, old: T?, registry: Registry) throws -> T {
        guard old == nil, var claim = object as? PersistentVolumeClaim, claim.spec.storageClassName == nil else { return object }
        let defaults = try registry.list(StorageClass.self).items.filter(\.isDefault)
        guard let newest = defaults.max(by: { ($0.metadata.creationTimestamp ?? "", $0.name) < ($1.metadata.creationTimestamp ?? "", $1.name) }) else { return object }
        claim.spec.storageClassName = newest.name
        return claim as! T
    }
}

/// Gives Services their cluster IP and node ports.
public struct ServiceAdmission: Admission {
    public let allocation: ServiceAllocation

    public init(serviceSubnet: IPv4CIDR) { allocation = ServiceAllocation(serviceSubnet: serviceSubnet) }

    public func admit<T: APIObject>(_ object: T, old: T?, registry: Registry) throws -> T {
        guard let service = object as? Service else { return object }
        let others = try registry.list(Service.self).items.filter { $0.namespace != service.namespace || $0.name != service.name }
        var random = SystemRandomNumberGenerator()
        switch allocation.allocate(service, old: old as? Service, others: others, using: &random) {
        case .success(let allocated): return allocated as! T
        case .failure(let error): throw Status.invalid(kind: Service.kind, group: "", name: service.name, errors: error.errors)
        }
    }
}
