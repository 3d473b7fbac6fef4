import Foundation
import KindlingAPI
import KindlingReconcile

/// List, then watch, keeping a local copy of every object of one kind; calls `onChange` with the whole copy
/// and the keys that changed, after the first list and after every event. The watch is made again from the
/// last resourceVersion when the server ends it (every `watchTimeoutSeconds`) and after any error; a 410 Gone
/// (history too short for that version) lists again.
public struct Informer<T: KubeObject>: Sendable {
    public let client: APIClient
    public let namespace: String?
    public let fieldSelector: String?
    /// How long each watch asks to stay open: not a resync, as nothing is listed again when it ends.
    public let watchTimeoutSeconds: Int

    public init(client: APIClient, namespace: String? = nil, fieldSelector: String? = nil, watchTimeoutSeconds: Int = 30) {
        self.client = client
        self.namespace = namespace
        self.fieldSelector = fieldSelector
        self.watchTimeoutSeconds = watchTimeoutSeconds
    }

    /// Runs until cancelled. Like client-go's reflector: list once, then watch from the last resourceVersion
    /// seen, again after each watch ends or fails (a server restart included, as its history survives it);
    /// list again only when the server answers 410 Gone (that version is older than its history) or the first
    /// list has not succeeded. Errors are retried with `Backoff`.
    public func run(onChange: @Sendable (CacheUpdate<T>) async -> Void) async {
        var backoff = Backoff()
        var cache: [String: T] = [:]
        var listed = false
        var resourceVersion: String?
        while !Task.isCancelled {
            do {
                if resourceVersion == nil {
                    let list = try await client.list(T.self, namespace: namespace, fieldSelector: fieldSelector)
                    let fresh = Dictionary(list.items.map { (Informer.key($0), $0) }, uniquingKeysWith: { _, b in b })
                    // A list after 410 Gone reports what differs from the copy: the events it stands for.
                    let update = listed ? CacheUpdate.between(cache, fresh) { $0.metadata.resourceVersion }
                                        : CacheUpdate(objects: fresh, changed: Set(fresh.keys))
                    (cache, listed, resourceVersion) = (fresh, true, list.metadata.resourceVersion)
                    await onChange(update)
                }
                let events = client.watch(T.self, namespace: namespace, resourceVersion: resourceVersion,
                                          fieldSelector: fieldSelector, timeoutSeconds: watchTimeoutSeconds)
                for try await event in events {
                    backoff.succeeded()
                    if let version = event.object.metadata.resourceVersion { resourceVersion = version }
                    let key = Informer.key(event.object)
                    switch event.type {
                    case .deleted: cache[key] = nil
                    case .added, .modified: cache[key] = event.object
                    default: continue
                    }
                    await onChange(CacheUpdate(objects: cache, changed: [key]))
                }
            } catch let status as Status where status.code == 410 {
                resourceVersion = nil
            } catch {
                try? await Task.sleep(for: backoff.failed())
            }
        }
    }

    public static func key(_ object: T) -> String {
        object.metadata.namespace.map { "\($0)/\(object.name)" } ?? object.name
    }
}

extension ReconcileSource {
    /// An informer of the loop's own.
    public static func informer<T: KubeObject>(_ informer: Informer<T>) -> ReconcileSource {
        ReconcileSource(T.self) { deliver in await informer.run { deliver($0) } }
    }

    /// A subscription to an informer shared with other loops of the process.
    public static func shared<T: KubeObject>(_ informer: SharedInformer<T>) -> ReconcileSource {
        ReconcileSource(T.self) { deliver in await informer.feed(deliver) }
    }
}
