import Foundation
import KindlingAPI
import KindlingStore
import Logging

/// `kindling server`: the store, the API on its unix socket, and the controllers, for one cluster.
public struct ControlPlane: Sendable {
    public let config: ClusterConfig
    public let storePath: String?
    public let socketPath: String
    /// The TLS endpoint on 127.0.0.1 for remote clients; nil serves the unix socket only.
    public let tls: HTTPServer.TLSListener?
    /// How long a node may stay silent before it is NotReady (kube-controller-manager's 40 s by default).
    public let nodeMonitorGracePeriod: TimeInterval
    public let podEvictionTimeout: TimeInterval
    /// Prometheus text for /metrics (the process bootstraps swift-metrics); nil: no metrics endpoint.
    public let metrics: (@Sendable () -> String)?

    public init(config: ClusterConfig, storePath: String?, socketPath: String, tls: HTTPServer.TLSListener? = nil,
                nodeMonitorGracePeriod: TimeInterval = 40, podEvictionTimeout: TimeInterval = 300, metrics: (@Sendable () -> String)? = nil) {
        self.config = config
        self.metrics = metrics
        self.nodeMonitorGracePeriod = nodeMonitorGracePeriod
        self.podEvictionTimeout = podEvictionTimeout
        self.storePath = storePath
        self.socketPath = socketPath
        self.tls = tls
    }

    public func run(onReady: @escaping @Sendable () -> Void = {}) async throws {
        // A command run by `pods/exec` may exit before its standard input is written: EPIPE, not death.
        signal(SIGPIPE, SIG_IGN)
        let registry = Registry(store: try Store(path: storePath), admission: ServiceAdmission(serviceSubnet: config.serviceSubnet))
        try ensureSystemNamespaces(registry)
        try ensureKubernetesService(registry)
        try ensureClusterDNS(registry)
        let logger = Logger(label: "kindling.server")
        let controllers: [any Controller] = [
            NodeIPAMController(config: config), NamespaceController(), Scheduler(),
            ReplicaSetController(), DeploymentController(), EndpointsController(), GarbageCollector(),
            NodeLifecycleController(gracePeriod: nodeMonitorGracePeriod, evictionTimeout: podEvictionTimeout), LoadBalancerController(pool: config.loadBalancerIPs),
            EventTTLController(),
        ]
        try await withThrowingTaskGroup(of: Void.self) { group in
            for controller in controllers {
                group.addTask { await controller.runForever(registry, logger: logger) }
            }
            group.addTask {
                try await HTTPServer(handler: APIHandler(registry: registry, cluster: config.name), socketPath: socketPath, tls: tls, metrics: metrics)
                    .run(onReady: onReady)
            }
            try await group.next()
            group.cancelAll()
        }
    }

    /// `default/kubernetes`, the API's own service, holds the service subnet's first address.
    func ensureKubernetesService(_ registry: Registry) throws {
        guard (try? registry.get(Service.self, namespace: "default", name: "kubernetes")) == nil else { return }
        var meta = ObjectMeta(name: "kubernetes", namespace: "default", labels: ["component": "apiserver", "provider": "kubernetes"])
        meta.annotations = nil
        var service = Service(metadata: meta, spec: .init(type: "ClusterIP", ports: [.init(name: "https", port: 443, targetPort: .int(config.apiServerPort ?? 6443))]))
        service.spec.clusterIP = ServiceAllocation(serviceSubnet: config.serviceSubnet).kubernetesIP.description
        _ = try registry.create(service)
    }

    /// Cluster DNS as kubeadm installs it: Deployment `kube-system/coredns` (2 replicas of the catalog's CoreDNS
    /// image, which the agents run as `kindling dns`) behind Service `kube-dns` at the subnet's tenth address.
    /// Made once; a user may scale or change them afterwards.
    /// kind's Corefile, without the `forward` line: a kindling cluster has no outside network, so names outside
    /// the cluster domain are refused at once. Adding `forward . <address>[:port] ...` makes the cluster DNS
    /// forward them there (the only directive it reads; the others describe what it does anyway).
    static func corefile(domain: String) -> String {
        """
        .:53 {
            errors
            health {
               lameduck 5s
            }
            ready
            kubernetes \(domain) in-addr.arpa ip6.arpa {
               pods insecure
               fallthrough in-addr.arpa ip6.arpa
               ttl 30
            }
            prometheus :9153
            cache 30
            loop
            reload
            loadbalance
        }
        """
    }

    func ensureClusterDNS(_ registry: Registry) throws {
        let manifest = """
            apiVersion: v1
            kind: Service
            metadata:
              name: kube-dns
              namespace: kube-system
              labels: {k8s-app: kube-dns, kubernetes.io/name: CoreDNS}
            spec:
              clusterIP: \(ClusterConfig.clusterDNSIP(in: config.serviceSubnet))
              selector: {k8s-app: kube-dns}
              ports:
              - {name: dns, port: 53, protocol: UDP, targetPort: 53}
              - {name: dns-tcp, port: 53, protocol: TCP, targetPort: 53}
              - {name: metrics, port: 9153, protocol: TCP, targetPort: 9153}
            ---
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: coredns
              namespace: kube-system
              labels: {k8s-app: kube-dns}
            spec:
              replicas: 2
              selector: {matchLabels: {k8s-app: kube-dns}}
              template:
                metadata: {labels: {k8s-app: kube-dns}}
                spec:
                  dnsPolicy: Default
                  containers:
                  - name: coredns
                    image: registry.k8s.io/coredns/coredns:v1.11.3
                    args: ["-conf", "/etc/coredns/Corefile"]
                    ports:
                    - {name: dns, containerPort: 53, protocol: UDP}
                    - {name: dns-tcp, containerPort: 53, protocol: TCP}
                    - {name: metrics, containerPort: 9153, protocol: TCP}
                    readinessProbe:
                      tcpSocket: {port: 53}
                      periodSeconds: 1
            """
        let decoder = JSONDecoder()
        for object in try Manifest.parse(manifest, source: "cluster DNS") {
            if object.kind == "Service", (try? registry.get(Service.self, namespace: "kube-system", name: object.name)) == nil {
                _ = try registry.create(try decoder.decode(Service.self, from: object.json))
            } else if object.kind == "Deployment", (try? registry.get(Deployment.self, namespace: "kube-system", name: object.name)) == nil {
                _ = try registry.create(try decoder.decode(Deployment.self, from: object.json))
            }
        }
        if (try? registry.get(ConfigMap.self, namespace: "kube-system", name: "coredns")) == nil {
            _ = try registry.create(ConfigMap(namespace: "kube-system", name: "coredns",
                                              data: ["Corefile": Self.corefile(domain: ClusterConfig.clusterDomain) + "\n"]))
        }
    }

    /// default, kube-system, kube-public and kube-node-lease exist in every cluster.
    func ensureSystemNamespaces(_ registry: Registry) throws {
        for name in Namespace.system where (try? registry.get(Namespace.self, name: name)) == nil {
            _ = try registry.create(Namespace(name: name))
        }
    }
}
