import Foundation
import KindlingAddresses
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
    public let limit: InFlightLimit
    /// Where pods reach the API: the control-plane node's address, whose port 6443 its agent forwards to the
    /// TLS endpoint. The `kubernetes` Service's endpoints; nil leaves them unset.
    public let advertiseAddress: IPv4Address?

    public static let securePort = 6443

    public init(config: ClusterConfig, storePath: String?, socketPath: String, tls: HTTPServer.TLSListener? = nil,
                nodeMonitorGracePeriod: TimeInterval = 40, podEvictionTimeout: TimeInterval = 300, metrics: (@Sendable () -> String)? = nil,
                limit: InFlightLimit = InFlightLimit(), advertiseAddress: IPv4Address? = nil) {
        self.advertiseAddress = advertiseAddress
        self.config = config
        self.limit = limit
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
        let registry = Registry(store: try Store(path: storePath), admission: AdmissionChain([
            ServiceAdmission(serviceSubnet: config.serviceSubnet), DefaultIngressClassAdmission(), DefaultStorageClassAdmission(), ServiceAccountAdmission(),
        ]))
        let tokens = try tls.map { try ServiceAccountTokens(pem: $0.credentials.serviceAccountKeyPEM) }
        // The add-ons (cluster DNS, the ingress controller) are made with the cluster, once: after that they are
        // the user's to scale, change or delete, and a restarted server leaves them as they are.
        let fresh = (try? registry.get(Namespace.self, name: "kube-system")) == nil
        try ensureSystemNamespaces(registry)
        try ensureKubernetesService(registry)
        try BootstrapPolicy.ensure(registry)
        if let advertiseAddress { try ensureKubernetesEndpoints(registry, address: advertiseAddress) }
        if fresh {
            try ensureClusterDNS(registry)
            try ensureIngressController(registry)
            try ensureStorageClass(registry)
        }
        let logger = Logger(label: "kindling.server")
        let controllers: [any Controller] = [
            NodeIPAMController(config: config), NamespaceController(), Scheduler(),
            ReplicaController.replicaSets, ReplicaController.replicationControllers,
            JobController(), CronJobController(), DaemonSetController(), StatefulSetController(), DisruptionController(),
            VolumeProvisioner(root: ClusterNames(cluster: config.name).volumesDirectory()), DeploymentController(), EndpointsController(), GarbageCollector(),
            NodeLifecycleController(gracePeriod: nodeMonitorGracePeriod, evictionTimeout: podEvictionTimeout), LoadBalancerController(pool: config.loadBalancerIPs),
            EventTTLController(), CustomResourceController(), ServiceAccountController(), ClusterRoleAggregationController(),
            APIServiceRegistration(),
        ] + (tls.map { [RootCAPublisher(caPEM: $0.credentials.caPEM)] } ?? [])
            + (tls.flatMap { tls in tokens.map { [TokenSecretController(tokens: $0, caPEM: tls.credentials.caPEM)] } } ?? [])
        try await withThrowingTaskGroup(of: Void.self) { group in
            for controller in controllers {
                group.addTask { await controller.runForever(registry, logger: logger) }
            }
            group.addTask {
                let handler = APIHandler(registry: registry, cluster: config.name, tokens: tokens, adminToken: tls?.credentials.token)
                try await HTTPServer(handler: handler, socketPath: socketPath, tls: tls, metrics: metrics, limit: limit).run(onReady: onReady)
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
        var service = Service(metadata: meta, spec: .init(type: "ClusterIP", ports: [.init(name: "https", port: 443, targetPort: .int(Self.securePort))]))
        service.spec.clusterIP = ServiceAllocation(serviceSubnet: config.serviceSubnet).kubernetesIP.description
        _ = try registry.create(service)
    }

    /// The `kubernetes` Service's Endpoints and EndpointSlice, as kube-apiserver's reconciler keeps them: the
    /// advertised address and secure port (not mirrored: the slice is written here).
    func ensureKubernetesEndpoints(_ registry: Registry, address: IPv4Address) throws {
        let port = Self.securePort
        var meta = ObjectMeta(name: "kubernetes", namespace: "default", labels: ["endpointslice.kubernetes.io/skip-mirror": "true"])
        let endpoints = Endpoints(metadata: meta, subsets: [.init(addresses: [.init(ip: address.description)], notReadyAddresses: nil,
                                                                  ports: [.init(name: "https", port: port, protocol: "TCP")])])
        meta.labels = [EndpointSlice.serviceNameLabel: "kubernetes"]
        let slice = EndpointSlice(metadata: meta, endpoints: [.init(addresses: [address.description], conditions: .init(ready: true, serving: true, terminating: false),
                                                                   nodeName: nil, targetRef: nil)],
                                  ports: [.init(name: "https", port: port, protocol: "TCP")])
        try ensure(endpoints, registry) { $0.subsets == endpoints.subsets && $0.metadata.labels == endpoints.metadata.labels }
        try ensure(slice, registry) { $0.endpoints == slice.endpoints && $0.ports == slice.ports }
    }

    /// `object` created, or written over the stored one unless `same` says it already is as wanted.
    func ensure<T: KubeObject>(_ object: T, _ registry: Registry, same: (T) -> Bool) throws {
        guard let current = try? registry.get(T.self, namespace: object.namespace, name: object.name) else {
            _ = try registry.create(object)
            return
        }
        if same(current) { return }
        try registry.modify(T.self, namespace: object.namespace, name: object.name) { current in
            var next = object
            next.metadata = current.metadata
            next.metadata.labels = object.metadata.labels
            return next
        }
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
                  tolerations:
                  - {key: CriticalAddonsOnly, operator: Exists}
                  - {key: node-role.kubernetes.io/control-plane, effect: NoSchedule}
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
        try Self.createMissing(manifest, source: "cluster DNS", registry)
        if (try? registry.get(ConfigMap.self, namespace: "kube-system", name: "coredns")) == nil {
            _ = try registry.create(ConfigMap(namespace: "kube-system", name: "coredns",
                                              data: ["Corefile": Self.corefile(domain: ClusterConfig.clusterDomain) + "\n"]))
        }
    }

    /// An ingress controller as ingress-nginx's manifest for kind installs one, in namespace `ingress-nginx`: its
    /// Deployment (the catalog runs its image as `kindling ingress-controller` over Debian's nginx) behind the
    /// LoadBalancer Service `ingress-nginx-controller` (on the pool's last address, so users' own LoadBalancers
    /// still start at its first), and IngressClass `kindling`, the default, so Ingresses that name no class are
    /// served. Made once; a user may scale or change them afterwards.
    func ensureIngressController(_ registry: Registry) throws {
        let labels = "{app.kubernetes.io/name: ingress-nginx, app.kubernetes.io/instance: ingress-nginx, app.kubernetes.io/component: controller}"
        try Self.createMissing("""
            apiVersion: v1
            kind: Namespace
            metadata:
              name: ingress-nginx
              labels: {app.kubernetes.io/name: ingress-nginx, app.kubernetes.io/instance: ingress-nginx}
            ---
            apiVersion: networking.k8s.io/v1
            kind: IngressClass
            metadata:
              name: kindling
              labels: \(labels)
              annotations: {\(DefaultIngressClassAdmission.defaultAnnotation): "true"}
            spec:
              controller: k8s.io/ingress-nginx
            ---
            apiVersion: v1
            kind: Service
            metadata:
              name: ingress-nginx-controller
              namespace: ingress-nginx
              labels: \(labels)
            spec:
              type: LoadBalancer
              loadBalancerIP: \(config.loadBalancerIPs.last)
              selector: {app.kubernetes.io/name: ingress-nginx, app.kubernetes.io/instance: ingress-nginx, app.kubernetes.io/component: controller}
              ports:
              - {name: http, port: 80, protocol: TCP, targetPort: http, appProtocol: http}
              - {name: https, port: 443, protocol: TCP, targetPort: https, appProtocol: https}
            ---
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: ingress-nginx-controller
              namespace: ingress-nginx
              labels: \(labels)
            spec:
              replicas: 1
              selector: {matchLabels: \(labels)}
              template:
                metadata: {labels: \(labels)}
                spec:
                  tolerations:
                  - {key: node-role.kubernetes.io/master, operator: Equal, effect: NoSchedule}
                  - {key: node-role.kubernetes.io/control-plane, operator: Equal, effect: NoSchedule}
                  containers:
                  - name: controller
                    image: registry.k8s.io/ingress-nginx/controller:v1.12.1
                    args:
                    - /nginx-ingress-controller
                    - --election-id=ingress-nginx-leader
                    - --controller-class=k8s.io/ingress-nginx
                    - --ingress-class=kindling
                    - --publish-service=$(POD_NAMESPACE)/ingress-nginx-controller
                    env:
                    - {name: POD_NAMESPACE, valueFrom: {fieldRef: {fieldPath: metadata.namespace}}}
                    ports:
                    - {name: http, containerPort: 80, protocol: TCP}
                    - {name: https, containerPort: 443, protocol: TCP}
                    - {name: metrics, containerPort: 10254, protocol: TCP}
                    readinessProbe:
                      httpGet: {path: /healthz, port: 10254}
                      periodSeconds: 1
                    volumeMounts:
                    - {name: nginx, mountPath: /etc/ingress-controller}
                  volumes:
                  - {name: nginx, emptyDir: {}}
            """, source: "ingress controller", registry)
    }

    /// The default StorageClass `standard`, as kind installs it with local-path-provisioner; kindling's
    /// `VolumeProvisioner` serves it.
    func ensureStorageClass(_ registry: Registry) throws {
        try Self.createMissing("""
            apiVersion: storage.k8s.io/v1
            kind: StorageClass
            metadata:
              name: standard
              annotations: {\(StorageClass.defaultAnnotation): "true"}
            provisioner: \(StorageClass.localPath)
            volumeBindingMode: WaitForFirstConsumer
            reclaimPolicy: Delete
            """, source: "storage class", registry)
    }

    /// Creates each object of `manifest` that does not exist yet; existing ones are the user's to change.
    static func createMissing(_ manifest: String, source: String, _ registry: Registry) throws {
        for object in try Manifest.parse(manifest, source: source) {
            guard let type = object.type else { continue }
            try createMissing(type, object, registry)
        }
    }

    static func createMissing<T: KubeObject>(_ type: T.Type, _ object: ManifestObject, _ registry: Registry) throws {
        guard (try? registry.get(T.self, namespace: object.namespace ?? "", name: object.name)) == nil else { return }
        _ = try registry.create(try KubeJSON.decoder.decode(T.self, from: object.json))
    }

    /// default, kube-system, kube-public and kube-node-lease exist in every cluster.
    func ensureSystemNamespaces(_ registry: Registry) throws {
        for name in Namespace.system where (try? registry.get(Namespace.self, name: name)) == nil {
            _ = try registry.create(Namespace(name: name))
        }
    }
}
