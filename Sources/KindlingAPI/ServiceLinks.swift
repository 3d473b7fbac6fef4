import Foundation

/// The environment kubelet gives every container about services (envvars.FromServices): for each service of
/// the pod's namespace that has a cluster IP when the container starts, and always for `default/kubernetes`,
/// `{SVC}_SERVICE_HOST`, `{SVC}_SERVICE_PORT`, `{SVC}_SERVICE_PORT_{PORT}` per named port, and the Docker-link
/// variables `{SVC}_PORT` and `{SVC}_PORT_{port}_{PROTO}[_PROTO|_PORT|_ADDR]`. `enableServiceLinks: false`
/// leaves out all but `kubernetes`. Pure.
public enum ServiceLinks {
    public static func environment(namespace: String, services: [Service], enableServiceLinks: Bool) -> [String: String] {
        // A service of the pod's own namespace wins over `default/kubernetes` of the same name.
        var chosen: [String: Service] = [:]
        for service in services where service.namespace == "default" && service.name == "kubernetes" {
            chosen[service.name] = service
        }
        if enableServiceLinks {
            for service in services where service.namespace == namespace { chosen[service.name] = service }
        }
        var env: [String: String] = [:]
        for service in chosen.values {
            guard let ip = service.spec.clusterIP, !ip.isEmpty, ip != "None", service.type != "ExternalName",
                  let ports = service.spec.ports, let first = ports.first else { continue }
            let name = variableName(service.name)
            env["\(name)_SERVICE_HOST"] = ip
            env["\(name)_SERVICE_PORT"] = String(first.port)
            for port in ports {
                if let portName = port.name, !portName.isEmpty { env["\(name)_SERVICE_PORT_\(variableName(portName))"] = String(port.port) }
            }
            for (index, port) in ports.enumerated() {
                let proto = (port.protocol ?? "TCP").uppercased()
                let url = "\(proto.lowercased())://\(ip):\(port.port)"
                let prefix = "\(name)_PORT_\(port.port)_\(proto)"
                if index == 0 { env["\(name)_PORT"] = url }
                env[prefix] = url
                env["\(prefix)_PROTO"] = proto.lowercased()
                env["\(prefix)_PORT"] = String(port.port)
                env["\(prefix)_ADDR"] = ip
            }
        }
        return env
    }

    /// `nginx-service` -> `NGINX_SERVICE`.
    static func variableName(_ name: String) -> String { name.uppercased().replacingOccurrences(of: "-", with: "_") }
}
