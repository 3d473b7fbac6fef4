import Foundation
import KindlingAPI
import KindlingPrinters

/// Subresources with answers of their own: `scale`, `serviceaccounts/token` and `pods/log`.
extension APIHandler {
    func scale<S: KindStrategy>(_ kind: S, _ scaling: Scaling<S.Object>, namespace: String, name: String, method: String,
                                request: APIRequest) throws -> APIResponse {
        switch method {
        case "GET":
            return APIHandler.json(200, scaling.scale(of: try registry.get(kind, namespace: namespace, name: name)))
        case "PUT", "PATCH":
            let replicas: Int?
            if method == "PUT" {
                replicas = try decodeJSON(Scale.self, request, kind: "Scale", version: "autoscaling/v1").spec.replicas
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

    /// `serviceaccounts/{name}/token` (`kubectl create token`, kubelet's projected tokens): a token of the
    /// account for the audiences and time asked (an hour by default, ten minutes at least), bound to a pod
    /// when asked, which must be the pod named with the uid given.
    func tokenRequest(namespace: String, account name: String, _ request: APIRequest) throws -> APIResponse {
        guard let tokens else { throw Status.methodNotAllowed("this server issues no tokens") }
        let account = try registry.get(ServiceAccount.self, namespace: namespace, name: name)
        var asked = try decodeJSON(TokenRequest.self, request, kind: "TokenRequest", version: "authentication.k8s.io/v1")
        let seconds = asked.spec.expirationSeconds ?? TokenRequest.defaultExpirationSeconds
        if seconds < TokenRequest.minimumExpirationSeconds {
            throw Status.invalid(kind: "TokenRequest", group: "authentication.k8s.io", name: name,
                                 errors: [.invalid("spec.expirationSeconds", seconds, "may not specify a duration less than 10 minutes")])
        }
        var pod: Pod?
        if let bound = asked.spec.boundObjectRef {
            guard bound.kind == "Pod" else { throw Status.badRequest("cannot bind token for object of kind \"\(bound.kind ?? "")\": kindling binds tokens to pods only") }
            let found = try registry.get(Pod.self, namespace: namespace, name: bound.name ?? "")
            if let uid = bound.uid, !uid.isEmpty, uid != found.metadata.uid {
                throw Status.conflict(Pod.groupResource, found.name, "the UID in the bound object reference (\(uid)) does not match the UID in record. The object might have been deleted and then recreated")
            }
            if (found.spec.serviceAccountName ?? ServiceAccount.defaultName) != name {
                throw Status.badRequest("cannot bind token for pod \"\(found.name)\": it runs as service account \"\(found.spec.serviceAccountName ?? "")\", not \"\(name)\"")
            }
            asked.spec.boundObjectRef?.uid = found.metadata.uid
            pod = found
        }
        let audiences = asked.spec.audiences.flatMap { $0.isEmpty ? nil : $0 } ?? [ServiceAccountTokens.issuer]
        let issued = try tokens.issue(for: account, audiences: audiences, seconds: seconds, pod: pod)
        asked.spec.audiences = audiences
        asked.spec.expirationSeconds = seconds
        var meta = ObjectMeta(name: name, namespace: namespace)
        meta.creationTimestamp = registry.now
        asked.metadata = meta
        asked.status = TokenRequest.Status(token: issued.token, expirationTimestamp: Timestamp.string(issued.expires))
        return APIHandler.json(201, asked)
    }

    /// `pods/{name}/eviction`, as `kubectl drain` posts it (JSON or protobuf): the pod is deleted unless the
    /// PodDisruptionBudget that picks it allows no disruption (429, which kubectl retries). A pod that has
    /// finished or is being deleted goes whatever its budget.
    func evict(namespace: String, name: String, _ request: APIRequest) throws -> APIResponse {
        let eviction = try decodeJSON(Eviction.self, request, kind: "Eviction", version: "policy/v1")
        if let asked = eviction.metadata?.name, !asked.isEmpty, asked != name {
            throw Status.badRequest("name in URL does not match name in Eviction object")
        }
        let pod = try registry.get(Pod.self, namespace: namespace, name: name)
        if let uid = eviction.deleteOptions?.preconditions?.uid, uid != pod.metadata.uid {
            throw Status.conflict(Pod.groupResource, name, "Precondition failed: UID in precondition: \(uid), UID in object meta: \(pod.metadata.uid ?? "")")
        }
        let dryRunQuery = try Self.dryRun(request)
        let dryRun = eviction.deleteOptions?.dryRun?.contains("All") == true || dryRunQuery
        if !Scheduler.isFinished(pod) && pod.metadata.deletionTimestamp == nil {
            let budgets = try registry.list(PodDisruptionBudget.self, namespace: namespace).items.filter { $0.selects(pod) }
            if budgets.count > 1 {
                throw Status(code: 500, reason: "InternalError",
                             message: "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.")
            }
            if let budget = budgets.first { try registry.spendDisruption(for: pod, budget, dryRun: dryRun) }
        }
        if !dryRun {
            _ = try registry.delete(Pod.self, namespace: namespace, name: name, gracePeriodSeconds: eviction.deleteOptions?.gracePeriodSeconds,
                                    expectedUID: pod.metadata.uid)
        }
        return APIHandler.json(201, Status(code: 201, reason: "", message: ""))
    }

    /// `pods/{name}/log`: a container's output as text (`container`, `tailLines`, `limitBytes`, `follow`, `previous`).
    func logs(_ pod: Pod, _ request: APIRequest) throws -> APIResponse {
        let container = try ContainerLog.container(of: pod, asked: request.query["container"])
        guard let cluster else { throw Status.badRequest("this server keeps no container logs") }
        let log = ContainerLog(registry: registry, cluster: cluster, pod: pod, container: container)
        let previous = request.query["previous"] == "true" || request.query["previous"] == "1"
        guard let handle = log.open(previous: previous) else { throw previous ? log.noPrevious : log.waiting }
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
        // A followed log ends with the instance that runs now, as kubelet's does; a previous one has ended.
        let rest = follow && !previous ? log.follow(handle, process: log.runningID) : nil, first = head
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
