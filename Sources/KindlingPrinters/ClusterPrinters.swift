import KindlingAPI

/// `kubectl get nodes`: readiness, roles from `node-role.kubernetes.io/` labels, version; `-o wide` adds addresses and the OS.
public struct NodePrinter: ObjectPrinter {
    public var columns: [PrintColumn] {
        ["NAME", "STATUS", "ROLES", "AGE", "VERSION"].map { PrintColumn($0) }
            + PrintColumn.wide("INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME")
    }

    public func cells(_ node: Node, _ context: PrintContext) -> [String] {
        let roles = (node.metadata.labels ?? [:]).keys.filter { $0.hasPrefix("node-role.kubernetes.io/") }
            .map { String($0.dropFirst("node-role.kubernetes.io/".count)) }.sorted()
        var status = node.status?.conditions?["Ready"]?.status == "True" ? "Ready"
            : node.status?.conditions?["Ready"] == nil ? "Unknown" : "NotReady"
        if node.spec?.unschedulable == true { status += ",SchedulingDisabled" }
        let info = node.status?.nodeInfo
        return [node.name, status, roles.isEmpty ? "<none>" : roles.joined(separator: ","), context.age(node.metadata), info?.kubeletVersion ?? "",
                node.internalIP ?? "<none>", node.status?.addresses?.first { $0.type == "ExternalIP" }?.address ?? "<none>",
                info?.osImage ?? "", info?.kernelVersion ?? "", info?.containerRuntimeVersion ?? ""]
    }
}

/// `kubectl get namespaces`: Active or Terminating.
public struct NamespacePrinter: ObjectPrinter {
    public var columns: [PrintColumn] { ["NAME", "STATUS", "AGE"].map { PrintColumn($0) } }

    public func cells(_ namespace: Namespace, _ context: PrintContext) -> [String] {
        [namespace.name, namespace.status?.phase ?? "Active", context.age(namespace.metadata)]
    }
}

/// `kubectl get events`: when last seen, type, reason, object, message; `-o wide` adds where from and how often.
public struct EventPrinter: ObjectPrinter {
    public var columns: [PrintColumn] {
        ["LAST SEEN", "TYPE", "REASON", "OBJECT"].map { PrintColumn($0) } + PrintColumn.wide("SUBOBJECT", "SOURCE") + [PrintColumn("MESSAGE")]
            + PrintColumn.wide("FIRST SEEN") + [PrintColumn("COUNT", wide: true, integer: true), PrintColumn("NAME", wide: true)]
    }

    public func cells(_ event: Event, _ context: PrintContext) -> [String] {
        let object = "\((event.involvedObject.kind ?? "").lowercased())/\(event.involvedObject.name ?? "")"
        return [context.since(event.lastTimestamp), event.type ?? "Normal", event.reason ?? "", object,
                event.involvedObject.fieldPath ?? "", [event.source?.component, event.source?.host].compactMap { $0 }.joined(separator: ", "),
                event.message ?? "", context.since(event.firstTimestamp), String(event.count ?? 1), event.name]
    }
}

/// `kubectl get leases`: the holder.
public struct LeasePrinter: ObjectPrinter {
    public var columns: [PrintColumn] { ["NAME", "HOLDER", "AGE"].map { PrintColumn($0) } }

    public func cells(_ lease: Lease, _ context: PrintContext) -> [String] {
        [lease.name, lease.spec?.holderIdentity ?? "", context.age(lease.metadata)]
    }
}

/// `kubectl get configmaps`: how many keys.
public struct ConfigMapPrinter: ObjectPrinter {
    public var columns: [PrintColumn] { [PrintColumn("NAME"), PrintColumn("DATA", integer: true), PrintColumn("AGE")] }

    public func cells(_ map: ConfigMap, _ context: PrintContext) -> [String] {
        [map.name, String((map.data ?? [:]).count + (map.binaryData ?? [:]).count), context.age(map.metadata)]
    }
}

/// `kubectl get serviceaccounts`: how many Secrets each lists.
public struct ServiceAccountPrinter: ObjectPrinter {
    public var columns: [PrintColumn] { [PrintColumn("NAME"), PrintColumn("SECRETS", integer: true), PrintColumn("AGE")] }

    public func cells(_ account: ServiceAccount, _ context: PrintContext) -> [String] {
        [account.name, String((account.secrets ?? []).count), context.age(account.metadata)]
    }
}

/// `kubectl get secrets`: type and how many keys.
public struct SecretPrinter: ObjectPrinter {
    public var columns: [PrintColumn] { [PrintColumn("NAME"), PrintColumn("TYPE"), PrintColumn("DATA", integer: true), PrintColumn("AGE")] }

    public func cells(_ secret: Secret, _ context: PrintContext) -> [String] {
        [secret.name, secret.type ?? "Opaque", String((secret.data ?? [:]).count), context.age(secret.metadata)]
    }
}

/// `kubectl get crds`: the name and when it was created (kube-apiserver's columns for CRDs).
public struct CustomResourceDefinitionPrinter: ObjectPrinter {
    public var columns: [PrintColumn] { ["NAME", "CREATED AT"].map { PrintColumn($0) } }

    public func cells(_ crd: CustomResourceDefinition, _ context: PrintContext) -> [String] {
        [crd.name, crd.metadata.creationTimestamp ?? ""]
    }
}

/// `kubectl get apiservices`: who serves it (`Local`, or the service) and whether it is available, with the
/// reason when not (kube-aggregator's columns).
public struct APIServicePrinter: ObjectPrinter {
    public var columns: [PrintColumn] { ["NAME", "SERVICE", "AVAILABLE", "AGE"].map { PrintColumn($0) } }

    public func cells(_ service: APIService, _ context: PrintContext) -> [String] {
        let backend = service.spec.service.map { "\($0.namespace ?? "")/\($0.name ?? "")" } ?? "Local"
        let available = service.status?.conditions?["Available"]
        let shown = available.map { $0.status == "True" ? "True" : "\($0.status) (\($0.reason ?? ""))" } ?? "Unknown"
        return [service.name, backend, shown, context.age(service.metadata)]
    }
}

/// `kubectl get roles` and `clusterroles`: name and creation time.
public struct RolePrinter<Object: APIObject>: ObjectPrinter {
    public init() {}
    public var columns: [PrintColumn] { ["NAME", "CREATED AT"].map { PrintColumn($0) } }
    public func cells(_ role: Object, _ context: PrintContext) -> [String] { [role.name, role.metadata.creationTimestamp ?? ""] }
}

/// `kubectl get rolebindings` and `clusterrolebindings`: the role, and with `-o wide` the subjects by kind.
public struct BindingPrinter<Object: APIObject>: ObjectPrinter {
    let parts: @Sendable (Object) -> (RoleRef, [RBACSubject])

    public var columns: [PrintColumn] { [PrintColumn("NAME"), PrintColumn("ROLE"), PrintColumn("AGE")] + PrintColumn.wide("USERS", "GROUPS", "SERVICEACCOUNTS") }

    public func cells(_ binding: Object, _ context: PrintContext) -> [String] {
        let (role, subjects) = parts(binding)
        func names(_ kind: String) -> String {
            subjects.filter { $0.kind == kind }.map { kind == "ServiceAccount" ? "\($0.namespace ?? "")/\($0.name)" : $0.name }.joined(separator: ", ")
        }
        return [binding.name, "\(role.kind)/\(role.name)", context.age(binding.metadata), names("User"), names("Group"), names("ServiceAccount")]
    }
}
