import Foundation

/// The columns `kubectl get` prints for each kind (Kubernetes' printers.go), as pure functions of the
/// objects and the current time, so the CLI and (later) the server's Table responses share them.
public struct ObjectTable: Equatable, Sendable {
    public var headers: [String]
    public var rows: [[String]]

    /// kubectl's text layout: columns padded to their widest cell, three spaces apart.
    public var text: String {
        let all = [headers] + rows
        let widths = headers.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        return all.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell.padding(toLength: widths[index] + 3)
            }.joined()
        }.joined(separator: "\n") + "\n"
    }
}

extension String {
    func padding(toLength length: Int) -> String { self + String(repeating: " ", count: max(0, length - count)) }
    var nonEmpty: String? { isEmpty ? nil : self }
}

public enum Printing {
    /// `kubectl get <kind>` (and `-o wide`), with a NAMESPACE column first when listing all namespaces.
    public static func table<T: KubeObject>(_ objects: [T], wide: Bool, withNamespace: Bool, now: Double,
                                           parseTime: (String) -> Double?) -> ObjectTable {
        func age(_ object: T) -> String {
            guard let created = object.metadata.creationTimestamp.flatMap(parseTime) else { return "<unknown>" }
            return humanDuration(seconds: Int(now - created))
        }
        var headers: [String]
        var rows: [[String]]
        switch objects {
        case let pods as [Pod]:
            headers = ["NAME", "READY", "STATUS", "RESTARTS", "AGE"] + (wide ? ["IP", "NODE", "NOMINATED NODE", "READINESS GATES"] : [])
            rows = pods.map { pod in
                let statuses = pod.status?.containerStatuses ?? []
                let ready = statuses.filter(\.ready).count
                var row = [pod.name, "\(ready)/\(pod.spec.containers.count)", podStatus(pod),
                           String(statuses.reduce(0) { $0 + $1.restartCount }), age(pod as! T)]
                if wide { row += [pod.status?.podIP ?? "<none>", pod.spec.nodeName ?? "<none>", "<none>", "<none>"] }
                return row
            }
        case let sets as [ReplicaSet]:
            headers = ["NAME", "DESIRED", "CURRENT", "READY", "AGE"] + (wide ? ["CONTAINERS", "IMAGES", "SELECTOR"] : [])
            rows = sets.map { rs in
                var row = [rs.name, String(rs.desiredReplicas), String(rs.status?.replicas ?? 0), String(rs.status?.readyReplicas ?? 0), age(rs as! T)]
                if wide { row += containerColumns(rs.spec.template?.spec) + [rs.spec.selector?.selector.description ?? "<none>"] }
                return row
            }
        case let deployments as [Deployment]:
            headers = ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"] + (wide ? ["CONTAINERS", "IMAGES", "SELECTOR"] : [])
            rows = deployments.map { d in
                var row = [d.name, "\(d.status?.readyReplicas ?? 0)/\(d.desiredReplicas)", String(d.status?.updatedReplicas ?? 0),
                           String(d.status?.availableReplicas ?? 0), age(d as! T)]
                if wide { row += containerColumns(d.spec.template?.spec) + [d.spec.selector?.selector.description ?? "<none>"] }
                return row
            }
        case let nodes as [Node]:
            headers = ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
                + (wide ? ["INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME"] : [])
            rows = nodes.map { node in
                let roles = (node.metadata.labels ?? [:]).keys.filter { $0.hasPrefix("node-role.kubernetes.io/") }
                    .map { String($0.dropFirst("node-role.kubernetes.io/".count)) }.sorted()
                var status = node.status?.conditions?["Ready"]?.status == "True" ? "Ready"
                    : node.status?.conditions?["Ready"] == nil ? "Unknown" : "NotReady"
                if node.spec?.unschedulable == true { status += ",SchedulingDisabled" }
                let info = node.status?.nodeInfo
                var row = [node.name, status, roles.isEmpty ? "<none>" : roles.joined(separator: ","), age(node as! T),
                           info?.kubeletVersion ?? ""]
                if wide {
                    row += [node.internalIP ?? "<none>", node.status?.addresses?.first { $0.type == "ExternalIP" }?.address ?? "<none>",
                            info?.osImage ?? "", info?.kernelVersion ?? "", info?.containerRuntimeVersion ?? ""]
                }
                return row
            }
        case let services as [Service]:
            headers = ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"] + (wide ? ["SELECTOR"] : [])
            rows = services.map { service in
                let external: String = switch service.type {
                case "ExternalName": service.spec.externalName ?? "<none>"
                case "LoadBalancer": service.status?.loadBalancer?.ingress?.compactMap(\.ip).joined(separator: ",").nonEmpty ?? "<pending>"
                default: service.spec.externalIPs?.joined(separator: ",").nonEmpty ?? "<none>"
                }
                var row = [service.name, service.type, service.spec.clusterIP ?? "<none>", external, service.portsText, age(service as! T)]
                if wide {
                    row.append((service.spec.selector ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",").nonEmpty ?? "<none>")
                }
                return row
            }
        case let endpoints as [Endpoints]:
            headers = ["NAME", "ENDPOINTS", "AGE"]
            rows = endpoints.map { object in
                let all = (object.subsets ?? []).flatMap { subset in
                    (subset.addresses ?? []).flatMap { address in (subset.ports ?? []).map { "\(address.ip):\($0.port)" } }
                }
                return [object.name, abbreviated(all) ?? "<none>", age(object as! T)]
            }
        case let slices as [EndpointSlice]:
            headers = ["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"]
            rows = slices.map { slice in
                let ports = (slice.ports ?? []).compactMap { $0.port.map(String.init) }.joined(separator: ",")
                let addresses = (slice.endpoints ?? []).flatMap(\.addresses)
                return [slice.name, slice.addressType, ports.nonEmpty ?? "<unset>", abbreviated(addresses) ?? "<unset>", age(slice as! T)]
            }
        case let maps as [ConfigMap]:
            headers = ["NAME", "DATA", "AGE"]
            rows = maps.map { [$0.name, String(($0.data ?? [:]).count + ($0.binaryData ?? [:]).count), age($0 as! T)] }
        case let policies as [NetworkPolicy]:
            headers = ["NAME", "POD-SELECTOR", "AGE"]
            rows = policies.map { policy in
                let selector = policy.spec.podSelector.map { $0.selector.description } ?? ""
                return [policy.name, selector.isEmpty ? "<none>" : selector, age(policy as! T)]
            }
        case let ingresses as [Ingress]:
            headers = ["NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"]
            rows = ingresses.map { ingress in
                let hosts = (ingress.spec.rules ?? []).map { $0.host ?? "*" }
                let addresses = (ingress.status?.loadBalancer?.ingress ?? []).compactMap { $0.ip ?? $0.hostname }
                return [ingress.name, ingress.spec.ingressClassName ?? "<none>", hosts.isEmpty ? "*" : hosts.joined(separator: ","),
                        addresses.joined(separator: ","), (ingress.spec.tls ?? []).isEmpty ? "80" : "80, 443", age(ingress as! T)]
            }
        case let classes as [IngressClass]:
            headers = ["NAME", "CONTROLLER", "PARAMETERS", "AGE"]
            rows = classes.map { [$0.name, $0.spec?.controller ?? "", "<none>", age($0 as! T)] }
        case let leases as [Lease]:
            headers = ["NAME", "HOLDER", "AGE"]
            rows = leases.map { [$0.name, $0.spec?.holderIdentity ?? "", age($0 as! T)] }
        case let secrets as [Secret]:
            headers = ["NAME", "TYPE", "DATA", "AGE"]
            rows = secrets.map { [$0.name, $0.type ?? "Opaque", String(($0.data ?? [:]).count), age($0 as! T)] }
        case let events as [Event]:
            func since(_ time: String?) -> String {
                time.flatMap(parseTime).map { humanDuration(seconds: Int(now - $0)) } ?? "<unknown>"
            }
            headers = ["LAST SEEN", "TYPE", "REASON", "OBJECT"] + (wide ? ["SUBOBJECT", "SOURCE"] : []) + ["MESSAGE"]
                + (wide ? ["FIRST SEEN", "COUNT", "NAME"] : [])
            rows = events.map { event in
                let object = "\((event.involvedObject.kind ?? "").lowercased())/\(event.involvedObject.name ?? "")"
                var row = [since(event.lastTimestamp), event.type ?? "Normal", event.reason ?? "", object]
                if wide { row += [event.involvedObject.fieldPath ?? "", [event.source?.component, event.source?.host].compactMap { $0 }.joined(separator: ", ")] }
                row.append(event.message ?? "")
                if wide { row += [since(event.firstTimestamp), String(event.count ?? 1), event.name] }
                return row
            }
        case let namespaces as [Namespace]:
            headers = ["NAME", "STATUS", "AGE"]
            rows = namespaces.map { [$0.name, $0.status?.phase ?? "Active", age($0 as! T)] }
        default:
            headers = ["NAME", "AGE"]
            rows = objects.map { [$0.name, age($0)] }
        }
        if withNamespace && T.namespaced {
            headers.insert("NAMESPACE", at: 0)
            rows = zip(objects, rows).map { [$0.namespace] + $1 }
        }
        return ObjectTable(headers: headers, rows: rows)
    }

    /// The first three of a list and how many more, as kubectl shows endpoints; nil for none.
    static func abbreviated(_ items: [String]) -> String? {
        guard !items.isEmpty else { return nil }
        return items.prefix(3).joined(separator: ",") + (items.count > 3 ? " + \(items.count - 3) more..." : "")
    }

    static func containerColumns(_ spec: PodSpec?) -> [String] {
        let containers = spec?.containers ?? []
        return [containers.map(\.name).joined(separator: ","), containers.map { $0.image ?? "" }.joined(separator: ",")]
    }

    /// The STATUS column of `kubectl get pods`: the phase, or what a container waits or terminated for.
    public static func podStatus(_ pod: Pod) -> String {
        var reason = pod.status?.reason ?? pod.phase
        for status in pod.status?.containerStatuses ?? [] {
            if let waiting = status.state?.waiting?.reason, !waiting.isEmpty {
                reason = waiting
            } else if let terminated = status.state?.terminated {
                reason = terminated.reason ?? (terminated.signal.map { "Signal:\($0)" } ?? "ExitCode:\(terminated.exitCode)")
            }
        }
        if pod.metadata.deletionTimestamp != nil { reason = "Terminating" }
        return reason
    }

    /// kubectl's HumanDuration: 45s, 3m20s, 15m, 5h10m, 20h, 3d4h, 90d, 2y30d.
    public static func humanDuration(seconds: Int) -> String {
        if seconds < -1 { return "<invalid>" }
        if seconds < 0 { return "0s" }
        if seconds < 120 { return "\(seconds)s" }
        let minutes = seconds / 60
        if minutes < 10 { return seconds % 60 == 0 ? "\(minutes)m" : "\(minutes)m\(seconds % 60)s" }
        if minutes < 180 { return "\(minutes)m" }
        let hours = minutes / 60
        if hours < 8 { return minutes % 60 == 0 ? "\(hours)h" : "\(hours)h\(minutes % 60)m" }
        if hours < 48 { return "\(hours)h" }
        if hours < 24 * 8 { return hours % 24 == 0 ? "\(hours / 24)d" : "\(hours / 24)d\(hours % 24)h" }
        if hours < 24 * 365 * 2 { return "\(hours / 24)d" }
        if hours < 24 * 365 * 8 {
            let days = (hours / 24) % 365
            return days == 0 ? "\(hours / 24 / 365)y" : "\(hours / 24 / 365)y\(days)d"
        }
        return "\(hours / 24 / 365)y"
    }
}

/// Container output as `logs --tail` cuts it.
public enum LogText {
    /// The last `count` lines of a file before `end`, read backwards in chunks rather than whole; the handle is
    /// left at `end`.
    public static func lastLines(of handle: FileHandle, _ count: Int, end: UInt64, chunk: UInt64 = 64 * 1024) -> Data {
        var start = end, buffer = Data(), newlines = 0
        while start > 0, newlines <= count {
            let from = start > chunk ? start - chunk : 0
            handle.seek(toFileOffset: from)
            let piece = handle.readData(ofLength: Int(start - from))
            newlines += piece.reduce(0) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) }
            buffer = piece + buffer
            start = from
        }
        handle.seek(toFileOffset: end)
        return lastLines(buffer, count)
    }

    /// The last `count` lines of `text` (a final line without a newline counts as one).
    public static func lastLines(_ text: Data, _ count: Int) -> Data {
        guard count > 0 else { return Data() }
        var end = text.endIndex
        if end > text.startIndex, text[end - 1] == UInt8(ascii: "\n") { end -= 1 }
        var seen = 0, index = end
        while index > text.startIndex {
            if text[index - 1] == UInt8(ascii: "\n") {
                seen += 1
                if seen == count { return text[index...] }
            }
            index -= 1
        }
        return text
    }
}
