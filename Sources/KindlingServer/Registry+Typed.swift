import Foundation
import KindlingAPI
import KindlingMachinery
import KindlingStore

/// The registry's operations for built-in kinds, named by their type (`registry.get(Pod.self, ...)`): each is
/// the generic operation with the type's strategy.
extension Registry {
    public func get<T: KubeObject>(_ type: T.Type, namespace: String = "", name: String) throws -> T {
        try get(T.strategy, namespace: namespace, name: name)
    }

    public func list<T: KubeObject>(_ type: T.Type, namespace: String? = nil, selector: Selector = .everything,
                                    fields: FieldSelector = .everything) throws -> ObjectList<T> {
        try list(T.strategy, namespace: namespace, selector: selector, fields: fields)
    }

    public func create<T: KubeObject>(_ object: T, namespace: String? = nil, dryRun: Bool = false, writer: ManagedFields.Writer? = nil) throws -> T {
        try create(object, as: T.strategy, namespace: namespace, dryRun: dryRun, writer: writer)
    }

    public func update<T: KubeObject>(_ object: T, namespace: String = "", name: String? = nil, scope: UpdateScope = .main,
                                      dryRun: Bool = false, writer: ManagedFields.Writer? = nil) throws -> T {
        try update(object, as: T.strategy, namespace: namespace, name: name, scope: scope, dryRun: dryRun, writer: writer)
    }

    @discardableResult
    public func modify<T: KubeObject>(_ type: T.Type, namespace: String = "", name: String, expected: Int64? = nil, dryRun: Bool = false,
                                      writer: ManagedFields.Writer? = nil, _ change: (T) throws -> T) throws -> T {
        try modify(T.strategy, namespace: namespace, name: name, expected: expected, dryRun: dryRun, writer: writer, change)
    }

    @discardableResult
    public func delete<T: KubeObject>(_ type: T.Type, namespace: String = "", name: String,
                                      gracePeriodSeconds: Int64? = nil, expectedUID: String? = nil) throws -> T {
        try delete(T.strategy, namespace: namespace, name: name, gracePeriodSeconds: gracePeriodSeconds, expectedUID: expectedUID)
    }

    @discardableResult
    public func delete<T: KubeObject>(_ type: T.Type, namespace: String, name: String, gracePeriodSeconds: Int64?,
                                      expectedUID: String?, propagationPolicy: String) throws -> T {
        try delete(T.strategy, namespace: namespace, name: name, gracePeriodSeconds: gracePeriodSeconds, expectedUID: expectedUID,
                   propagationPolicy: propagationPolicy)
    }

    @discardableResult
    public func remove<T: KubeObject>(_ type: T.Type, namespace: String = "", name: String) throws -> T {
        try remove(T.strategy, namespace: namespace, name: name)
    }

    public func watch<T: KubeObject>(_ type: T.Type, namespace: String? = nil, resourceVersion: Int64?, selector: Selector = .everything,
                                     fields: FieldSelector = .everything) throws -> AsyncStream<WatchEvent<T>> {
        try watch(T.strategy, namespace: namespace, resourceVersion: resourceVersion, selector: selector, fields: fields)
    }

    static func key<T: KubeObject>(_ type: T.Type, namespace: String, name: String) -> ObjectKey {
        key(T.strategy, namespace: namespace, name: name)
    }

    static func encode<T: KubeObject>(_ object: T, revision: Int64) throws -> Data {
        try encode(object, as: T.served, revision: revision)
    }
}
