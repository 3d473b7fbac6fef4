import Foundation
import KindlingAPI

/// List, then watch, keeping a local copy of every object of one kind; calls `onChange` with the whole
/// copy after the first list and after every event. The watch is re-made from the last resourceVersion every
/// `resyncSeconds` and after any error; a 410 Gone (history too short for that version) relists.
public struct Informer<T: KubeObject>: Sendable {
    public let client: APIClient
    public let namespace: String?
    public let fieldSelector: String?
    public let resyncSeconds: Int

    public init(client: APIClient, namespace: String? = nil, fieldSelector: String? = nil, resyncSeconds: Int = 30) {
        self.client = client
        self.namespace = namespace
        self.fieldSelector = fieldSelector
        self.resyncSeconds = resyncSeconds
    }

    /// Runs until cancelled. Like client-go's reflector: list once, then watch from the last resourceVersion
    /// seen, again after each watch ends or fails (a server restart included, as its history survives it);
    /// list again only when the server answers 410 Gone (that version is older than its history) or the first
    /// list has not succeeded. Errors are retried with `Backoff`.
    public func run(onChange: @Sendable ([String: T]) async -> Void) async {
        var backoff = Backoff()
        var cache: [String: T] = [:]
        var resourceVersion: String?
        while !Task.isCancelled {
            do {
                if resourceVersion == nil {
                    let list = try await client.list(T.self, namespace: namespace, fieldSelector: fieldSelector)
                    cache = Dictionary(list.items.map { (Informer.key($0), $0) }, uniquingKeysWith: { _, b in b })
                    resourceVersion = list.metadata.resourceVersion
                    await onChange(cache)
                }
                let events = client.watch(T.self, namespace: namespace, resourceVersion: resourceVersion,
                                          fieldSelector: fieldSelector, timeoutSeconds: resyncSeconds)
                for try await event in events {
                    backoff.succeeded()
                    if let version = event.object.metadata.resourceVersion { resourceVersion = version }
                    switch event.type {
                    case .deleted: cache[Informer.key(event.object)] = nil
                    case .added, .modified: cache[Informer.key(event.object)] = event.object
                    default: continue
                    }
                    await onChange(cache)
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
