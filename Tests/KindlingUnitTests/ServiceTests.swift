import Foundation
import KindlingAddresses
import KindlingAPI
import KindlingPrinters
@testable import KindlingServer
import KindlingStore
import Testing

/// A deterministic generator, so allocation tests do not depend on chance.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return state
    }
}

@Suite struct ServiceTests {
    let allocation = ServiceAllocation(serviceSubnet: IPv4CIDR("10.96.0.0/16")!)

    func service(_ name: String, type: String = "ClusterIP", clusterIP: String? = nil, ports: [Service.Port] = [.init(port: 80)]) -> Service {
        var service = Service(metadata: ObjectMeta(name: name, namespace: "dev"),
                              spec: .init(type: type, selector: ["app": name], ports: ports))
        service.spec.clusterIP = clusterIP
        service.applyDefaults()
        return service
    }

    func allocate(_ service: Service, old: Service? = nil, others: [Service] = []) -> Result<Service, InvalidObjectError> {
        var random = SeededRandom(state: 42)
        return allocation.allocate(service, old: old, others: others, using: &random)
    }

    @Test func defaultsAsKubernetes() {
        let svc = service("web")
        #expect(svc.spec.sessionAffinity == "None")
        #expect(svc.spec.ports?[0].protocol == "TCP")
        #expect(svc.spec.ports?[0].targetPort == .int(80))
        #expect(svc.spec.externalTrafficPolicy == nil)
        #expect(service("web", type: "NodePort").spec.externalTrafficPolicy == "Cluster")
    }

    @Test func clusterIPsComeFromTheRangeAndAreUnique() throws {
        let first = try allocate(service("a")).get()
        let ip = try #require(first.spec.clusterIP.flatMap { IPv4Address($0) })
        #expect(IPv4CIDR("10.96.0.0/16")!.contains(ip))
        #expect(ip != allocation.kubernetesIP && ip != allocation.dnsIP)
        #expect(first.spec.clusterIPs == [ip.description])
        let explicit = try allocate(service("dns", clusterIP: "10.96.0.10"), others: [first]).get()
        #expect(explicit.spec.clusterIP == "10.96.0.10")
        #expect(try allocate(service("none", clusterIP: "None")).get().spec.clusterIPs == ["None"])
    }

    @Test func clashingOrOutOfRangeClusterIPsAreRejectedInKubernetesWords() {
        let taken = service("a", clusterIP: "10.96.0.5")
        guard case .failure(let clash) = allocate(service("b", clusterIP: "10.96.0.5"), others: [taken]) else { Issue.record("allocated"); return }
        #expect(clash.description == "Service \"b\" is invalid: spec.clusterIPs: Invalid value: []string{\"10.96.0.5\"}: failed to allocate IP 10.96.0.5: provided IP is already allocated")
        guard case .failure(let outside) = allocate(service("c", clusterIP: "10.0.0.1")) else { Issue.record("allocated"); return }
        #expect(outside.description.contains("the provided IP (10.0.0.1) is not in the valid range. The range of valid IPs is 10.96.0.0/16"))
    }

    @Test func nodePortsAreAllocatedHonouredAndReleased() throws {
        let nodePort = try allocate(service("np", type: "NodePort", ports: [.init(name: "http", port: 80), .init(name: "https", port: 443, nodePort: 30000)])).get()
        let ports = nodePort.spec.ports ?? []
        #expect(ports[1].nodePort == 30000)
        #expect(ServiceAllocation.nodePortRange.contains(ports[0].nodePort ?? 0) && ports[0].nodePort != 30000)
        let other = service("other", type: "NodePort", ports: [.init(port: 80, nodePort: 30000)])
        guard case .failure(let clash) = allocate(other, others: [nodePort]) else { Issue.record("allocated"); return }
        #expect(clash.description.hasSuffix("spec.ports[0].nodePort: Invalid value: 30000: provided port is already allocated"))
        guard case .failure(let range) = allocate(service("low", type: "NodePort", ports: [.init(port: 80, nodePort: 29999)])) else { Issue.record("allocated"); return }
        #expect(range.description.hasSuffix("spec.ports[0].nodePort: Invalid value: 29999: provided port is not in the valid range. The range of valid ports is 30000-32767"))

        // Back to ClusterIP: same cluster IP, node ports released. Up to LoadBalancer: the node ports come back.
        var downgraded = service("np", ports: [.init(name: "http", port: 80), .init(name: "https", port: 443)])
        downgraded.spec.clusterIP = nil
        let clusterIP = try allocate(downgraded, old: nodePort).get()
        #expect(clusterIP.spec.clusterIP == nodePort.spec.clusterIP)
        #expect(clusterIP.spec.ports?.allSatisfy { $0.nodePort == nil } == true)
        var upgraded = service("np", type: "LoadBalancer", ports: [.init(name: "http", port: 80), .init(name: "https", port: 443)])
        upgraded.spec.clusterIP = nil
        let balanced = try allocate(upgraded, old: nodePort).get()
        #expect(balanced.spec.ports?.map(\.nodePort) == nodePort.spec.ports?.map(\.nodePort))
    }

    /// kube-apiserver's static bands: how much of the low end of a range dynamic allocation leaves alone.
    @Test(arguments: [(2768, 32, 128, 86), (65534, 16, 256, 256), (254, 16, 256, 16), (14, 16, 256, 0), (100, 32, 128, 16), (10000, 32, 128, 128)])
    func staticBands(size: Int, step: Int, max: Int, band: Int) {
        #expect(ServiceAllocation.staticBand(size: size, step: step, max: max) == band)
    }

    /// Random node ports and cluster IPs come from above the band, so seed 002's `nodePort: 30000` (or a
    /// low address asked for by hand) stays free; the band is used once the rest is full.
    @Test func dynamicAllocationLeavesTheLowBandToRequests() throws {
        var random = SeededRandom(state: 7)
        for _ in 0..<500 {
            let port = try #require(allocation.freeNodePort(used: [], using: &random))
            #expect(port >= 30086 && port <= 32767)
            let ip = try #require(allocation.freeIP(used: [], using: &random))
            #expect(ip.description.hasPrefix("10.96.") && ip >= IPv4Address("10.96.1.1")!)
        }
        let upper = Set(30086...32767)
        let port = try #require(allocation.freeNodePort(used: upper, using: &random))
        #expect(port < 30086)
        #expect(allocation.freeNodePort(used: Set(ServiceAllocation.nodePortRange), using: &random) == nil)
        let small = ServiceAllocation(serviceSubnet: IPv4CIDR("10.96.0.0/28")!)
        var seen: Set<String> = []
        for _ in 0..<200 { if let ip = small.freeIP(used: [], using: &random) { seen.insert(ip.description) } }
        #expect(!seen.contains("10.96.0.1") && !seen.contains("10.96.0.10") && !seen.contains("10.96.0.0") && !seen.contains("10.96.0.15"))
    }

    @Test func validationNamesTheField() {
        var bad = service("bad", ports: [.init(port: 80), .init(port: 70000), .init(name: "s", protocol: "SCTP", port: 90)])
        bad.spec.sessionAffinity = "Sticky"
        let fields = bad.validate().map(\.field)
        #expect(fields.contains("spec.ports[0].name") && fields.contains("spec.ports[1].port") && fields.contains("spec.ports[2].protocol"))
        #expect(fields.contains("spec.sessionAffinity"))
        #expect(service("c", ports: [.init(port: 80, nodePort: 30001)]).validate().map(\.description)
            == ["spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"])
        var external = Service(metadata: ObjectMeta(name: "ext"), spec: .init(type: "ExternalName"))
        #expect(external.validate().map(\.description) == ["spec.externalName: Required value"])
        external.spec.externalName = "my.database.example.com"
        #expect(external.validate().isEmpty)
        var changed = service("x", clusterIP: "10.96.0.7")
        changed.spec.clusterIP = "10.96.0.8"
        #expect(changed.validateUpdate(from: service("x", clusterIP: "10.96.0.7")).map(\.field) == ["spec.clusterIPs[0]"])
    }

    @Test func servicesThroughTheAPI() async throws {
        let registry = Registry(store: try Store(path: nil), admission: ServiceAdmission(serviceSubnet: IPv4CIDR("10.96.0.0/16")!))
        _ = try registry.create(Namespace(name: "dev"))
        let handler = APIHandler(registry: registry)
        let body = #"{"apiVersion":"v1","kind":"Service","metadata":{"name":"nginx-service"},"spec":{"type":"NodePort","selector":{"app":"nginx"},"ports":[{"port":80,"targetPort":80,"nodePort":30000}]}}"#
        let response = await handler.handle(APIRequest(method: "POST", path: "/api/v1/namespaces/dev/services", body: Data(body.utf8)))
        guard case .json(let code, let data, _, _) = response else { Issue.record("no json"); return }
        #expect(code == 201)
        let created = try JSONDecoder().decode(Service.self, from: data)
        #expect(created.spec.clusterIP?.hasPrefix("10.96.") == true && created.spec.ports?.first?.nodePort == 30000)
        let again = await handler.handle(APIRequest(method: "POST", path: "/api/v1/namespaces/dev/services",
                                                    body: Data(body.replacingOccurrences(of: "nginx-service", with: "second").utf8)))
        guard case .json(let clash, let status, _, _) = again else { Issue.record("no json"); return }
        #expect(clash == 422)
        #expect(String(decoding: status, as: UTF8.self).contains("provided port is already allocated"))
        let table = Printing.table([created], wide: true, withNamespace: false, now: 0, parseTime: { _ in 0 })
        #expect(table.headers == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE", "SELECTOR"])
        #expect(table.rows[0][1] == "NodePort" && table.rows[0][4] == "80:30000/TCP" && table.rows[0][6] == "app=nginx")
    }
}

@Suite struct EndpointsTests {
    func pod(_ name: String, ip: String?, ready: Bool = true, labels: [String: String] = ["app": "web"], port: ContainerPort? = nil) -> Pod {
        var container = Container(name: "c", image: "nginx")
        container.ports = port.map { [$0] }
        var pod = Pod(metadata: ObjectMeta(name: name, namespace: "dev", labels: labels), spec: PodSpec(containers: [container]))
        pod.metadata.uid = name
        pod.spec.nodeName = "node-\(name)"
        var status = PodStatus(phase: "Running")
        status.podIP = ip
        status.conditions = [Condition(type: "Ready", status: ready ? "True" : "False")]
        pod.status = status
        return pod
    }

    @Test func podsResolvedPerPortWithConditions() {
        var service = Service(metadata: ObjectMeta(name: "web", namespace: "dev"),
                              spec: .init(selector: ["app": "web"], ports: [.init(name: "http", port: 80, targetPort: .string("http"))]))
        service.applyDefaults()
        var terminating = pod("c", ip: "10.244.1.4", port: ContainerPort(name: "http", containerPort: 8080))
        terminating.metadata.deletionTimestamp = "2026-01-01T00:00:00Z"
        let pods = [
            pod("a", ip: "10.244.1.2", port: ContainerPort(name: "http", containerPort: 8080)),
            pod("b", ip: "10.244.2.2", ready: false, port: ContainerPort(name: "http", containerPort: 9090)),
            terminating,
            pod("d", ip: "10.244.1.5"),                       // no port named http: not an endpoint
            pod("e", ip: nil, port: ContainerPort(name: "http", containerPort: 8080)),  // no IP yet
            pod("f", ip: "10.244.3.3", labels: ["app": "db"], port: ContainerPort(name: "http", containerPort: 8080)),
        ]
        let groups = EndpointsController.groups(for: service, pods: pods)
        #expect(groups.count == 2)
        let on8080 = groups[[EndpointSlice.Port(name: "http", port: 8080, protocol: "TCP")]] ?? []
        #expect(on8080.map(\.ip) == ["10.244.1.2", "10.244.1.4"])
        #expect(on8080.map(\.ready) == [true, false] && on8080.map(\.terminating) == [false, true])
        let on9090 = groups[[EndpointSlice.Port(name: "http", port: 9090, protocol: "TCP")]] ?? []
        #expect(on9090.map(\.ip) == ["10.244.2.2"] && on9090.first?.ready == false)
    }

    /// A pod whose `subdomain` names the service gets its `hostname` on its endpoint (the DNS name
    /// `<hostname>.<service>.<ns>.svc`); with another subdomain, or none, it does not.
    @Test func podsHostnameGoesOnTheEndpointOfTheServiceItsSubdomainNames() {
        var service = Service(metadata: ObjectMeta(name: "web", namespace: "dev"), spec: .init(selector: ["app": "web"], ports: []))
        service.spec.clusterIP = "None"
        service.applyDefaults()
        var named = pod("a", ip: "10.244.1.2"), other = pod("b", ip: "10.244.1.3"), plain = pod("c", ip: "10.244.1.4")
        (named.spec.hostname, named.spec.subdomain) = ("web-0", "web")
        (other.spec.hostname, other.spec.subdomain) = ("db-0", "db")
        plain.spec.hostname = "lonely"
        let resolved = EndpointsController.groups(for: service, pods: [named, other, plain]).values.flatMap { $0 }
        #expect(resolved.map(\.ip) == ["10.244.1.2", "10.244.1.3", "10.244.1.4"])
        #expect(resolved.map(\.hostname) == ["web-0", nil, nil])
    }

    @Test func controllerKeepsSlicesAndEndpointsEqualToThePods() async throws {
        let registry = Registry(store: try Store(path: nil), admission: ServiceAdmission(serviceSubnet: IPv4CIDR("10.96.0.0/16")!))
        _ = try registry.create(Namespace(name: "dev"))
        let task = Task { await EndpointsController().runForever(registry, logger: .init(label: "test")) }
        let gc = Task { await GarbageCollector().runForever(registry, logger: .init(label: "test")) }
        defer { task.cancel(); gc.cancel() }
        for (name, ip) in [("a", "10.244.1.2"), ("b", "10.244.2.3")] {
            var created = try registry.create(pod(name, ip: nil))
            created.status = pod(name, ip: ip).status
            _ = try registry.update(created, namespace: "dev", name: name, scope: .status)
        }
        _ = try registry.create(Service(metadata: ObjectMeta(name: "web", namespace: "dev"),
                                        spec: .init(selector: ["app": "web"], ports: [.init(port: 80)])))
        func addresses() -> [String] {
            (try? registry.get(Endpoints.self, namespace: "dev", name: "web"))?.subsets?.flatMap { $0.addresses ?? [] }.map(\.ip) ?? []
        }
        func sliced() -> [String] {
            ((try? registry.list(EndpointSlice.self, namespace: "dev").items) ?? []).flatMap { $0.endpoints ?? [] }.flatMap(\.addresses)
        }
        for _ in 0..<100 where addresses().count < 2 { try await Task.sleep(for: .milliseconds(20)) }
        #expect(addresses() == ["10.244.1.2", "10.244.2.3"])
        #expect(sliced() == ["10.244.1.2", "10.244.2.3"])
        let slice = try #require(try registry.list(EndpointSlice.self, namespace: "dev").items.first)
        #expect(slice.name.hasPrefix("web-") && slice.metadata.labels?["kubernetes.io/service-name"] == "web")

        _ = try registry.delete(Pod.self, namespace: "dev", name: "a", gracePeriodSeconds: 0)
        for _ in 0..<100 where addresses().count != 1 { try await Task.sleep(for: .milliseconds(20)) }
        #expect(addresses() == ["10.244.2.3"] && sliced() == ["10.244.2.3"])

        _ = try registry.delete(Service.self, namespace: "dev", name: "web")
        for _ in 0..<100 where !sliced().isEmpty || (try? registry.get(Endpoints.self, namespace: "dev", name: "web")) != nil {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(sliced().isEmpty && (try? registry.get(Endpoints.self, namespace: "dev", name: "web")) == nil)
    }

    @Test func selectorlessServicesKeepTheUsersEndpointsMirroredIntoASlice() throws {
        let registry = Registry(store: try Store(path: nil), admission: ServiceAdmission(serviceSubnet: IPv4CIDR("10.96.0.0/16")!))
        _ = try registry.create(Namespace(name: "dev"))
        _ = try registry.create(Service(metadata: ObjectMeta(name: "db", namespace: "dev"), spec: .init(ports: [.init(port: 5432)])))
        _ = try registry.create(Endpoints(metadata: ObjectMeta(name: "db", namespace: "dev"),
                                          subsets: [.init(addresses: [.init(ip: "10.244.9.9")], notReadyAddresses: nil, ports: [.init(name: nil, port: 5432, protocol: "TCP")])]))
        try EndpointsController().syncAll(registry)
        #expect(try registry.get(Endpoints.self, namespace: "dev", name: "db").subsets?.first?.addresses?.first?.ip == "10.244.9.9")
        // Proxies read slices: the user's Endpoints are mirrored into one, labelled as Kubernetes' mirroring controller does.
        let slices = try registry.list(EndpointSlice.self, namespace: "dev").items
        #expect(slices.count == 1)
        #expect(slices.first?.metadata.labels?[EndpointSlice.managedByLabel] == "endpointslicemirroring-controller.k8s.io")
        #expect(slices.first?.metadata.labels?[EndpointSlice.serviceNameLabel] == "db")
        #expect(slices.first?.endpoints?.map(\.addresses) == [["10.244.9.9"]] && slices.first?.ports?.first?.port == 5432)
        // No Endpoints any more: no mirror either; a service with no Endpoints object gets no slice at all.
        _ = try registry.delete(Endpoints.self, namespace: "dev", name: "db")
        try EndpointsController().syncAll(registry)
        #expect(try registry.list(EndpointSlice.self, namespace: "dev").items.isEmpty)
    }
}

@Suite struct RequestMetricsTests {
    @Test func labelsAsKubeApiserverNamesThem() {
        func labels(_ method: String, _ path: String, watch: Bool = false) -> String {
            let (verb, resource) = RequestMetrics.labels(method: method, path: path, query: watch ? ["watch": "true"] : [:])
            return "\(verb) \(resource)"
        }
        #expect(labels("GET", "/api/v1/namespaces/dev/pods") == "LIST pods")
        #expect(labels("GET", "/api/v1/namespaces/dev/pods/web") == "GET pods")
        #expect(labels("GET", "/api/v1/pods", watch: true) == "WATCH pods")
        #expect(labels("PUT", "/api/v1/namespaces/dev/pods/web/status") == "PUT pods/status")
        #expect(labels("GET", "/apis/apps/v1/namespaces/dev/deployments/web/scale") == "GET deployments/scale")
        #expect(labels("DELETE", "/api/v1/namespaces/dev/pods") == "DELETECOLLECTION pods")
        #expect(labels("GET", "/api/v1/namespaces/dev") == "GET namespaces")
        #expect(labels("GET", "/version") == "GET ")
    }

    @Test func preciseTimestampsRoundTrip() {
        let date = Date(timeIntervalSince1970: 1_795_000_000.123456)
        let text = Timestamp.preciseString(date)
        #expect(text.hasSuffix(".123456Z") && text.count == "2026-11-18T10:13:20.123456Z".count, "\(text)")
        #expect(abs((Timestamp.date(text)?.timeIntervalSince1970 ?? 0) - date.timeIntervalSince1970) < 0.001)
        #expect(Timestamp.date("2026-11-18T10:13:20Z") != nil)
    }
}
