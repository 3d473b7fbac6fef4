import Foundation
import KindlingAPI
import KindlingReconcile
import KindlingStore
import Logging

extension Controller {
    /// Level-triggered reconciling through the one `ReconcileLoop`: runs `reconcile` once, then again after any
    /// change to the watched kinds (changes arriving together are handled in one pass) and at least every
    /// `resync`; a `reconcile` that throws is logged and retried with backoff.
    func reconcileOnChange(_ registry: Registry, watching kinds: [any KubeObject.Type], resync: Duration = .seconds(5),
                           _ reconcile: @escaping @Sendable () throws -> Void) async throws {
        let loop = ReconcileLoop(name, sources: kinds.map { registry.source(of: $0) }, repair: .every(resync),
                                 logger: Logger(label: "kindling.server.\(name)"))
        await loop.run { _ in try reconcile() }
        try Task.checkCancellation()
    }
}

extension Registry {
    /// The changed keys of `kind` from now on, as a loop's source; controllers read the objects from the
    /// registry itself, so the source hands over no cache.
    func source(of kind: any KubeObject.Type) -> ReconcileSource {
        let resource = kind.groupResource.description
        return ReconcileSource(changesOf: resource) { [store] deliver in
            while !Task.isCancelled {
                guard let events = try? store.watch(resource, from: store.currentRevision) else {
                    try? await Task.sleep(for: .seconds(1))
                    continue
                }
                deliver([])
                for await event in events { deliver([event.object.key.description]) }
            }
        }
    }

    /// Changes an object without the update rules a client is held to (controllers' own writes: binding,
    /// status, adoption). `change` returns nil when there is nothing to do. Returns what was written: nil when
    /// nothing was (nothing to do, or the object is gone). Retries on conflicting writes.
    @discardableResult
    func modifyUnchecked<T: KubeObject>(_ type: T.Type, namespace: String = "", name: String,
                                        _ change: (T) throws -> T?) throws -> T? {
        let key = Registry.key(T.self, namespace: namespace, name: name)
        while true {
            guard let stored = store.get(key) else { return nil }
            let old = try Registry.decode(T.self, stored)
            guard let new = try change(old) else { return nil }
            do {
                let written = try store.update(key, expected: stored.revision) { revision, _ in try Registry.encode(new, revision: revision) }
                return try Registry.decode(T.self, written)
            } catch StoreError.conflict {
                continue
            } catch StoreError.notFound {
                return nil
            }
        }
    }

    /// Writes a controller's view of an object's status (`path`), unless it already is that, and only to the
    /// object the controller saw (the same uid), not to one made since under its name.
    func writeStatus<T: KubeObject, S: Equatable>(of object: T, _ path: WritableKeyPath<T, S?>, _ status: S) throws {
        guard object[keyPath: path] != status else { return }
        try modifyUnchecked(T.self, namespace: object.metadata.namespace ?? "", name: object.name) { current in
            guard current.metadata.uid == object.metadata.uid else { return nil }
            var next = current
            next[keyPath: path] = status
            return next
        }
    }
}
