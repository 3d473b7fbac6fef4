import Foundation
import KindlingAPI
import KindlingPrinters

/// Subresources with answers of their own: `scale` and `pods/log`.
extension APIHandler {
    func scale<S: KindStrategy>(_ kind: S, _ scaling: Scaling<S.Object>, namespace: String, name: String, method: String,
                                request: APIRequest) throws -> APIResponse {
        switch method {
        case "GET":
            return APIHandler.json(200, scaling.scale(of: try registry.get(kind, namespace: namespace, name: name)))
        case "PUT", "PATCH":
            let replicas: Int?
            if method == "PUT" {
                replicas = try KubeJSON.decoder.decode(Scale.self, from: request.body).spec.replicas
            } else {
                let patch = try jsonBody(request) as? [String: Any]
                replicas = (patch?["spec"] as? [String: Any])?["replicas"] as? Int
            }
            guard let replicas else { throw Status.badRequest("spec.replicas is required") }
            if replicas < 0 {
                throw Status.invalid(kind: "Scale", group: "autoscaling", name: name,
                                     errors: [.invalid("spec.replicas", replicas, "must be greater than or equal to 0")])
            }
            let updated = try registry.modify(kind, namespace: namespace, name: name, writer: Self.writer(request, subresource: "scale")) { current in
                var next = current
                scaling.write(&next, replicas)
                return next
            }
            return APIHandler.json(200, scaling.scale(of: updated))
        default:
            throw Status.methodNotAllowed("the server does not allow this method on the requested resource")
        }
    }

    /// `pods/{name}/log`: a container's output as text (`container`, `tailLines`, `limitBytes`, `follow`).
    func logs(_ pod: Pod, _ request: APIRequest) throws -> APIResponse {
        let container = try ContainerLog.container(of: pod, asked: request.query["container"])
        guard let cluster else { throw Status.badRequest("this server keeps no container logs") }
        let log = ContainerLog(registry: registry, cluster: cluster, pod: pod, container: container)
        guard let handle = log.open() else { throw log.waiting }
        let end = handle.seekToEndOfFile()
        logReads.record(log, offset: end)
        let limit = request.query["limitBytes"].flatMap(UInt64.init).flatMap { $0 > 0 ? $0 : nil }
        // What exists now: the last lines only (read from the end), or the whole file in chunks, never all at once.
        var head = Data()
        if let tail = request.query["tailLines"].flatMap(Int.init), tail >= 0 {
            head = LogText.lastLines(of: handle, tail, end: end)
            if let limit, UInt64(head.count) > limit { head = head.prefix(Int(limit)) }
        } else {
            handle.seek(toFileOffset: 0)
        }
        let follow = request.query["follow"] == "true" || request.query["follow"] == "1"
        let whole = request.query["tailLines"] == nil
        let rest = follow ? log.follow(handle) : nil, first = head
        return .stream(AsyncStream { continuation in
            let task = Task {
                continuation.yield(first)
                if whole {
                    var left = min(end, limit ?? end)
                    while left > 0, !Task.isCancelled {
                        let chunk = handle.readData(ofLength: Int(min(left, 64 * 1024)))
                        if chunk.isEmpty { break }
                        left -= UInt64(chunk.count)
                        continuation.yield(chunk)
                    }
                }
                if let rest { for await chunk in rest { continuation.yield(chunk) } } else { try? handle.close() }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }, contentType: "text/plain")
    }
}
