import Foundation
import KindlingAPI
import KindlingStore

extension Controller {
    /// Level-triggered reconciling: runs `reconcile` once, then again after any change to the watched kinds
    /// (changes arriving together are handled in one pass) and at least every `resync`.
    func reconcileOnChange(_ registry: Registry, watching kinds: [any KubeObject.Type], resync: Duration = .seconds(5),
                           _ reconcile: @escaping @Sendable () throws -> Void) async throws {
        let (kicks, kick) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for kind in kinds {
                let events = try registry.changes(of: kind)
                group.addTask {
                    for await _ in events { kick.yield() }
                    throw Status.internalError("watch of \(kind.resource) ended")
                }
            }
            group.addTask {
                while !Task.isCancelled {
                    try await Task.sleep(for: resync)
                    kick.yield()
                }
            }
            group.addTask {
                try reconcile()
                for await _ in kicks { try reconcile() }
            }
            try await group.next()
            group.cancelAll()
        }
    }
}

extension Registry {
    /// A stream that yields once per change of any object of `kind` from now on.
    func changes(of kind: any KubeObject.Type) throws -> AsyncStream<Void> {
        let events = try store.watch(kind.groupResource.description, from: store.currentRevision)
        return AsyncStream { continuation in
            let task = Task {
                for await _ in events { continuation.yield() }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
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
}
