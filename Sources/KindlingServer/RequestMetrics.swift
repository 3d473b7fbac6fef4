import Foundation
import Metrics

/// kube-apiserver's request metrics, through swift-metrics: `apiserver_request_total{verb,resource,code}`,
/// `apiserver_request_duration_seconds{verb,resource}` and, for watches, `apiserver_longrunning_requests`.
enum RequestMetrics {
    /// kube-apiserver's verb and resource labels for a request: GET of a collection is LIST, `?watch=true` is
    /// WATCH, DELETE of a collection is DELETECOLLECTION; non-resource paths (/version, /api) have no resource. Pure.
    static func labels(method: String, path: String, query: [String: String]) -> (verb: String, resource: String) {
        var parts = path.split(separator: "/").map(String.init)
        switch parts.first {
        case "api": parts.removeFirst(min(2, parts.count))
        case "apis": parts.removeFirst(min(3, parts.count))
        default: return (method, "")
        }
        if parts.first == "namespaces", parts.count >= 3 { parts.removeFirst(2) }
        guard let resource = parts.first else { return (method, "") }
        let named = parts.count >= 2
        let subresource = parts.count >= 3 ? "/" + parts[2] : ""
        let verb: String
        switch method {
        case "GET": verb = ["true", "1"].contains(query["watch"] ?? "") ? "WATCH" : named ? "GET" : "LIST"
        case "DELETE": verb = named ? "DELETE" : "DELETECOLLECTION"
        default: verb = method
        }
        return (verb, resource + subresource)
    }

    static func record(method: String, path: String, query: [String: String], code: Int, since start: ContinuousClock.Instant) {
        record(labels(method: method, path: path, query: query), code: code, since: start)
    }

    /// The same, with the request's labels worked out already (the server needs them for its in-flight limit too).
    static func record(_ labels: (verb: String, resource: String), code: Int, since start: ContinuousClock.Instant) {
        let (verb, resource) = labels
        let elapsed = ContinuousClock.now - start
        Timer(label: "apiserver_request_duration_seconds", dimensions: [("verb", verb), ("resource", resource)])
            .recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
        Counter(label: "apiserver_request_total", dimensions: [("verb", verb), ("resource", resource), ("code", String(code))]).increment()
    }

    /// Counts a watch while it is open.
    static func watching<S: AsyncSequence & Sendable>(_ lines: S, path: String) -> AsyncStream<S.Element>
    where S.Element: Sendable {
        let (_, resource) = labels(method: "GET", path: path, query: ["watch": "true"])
        let open = Meter(label: "apiserver_longrunning_requests", dimensions: [("verb", "WATCH"), ("resource", resource)])
        open.increment()
        return AsyncStream { continuation in
            let task = Task {
                do { for try await line in lines { continuation.yield(line) } } catch {}
                continuation.finish()
            }
            continuation.onTermination = { _ in
                task.cancel()
                open.decrement()
            }
        }
    }
}
