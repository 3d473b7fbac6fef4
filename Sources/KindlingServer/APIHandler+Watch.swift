import Foundation
import KindlingAPI

/// Watches as kube-apiserver streams them: one JSON event per line, Tables for `kubectl get -w`.
extension APIHandler {
    /// The bookmark that ends a watch's initial events: an object of the kind with only its resourceVersion
    /// and the `k8s.io/initial-events-end` annotation.
    static func initialEventsEnd(_ served: ServedKind, resourceVersion: String) -> Data? {
        let event: [String: Any] = ["type": "BOOKMARK", "object": [
            "kind": served.kind, "apiVersion": served.apiVersion,
            "metadata": ["resourceVersion": resourceVersion, "annotations": ["k8s.io/initial-events-end": "true"]],
        ]]
        return (try? JSONSerialization.data(withJSONObject: event, options: [.sortedKeys])).map { $0 + [UInt8(ascii: "\n")] }
    }

    func watchStream<S: KindStrategy>(_ kind: S, namespace: String?, request: APIRequest,
                                      selector: Selector, fields: FieldSelector) throws -> APIResponse {
        let from = try request.query["resourceVersion"].flatMap { text -> Int64? in
            guard !text.isEmpty else { return nil }
            guard let value = Int64(text) else { throw Status.badRequest("invalid resourceVersion \"\(text)\"") }
            return value
        }
        // `sendInitialEvents=true` (the streaming list kubectl's delete waits with): the current objects as ADDED
        // events, then a bookmark annotated `k8s.io/initial-events-end`, then the changes after that list.
        var initial: [WatchEvent<S.Object>] = []
        var start = from
        var initialEnd: Data?
        if request.query["sendInitialEvents"] == "true" {
            let list = try registry.list(kind, namespace: namespace, selector: selector, fields: fields)
            initial = list.items.map { WatchEvent(type: .added, object: $0) }
            start = Int64(list.metadata.resourceVersion ?? "")
            initialEnd = Self.initialEventsEnd(kind.served, resourceVersion: list.metadata.resourceVersion ?? "")
        }
        let events = try registry.watch(kind, namespace: namespace, resourceVersion: start, selector: selector, fields: fields)
        let timeout = request.query["timeoutSeconds"].flatMap(Double.init)
        // `kubectl get -w` watches in Table form: each event's object is a one-row Table.
        let asTable = Table.isRequested(accept: request.accept)
        func line(_ event: WatchEvent<S.Object>) -> Data? {
            let encoded = asTable
                ? try? KubeJSON.encoder.encode(WatchEvent(type: WatchEvent<Table>.EventType(rawValue: event.type.rawValue)!,
                                                          object: Self.table(kind, [event.object], resourceVersion: event.object.metadata.resourceVersion, request)))
                : try? KubeJSON.encoder.encode(event)
            return encoded.map { $0 + [UInt8(ascii: "\n")] }
        }
        return .stream(AsyncStream { continuation in
            for event in initial { if let line = line(event) { continuation.yield(line) } }
            if let initialEnd { continuation.yield(initialEnd) }
            let task = Task {
                for await event in events {
                    guard let line = line(event) else { continue }
                    continuation.yield(line)
                }
                continuation.finish()
            }
            let timer = timeout.map { seconds in
                Task {
                    try? await Task.sleep(for: .seconds(seconds))
                    continuation.finish()
                }
            }
            continuation.onTermination = { _ in
                task.cancel()
                timer?.cancel()
            }
        })
    }
}
