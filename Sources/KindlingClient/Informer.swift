import Foundation
import KindlingAPI

/// List, then watch, keeping a local copy of every object of one kind; calls `onChange` with the whole
/// copy after the first list and after every event. The watch is re-made (and everything relisted) every
/// `resyncSeconds`, and at once after any error, so a missed event or a 410 Gone heals by itself.
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

    /// Runs until cancelled; errors are retried with `Backoff`.
    public func run(onChange: @Sendable ([String: T]) async -> Void) async {
        var backoff = Backoff()
        while !Task.isCancelled {
            do {
                let list = try await client.list(T.self, namespace: namespace, fieldSelector: fieldSelector)
                backoff.succeeded()
                var cache = Dictionary(list.items.map { (Informer.key($0), $0) }, uniquingKeysWith: { _, b in b })
                await onChange(cache)
                let events = client.watch(T.self, namespace: namespace, resourceVersion: list.metadata.resourceVersion,
                                          fieldSelector: fieldSelector, timeoutSeconds: resyncSeconds)
                for try await event in events {
                    switch event.type {
                    case .deleted: cache[Informer.key(event.object)] = nil
                    case .added, .modified: cache[Informer.key(event.object)] = event.object
                    default: continue
                    }
                    await onChange(cache)
                }
            } catch {
                try? await Task.sleep(for: backoff.failed())
            }
        }
    }

    public static func key(_ object: T) -> String {
        object.metadata.namespace.map { "\($0)/\(object.name)" } ?? object.name
    }
}
