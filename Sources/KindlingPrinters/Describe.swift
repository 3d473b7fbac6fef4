import KindlingAPI

/// `kubectl describe`'s text for the kinds kindling describes. Pure: objects in, text out.
public enum Describe {
    /// Labels padded as kubectl's tabwriter pads them ("External Traffic Policy:" is the longest).
    static let width = 26

    static func line(_ label: String, _ value: String) -> String {
        (label + ":").padding(toLength: width) + value + "\n"
    }

    /// `key=value` pairs, one per line after the first, as kubectl prints labels and selectors.
    static func pairs(_ label: String, _ values: [String: String]?, separator: String = "\n") -> String {
        let sorted = (values ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        guard let first = sorted.first else { return line(label, "<none>") }
        if separator != "\n" { return line(label, sorted.joined(separator: separator)) }
        return line(label, first) + sorted.dropFirst().map { String(repeating: " ", count: width) + $0 + "\n" }.joined()
    }

    /// `kubectl describe service`, with the Endpoints line read from the service's EndpointSlices.
    public static func service(_ service: Service, slices: [EndpointSlice]) -> String {
        var out = line("Name", service.name) + line("Namespace", service.namespace)
        out += pairs("Labels", service.metadata.labels)
        out += pairs("Annotations", service.metadata.annotations?.filter { $0.key != "kubectl.kubernetes.io/last-applied-configuration" })
        out += pairs("Selector", service.spec.selector, separator: ",")
        out += line("Type", service.type)
        if service.type == "ExternalName" {
            out += line("External Name", service.spec.externalName ?? "")
        } else {
            out += line("IP Family Policy", service.spec.ipFamilyPolicy ?? "SingleStack")
            out += line("IP Families", (service.spec.ipFamilies ?? ["IPv4"]).joined(separator: ","))
            out += line("IP", service.spec.clusterIP ?? "<none>")
            out += line("IPs", (service.spec.clusterIPs ?? [service.spec.clusterIP ?? "<none>"]).joined(separator: ","))
        }
        if let ip = service.spec.loadBalancerIP { out += line("IP", ip) }
        for ingress in service.status?.loadBalancer?.ingress ?? [] {
            out += line("LoadBalancer Ingress", (ingress.ip ?? ingress.hostname ?? "") + (ingress.ip != nil ? " (VIP)" : ""))
        }
        for port in service.spec.ports ?? [] {
            let name = (port.name ?? "").isEmpty ? "<unset>" : port.name!
            let proto = port.protocol ?? "TCP"
            out += line("Port", "\(name)  \(port.port)/\(proto)")
            let target = port.targetPort.map { target -> String in
                switch target {
                case .int(let number): return "\(number)/\(proto)"
                case .string(let name): return "\(name)/\(proto)"
                }
            } ?? "\(port.port)/\(proto)"
            out += line("TargetPort", target)
            if let nodePort = port.nodePort { out += line("NodePort", "\(name)  \(nodePort)/\(proto)") }
            out += line("Endpoints", endpoints(for: port, in: slices))
        }
        if service.type != "ExternalName" {
            out += line("Session Affinity", service.spec.sessionAffinity ?? "None")
        }
        if let policy = service.spec.externalTrafficPolicy { out += line("External Traffic Policy", policy) }
        if let policy = service.spec.internalTrafficPolicy { out += line("Internal Traffic Policy", policy) }
        out += line("Events", "<none>")
        return out
    }

    /// The ready `ip:port`s of one service port, three of them and how many more, as kubectl shows them.
    static func endpoints(for port: Service.Port, in slices: [EndpointSlice]) -> String {
        var all: [String] = []
        for slice in slices {
            guard let number = (slice.ports ?? []).first(where: { ($0.name ?? "") == (port.name ?? "") })?.port else { continue }
            all += (slice.endpoints ?? []).filter { $0.conditions?.ready ?? true }.flatMap(\.addresses).map { "\($0):\(number)" }
        }
        return Printing.abbreviated(all) ?? "<none>"
    }
}
