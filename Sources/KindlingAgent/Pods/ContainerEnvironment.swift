import Foundation
import KindlingAddresses
import KindlingAPI

/// A container's environment as kubelet gives it: the services' variables, then the container's own (which
/// win) with `envFrom`, `$(VAR)` references, Secret and ConfigMap keys and downward-API fields resolved. Pure.
struct ContainerEnvironment {
    /// Every service of the cluster (for the `<NAME>_SERVICE_HOST` variables).
    let services: [Service]
    /// The pod's Secrets and ConfigMaps as last read.
    let references: PodReferences
    let nodeName: String
    let nodeIP: IPv4Address

    /// The container's environment: the services' variables as kubelet sets them, then the container's own
    /// variables (which win) with `$(VAR)` references and downward-API fields resolved.
    func variables(for container: Container, of pod: Pod, podIP: IPv4Address) throws -> [String: String] {
        var env = ServiceLinks.environment(namespace: pod.namespace, services: services, enableServiceLinks: pod.spec.enableServiceLinks ?? true)
        env.merge(["PATH": ImageCatalog.containerPath, "HOSTNAME": PodRuntime.hostname(pod), "HOME": "/root"]) { _, own in own }
        let sources = references
        for source in container.envFrom ?? [] {
            env.merge(try Self.variables(from: source, sources, namespace: pod.namespace)) { _, new in new }
        }
        for variable in container.env ?? [] {
            if let value = variable.value {
                env[variable.name] = Self.expand(value, env)
            } else if let selector = variable.valueFrom?.secretKeyRef ?? variable.valueFrom?.configMapKeyRef {
                let fromSecret = variable.valueFrom?.secretKeyRef != nil
                if let value = try Self.value(of: selector, secret: fromSecret, sources, namespace: pod.namespace) {
                    env[variable.name] = value
                }
            } else if let path = variable.valueFrom?.fieldRef?.fieldPath {
                env[variable.name] = switch path {
                case "metadata.name": pod.name
                case "metadata.namespace": pod.namespace
                case "metadata.uid": pod.metadata.uid ?? ""
                case "spec.nodeName": nodeName
                case "spec.serviceAccountName": pod.spec.serviceAccountName ?? "default"
                case "status.hostIP": nodeIP.description
                case "status.podIP", "status.podIPs": podIP.description
                default: EnvVar.subscripted(path).flatMap { field in
                    (field.map == "labels" ? pod.metadata.labels : pod.metadata.annotations)?[field.key]
                } ?? ""
                }
            }
        }
        return env
    }

    /// One key of a Secret or ConfigMap, as kubelet resolves `secretKeyRef`/`configMapKeyRef`: nil when optional
    /// and missing; kubelet's error otherwise.
    static func value(of selector: KeySelector, secret: Bool, _ sources: PodReferences, namespace: String) throws -> String? {
        let name = selector.name ?? ""
        guard let data = try sources.data(secret: secret, name: name, optional: selector.optional == true) else { return nil }
        guard let value = data[selector.key] else {
            if selector.optional == true { return nil }
            throw PodSetupError("couldn't find key \(selector.key) in \(secret ? "Secret" : "ConfigMap") \(namespace)/\(name)")
        }
        return String(decoding: value, as: UTF8.self)
    }

    /// Every key of an `envFrom` source as a variable (with its prefix).
    static func variables(from source: EnvFromSource, _ sources: PodReferences, namespace: String) throws -> [String: String] {
        let secret = source.secretRef != nil
        guard let reference = source.secretRef ?? source.configMapRef else { return [:] }
        guard let data = try sources.data(secret: secret, name: reference.name ?? "", optional: reference.optional == true) else { return [:] }
        return Dictionary(uniqueKeysWithValues: data.map { ((source.prefix ?? "") + $0.key, String(decoding: $0.value, as: UTF8.self)) })
    }

    /// `$(VAR)` references to earlier variables, as Kubernetes expands them; `$$` escapes.
    static func expand(_ value: String, _ env: [String: String]) -> String {
        guard value.contains("$") else { return value }
        var result = ""
        var rest = Substring(value)
        while let dollar = rest.firstIndex(of: "$") {
            result += rest[..<dollar]
            let after = rest[rest.index(after: dollar)...]
            if after.hasPrefix("$") {
                result += "$"
                rest = after.dropFirst()
            } else if after.hasPrefix("("), let close = after.firstIndex(of: ")"), let resolved = env[String(after[after.index(after: after.startIndex)..<close])] {
                result += resolved
                rest = after[after.index(after: close)...]
            } else {
                result += "$"
                rest = after
            }
        }
        return result + rest
    }
}
