import KindlingAPI

/// `kubectl get services`: type, cluster and external addresses, ports; `-o wide` adds the selector.
public struct ServicePrinter: ObjectPrinter {
    public var columns: [PrintColumn] {
        ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"].map { PrintColumn($0) } + PrintColumn.wide("SELECTOR")
    }

    public func cells(_ service: Service, _ context: PrintContext) -> [String] {
        let external: String = switch service.type {
        case "ExternalName": service.spec.externalName ?? "<none>"
        case "LoadBalancer": service.status?.loadBalancer?.ingress?.compactMap(\.ip).joined(separator: ",").nonEmpty ?? "<pending>"
        default: service.spec.externalIPs?.joined(separator: ",").nonEmpty ?? "<none>"
        }
        let selector = (service.spec.selector ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
        return [service.name, service.type, service.spec.clusterIP ?? "<none>", external, service.portsText, context.age(service.metadata),
                selector.nonEmpty ?? "<none>"]
    }
}

/// `kubectl get endpoints`: the first three address:port pairs and how many more.
public struct EndpointsPrinter: ObjectPrinter {
    public var columns: [PrintColumn] { ["NAME", "ENDPOINTS", "AGE"].map { PrintColumn($0) } }

    public func cells(_ object: Endpoints, _ context: PrintContext) -> [String] {
        let all = (object.subsets ?? []).flatMap { subset in
            (subset.addresses ?? []).flatMap { address in (subset.ports ?? []).map { "\(address.ip):\($0.port)" } }
        }
        return [object.name, Printing.abbreviated(all) ?? "<none>", context.age(object.metadata)]
    }
}

/// `kubectl get endpointslices`: address type, ports and the first three addresses.
public struct EndpointSlicePrinter: ObjectPrinter {
    public var columns: [PrintColumn] { ["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"].map { PrintColumn($0) } }

    public func cells(_ slice: EndpointSlice, _ context: PrintContext) -> [String] {
        let ports = (slice.ports ?? []).compactMap { $0.port.map(String.init) }.joined(separator: ",")
        let addresses = (slice.endpoints ?? []).flatMap(\.addresses)
        return [slice.name, slice.addressType, ports.nonEmpty ?? "<unset>", Printing.abbreviated(addresses) ?? "<unset>", context.age(slice.metadata)]
    }
}

/// `kubectl get networkpolicies`: the pods selected.
public struct NetworkPolicyPrinter: ObjectPrinter {
    public var columns: [PrintColumn] { ["NAME", "POD-SELECTOR", "AGE"].map { PrintColumn($0) } }

    public func cells(_ policy: NetworkPolicy, _ context: PrintContext) -> [String] {
        let selector = policy.spec.podSelector.map { $0.selector.description } ?? ""
        return [policy.name, selector.isEmpty ? "<none>" : selector, context.age(policy.metadata)]
    }
}

/// `kubectl get ingresses`: class, hosts, the addresses the controller published, ports.
public struct IngressPrinter: ObjectPrinter {
    public var columns: [PrintColumn] { ["NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"].map { PrintColumn($0) } }

    public func cells(_ ingress: Ingress, _ context: PrintContext) -> [String] {
        let hosts = (ingress.spec.rules ?? []).map { $0.host ?? "*" }
        let addresses = (ingress.status?.loadBalancer?.ingress ?? []).compactMap { $0.ip ?? $0.hostname }
        return [ingress.name, ingress.spec.ingressClassName ?? "<none>", hosts.isEmpty ? "*" : hosts.joined(separator: ","),
                addresses.joined(separator: ","), (ingress.spec.tls ?? []).isEmpty ? "80" : "80, 443", context.age(ingress.metadata)]
    }
}

/// `kubectl get ingressclasses`: the controller.
public struct IngressClassPrinter: ObjectPrinter {
    public var columns: [PrintColumn] { ["NAME", "CONTROLLER", "PARAMETERS", "AGE"].map { PrintColumn($0) } }

    public func cells(_ object: IngressClass, _ context: PrintContext) -> [String] {
        [object.name, object.spec?.controller ?? "", "<none>", context.age(object.metadata)]
    }
}
