import Foundation
import KindlingAPI

/// Keeps, for every Service with a selector, EndpointSlices and the legacy Endpoints equal to the pods the
/// selector matches: their IPs, nodes, ready/serving/terminating conditions, and target ports resolved per pod
/// (a named targetPort a pod does not have leaves that pod out of that port). Services without a selector are
/// left to the user's own Endpoints and EndpointSlices; a user's Endpoints are mirrored into EndpointSlices
/// (Kubernetes' endpointslice-mirroring controller), since those are what proxies read.
struct EndpointsController: Controller {
    let name = "endpoints"
    static let endpointsManagedByLabel = "endpoints.kubernetes.io/managed-by"
    static let endpointsManagedBy = "endpoint-controller"
    /// kube-controller-manager's default --max-endpoints-per-slice.
    static let maxEndpointsPerSlice = 100
    static let mirroredBy = "endpointslicemirroring-controller.k8s.io"
    /// Endpoints whose slices their writer keeps itself (the `kubernetes` Service's).
    static let skipMirrorLabel = "endpointslice.kubernetes.io/skip-mirror"

    func run(_ registry: Registry) async throws {
        try await reconcileOnChange(registry, watching: [Service.self, Pod.self, EndpointSlice.self, Endpoints.self]) {
            try syncAll(registry)
        }
    }

    func syncAll(_ registry: Registry) throws {
        let services = try registry.list(Service.self).items
        let pods = try registry.list(Pod.self).items
        let allSlices = try registry.list(EndpointSlice.self).items
        let slices = allSlices.filter { $0.metadata.labels?[EndpointSlice.managedByLabel] == EndpointSlice.managedBy }
        let mirrors = allSlices.filter { $0.metadata.labels?[EndpointSlice.managedByLabel] == EndpointsController.mirroredBy }
        func sliceKey(_ slice: EndpointSlice) -> String { "\(slice.namespace)/\(slice.metadata.labels?[EndpointSlice.serviceNameLabel] ?? "")" }
        let managed = Set(services.filter(EndpointsController.isManaged).map { "\($0.namespace)/\($0.name)" })
        for service in services where EndpointsController.isManaged(service) {
            let groups = EndpointsController.groups(for: service, pods: pods.filter { $0.namespace == service.namespace })
            try syncSlices(service, groups, slices.filter { sliceKey($0) == "\(service.namespace)/\(service.name)" }, registry,
                           managedBy: EndpointSlice.managedBy)
            try syncEndpoints(service, groups, registry)
        }
        for slice in slices where !managed.contains(sliceKey(slice)) {
            _ = try? registry.delete(EndpointSlice.self, namespace: slice.namespace, name: slice.name)
        }

        let userEndpoints = Dictionary(try registry.list(Endpoints.self).items.filter {
            $0.metadata.labels?[EndpointsController.endpointsManagedByLabel] != EndpointsController.endpointsManagedBy
        }.map { ("\($0.namespace)/\($0.name)", $0) }, uniquingKeysWith: { a, _ in a })
        var mirrored = Set<String>()
        for service in services where EndpointsController.isMirrored(service) {
            let key = "\(service.namespace)/\(service.name)"
            guard let endpoints = userEndpoints[key], endpoints.metadata.labels?[Self.skipMirrorLabel] != "true" else { continue }
            mirrored.insert(key)
            try syncSlices(service, EndpointsController.groups(mirroring: endpoints), mirrors.filter { sliceKey($0) == key }, registry,
                           managedBy: EndpointsController.mirroredBy)
        }
        for slice in mirrors where !mirrored.contains(sliceKey(slice)) {
            _ = try? registry.delete(EndpointSlice.self, namespace: slice.namespace, name: slice.name)
        }
        for endpoints in try registry.list(Endpoints.self).items
        where endpoints.metadata.labels?[EndpointsController.endpointsManagedByLabel] == EndpointsController.endpointsManagedBy
            && !managed.contains("\(endpoints.namespace)/\(endpoints.name)") {
            _ = try? registry.delete(Endpoints.self, namespace: endpoints.namespace, name: endpoints.name)
        }
    }

    static func isManaged(_ service: Service) -> Bool {
        service.type != "ExternalName" && !(service.spec.selector ?? [:]).isEmpty && service.metadata.deletionTimestamp == nil
    }

    /// Kubernetes' `endpoints.kubernetes.io/last-change-trigger-time`, set to now on every slice change.
    static func stampTrigger(_ annotations: [String: String]?) -> [String: String] {
        var annotations = annotations ?? [:]
        annotations[EndpointSlice.triggerTimeAnnotation] = Timestamp.preciseString()
        return annotations
    }

    /// A service whose endpoints the user writes: its Endpoints are mirrored into slices.
    static func isMirrored(_ service: Service) -> Bool {
        service.type != "ExternalName" && (service.spec.selector ?? [:]).isEmpty && service.metadata.deletionTimestamp == nil
    }

    /// A user's Endpoints as slice groups: one per subset, ready and not-ready addresses alike. Pure.
    static func groups(mirroring endpoints: Endpoints) -> [[EndpointSlice.Port]: [Resolved]] {
        var groups: [[EndpointSlice.Port]: [Resolved]] = [:]
        for subset in endpoints.subsets ?? [] {
            let ports = (subset.ports ?? []).map { EndpointSlice.Port(name: $0.name ?? "", port: $0.port, protocol: $0.protocol ?? "TCP") }
            for (address, ready) in (subset.addresses ?? []).map({ ($0, true) }) + (subset.notReadyAddresses ?? []).map({ ($0, false) }) {
                groups[ports, default: []].append(Resolved(
                    ip: address.ip, node: address.nodeName,
                    pod: address.targetRef, ready: ready, serving: ready, terminating: false))
            }
        }
        return groups
    }

    /// One endpoint: a pod's address with the ports it resolves to.
    struct Resolved: Hashable {
        let ip: String
        /// The pod's `hostname` when its `subdomain` names this service (DNS: `<hostname>.<svc>.<ns>.svc`).
        var hostname: String? = nil
        let node: String?
        let pod: ObjectReference?
        let ready: Bool
        let serving: Bool
        let terminating: Bool
    }

    /// The endpoints of `service`, grouped by the ports they resolve to (most services have one group). Pure.
    static func groups(for service: Service, pods: [Pod]) -> [[EndpointSlice.Port]: [Resolved]] {
        var groups: [[EndpointSlice.Port]: [Resolved]] = [:]
        let selector = service.spec.selector ?? [:]
        for pod in pods {
            guard selector.allSatisfy({ pod.metadata.labels?[$0.key] == $0.value }),
                  let ip = pod.status?.podIP, !ip.isEmpty, !Scheduler.isFinished(pod) else { continue }
            let ports = (service.spec.ports ?? []).compactMap { port -> EndpointSlice.Port? in
                let number: Int?
                switch port.targetPort ?? .int(port.port) {
                case .int(let value): number = value
                case .string(let name):
                    number = pod.spec.containers.lazy.compactMap { $0.ports?.first { $0.name == name }?.containerPort }.first
                }
                return number.map { EndpointSlice.Port(name: port.name ?? "", port: $0, protocol: port.protocol ?? "TCP") }
            }
            guard !ports.isEmpty || (service.spec.ports ?? []).isEmpty else { continue }
            let terminating = pod.metadata.deletionTimestamp != nil
            let ready = pod.isReady
            groups[ports, default: []].append(Resolved(
                ip: ip, hostname: pod.spec.subdomain == service.name ? pod.spec.hostname : nil, node: pod.spec.nodeName,
                pod: ObjectReference(kind: "Pod", namespace: pod.namespace, name: pod.name, uid: pod.metadata.uid),
                ready: ready && !terminating, serving: ready, terminating: terminating))
        }
        return groups.mapValues { $0.sorted { $0.ip.compare($1.ip, options: .numeric) == .orderedAscending } }
    }

    func syncSlices(_ service: Service, _ groups: [[EndpointSlice.Port]: [Resolved]], _ existing: [EndpointSlice], _ registry: Registry,
                    managedBy: String) throws {
        var desired: [(ports: [EndpointSlice.Port], endpoints: [EndpointSlice.Endpoint])] = []
        for (ports, resolved) in groups.sorted(by: { $0.key.description < $1.key.description }) {
            let endpoints = resolved.map { endpoint in
                var sliceEndpoint = EndpointSlice.Endpoint(addresses: [endpoint.ip],
                                                           conditions: .init(ready: endpoint.ready, serving: endpoint.serving, terminating: endpoint.terminating),
                                                           nodeName: endpoint.node, targetRef: endpoint.pod)
                sliceEndpoint.hostname = endpoint.hostname
                return sliceEndpoint
            }
            for start in stride(from: 0, to: endpoints.count, by: EndpointsController.maxEndpointsPerSlice) {
                desired.append((ports, Array(endpoints[start..<min(start + EndpointsController.maxEndpointsPerSlice, endpoints.count)])))
            }
        }
        // A service with no endpoints still has one (empty) slice carrying its ports, as in Kubernetes.
        if desired.isEmpty {
            desired.append(((service.spec.ports ?? []).map { EndpointSlice.Port(name: $0.name ?? "", port: nil, protocol: $0.protocol ?? "TCP") }, []))
        }
        let current = existing.sorted { $0.name < $1.name }
        for (index, want) in desired.enumerated() {
            if index < current.count {
                let slice = current[index]
                guard slice.ports != want.ports || (slice.endpoints ?? []) != want.endpoints else { continue }
                try registry.modifyUnchecked(EndpointSlice.self, namespace: slice.namespace, name: slice.name) { live in
                    var updated = live
                    updated.ports = want.ports
                    updated.endpoints = want.endpoints
                    updated.metadata.annotations = EndpointsController.stampTrigger(live.metadata.annotations)
                    return updated
                }
            } else {
                var meta = ObjectMeta(namespace: service.namespace, labels: (service.metadata.labels ?? [:]).merging([
                    EndpointSlice.serviceNameLabel: service.name, EndpointSlice.managedByLabel: managedBy,
                ]) { _, ours in ours })
                meta.generateName = service.name + "-"
                meta.annotations = EndpointsController.stampTrigger(nil)
                meta.ownerReferences = [OwnerReference(apiVersion: "v1", kind: "Service", name: service.name, uid: service.metadata.uid ?? "")]
                _ = try registry.create(EndpointSlice(metadata: meta, endpoints: want.endpoints, ports: want.ports))
            }
        }
        for extra in current.dropFirst(desired.count) {
            _ = try? registry.delete(EndpointSlice.self, namespace: extra.namespace, name: extra.name)
        }
    }

    func syncEndpoints(_ service: Service, _ groups: [[EndpointSlice.Port]: [Resolved]], _ registry: Registry) throws {
        let publishAll = service.spec.publishNotReadyAddresses == true
        let subsets = groups.sorted(by: { $0.key.description < $1.key.description }).compactMap { ports, resolved -> Endpoints.Subset? in
            func address(_ endpoint: Resolved) -> Endpoints.Address {
                var address = Endpoints.Address(ip: endpoint.ip, nodeName: endpoint.node, targetRef: endpoint.pod)
                address.hostname = endpoint.hostname
                return address
            }
            let live = resolved.filter { !$0.terminating || publishAll }
            let ready = live.filter { $0.ready || publishAll }.map(address)
            let notReady = live.filter { !($0.ready || publishAll) }.map(address)
            guard !ready.isEmpty || !notReady.isEmpty else { return nil }
            return Endpoints.Subset(addresses: ready.isEmpty ? nil : ready, notReadyAddresses: notReady.isEmpty ? nil : notReady,
                                    ports: ports.map { Endpoints.Port(name: $0.name?.isEmpty == false ? $0.name : nil, port: $0.port ?? 0, protocol: $0.protocol) })
        }
        var labels = service.metadata.labels ?? [:]
        labels[EndpointsController.endpointsManagedByLabel] = EndpointsController.endpointsManagedBy
        if let current = try? registry.get(Endpoints.self, namespace: service.namespace, name: service.name) {
            guard (current.subsets ?? []) != subsets || current.metadata.labels != labels else { return }
            try registry.modifyUnchecked(Endpoints.self, namespace: service.namespace, name: service.name) { live in
                var updated = live
                updated.subsets = subsets.isEmpty ? nil : subsets
                updated.metadata.labels = labels
                return updated
            }
        } else {
            _ = try registry.create(Endpoints(metadata: ObjectMeta(name: service.name, namespace: service.namespace, labels: labels),
                                              subsets: subsets.isEmpty ? nil : subsets))
        }
    }
}
