import KindlingAPI
import Testing

/// Service environment variables, named as kubelet names them.
@Suite struct ServiceLinksTests {
    func service(_ name: String, namespace: String = "dev", ip: String?, ports: [Service.Port]) -> Service {
        var service = Service(metadata: ObjectMeta(name: name, namespace: namespace), spec: .init(ports: ports))
        service.spec.clusterIP = ip
        service.applyDefaults()
        return service
    }

    var kubernetes: Service { service("kubernetes", namespace: "default", ip: "10.96.0.1", ports: [.init(name: "https", port: 443)]) }

    @Test func variablesAsKubeletWritesThem() {
        let services = [
            kubernetes,
            service("nginx-service", ip: "10.96.0.20", ports: [.init(name: "http", port: 80), .init(name: "dns-udp", protocol: "UDP", port: 53)]),
            service("headless", ip: "None", ports: [.init(port: 80)]),
            service("elsewhere", namespace: "prod", ip: "10.96.0.30", ports: [.init(port: 80)]),
        ]
        let env = ServiceLinks.environment(namespace: "dev", services: services, enableServiceLinks: true)
        #expect(env == [
            "KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443", "KUBERNETES_SERVICE_PORT_HTTPS": "443",
            "KUBERNETES_PORT": "tcp://10.96.0.1:443", "KUBERNETES_PORT_443_TCP": "tcp://10.96.0.1:443",
            "KUBERNETES_PORT_443_TCP_PROTO": "tcp", "KUBERNETES_PORT_443_TCP_PORT": "443", "KUBERNETES_PORT_443_TCP_ADDR": "10.96.0.1",
            "NGINX_SERVICE_SERVICE_HOST": "10.96.0.20", "NGINX_SERVICE_SERVICE_PORT": "80",
            "NGINX_SERVICE_SERVICE_PORT_HTTP": "80", "NGINX_SERVICE_SERVICE_PORT_DNS_UDP": "53",
            "NGINX_SERVICE_PORT": "tcp://10.96.0.20:80", "NGINX_SERVICE_PORT_80_TCP": "tcp://10.96.0.20:80",
            "NGINX_SERVICE_PORT_80_TCP_PROTO": "tcp", "NGINX_SERVICE_PORT_80_TCP_PORT": "80", "NGINX_SERVICE_PORT_80_TCP_ADDR": "10.96.0.20",
            "NGINX_SERVICE_PORT_53_UDP": "udp://10.96.0.20:53", "NGINX_SERVICE_PORT_53_UDP_PROTO": "udp",
            "NGINX_SERVICE_PORT_53_UDP_PORT": "53", "NGINX_SERVICE_PORT_53_UDP_ADDR": "10.96.0.20",
        ])
    }

    @Test func serviceLinksOffKeepsOnlyKubernetes() {
        let env = ServiceLinks.environment(namespace: "dev", services: [kubernetes, service("web", ip: "10.96.0.5", ports: [.init(port: 80)])],
                                           enableServiceLinks: false)
        #expect(env.keys.allSatisfy { $0.hasPrefix("KUBERNETES_") } && env["KUBERNETES_SERVICE_HOST"] == "10.96.0.1")
        // In namespace default the pod's own `kubernetes` is that same service.
        #expect(ServiceLinks.environment(namespace: "default", services: [kubernetes], enableServiceLinks: true).count == 8)
    }
}
