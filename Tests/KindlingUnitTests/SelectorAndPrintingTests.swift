import Foundation
import KindlingAddresses
import KindlingAPI
import KindlingPrinters
import Testing

@Suite struct SelectorTests {
    @Test func parsesKubectlSelectorSyntax() throws {
        let selector = try Selector(parsing: "app=nginx, tier!=db,env in (a, b),!legacy,zone")
        #expect(selector.matches(["app": "nginx", "env": "a", "zone": "x"]))
        #expect(!selector.matches(["app": "nginx", "env": "c", "zone": "x"]))
        #expect(!selector.matches(["app": "nginx", "env": "a", "zone": "x", "legacy": "1"]))
        #expect(!selector.matches(["app": "nginx", "env": "a", "zone": "x", "tier": "db"]))
        #expect(!selector.matches(["app": "nginx", "env": "a"]))
        #expect(try Selector(parsing: "").matches([:]))
        #expect(try Selector(parsing: "a==b").matches(["a": "b"]))
        #expect(try Selector(parsing: "a notin (b)").matches([:]))
        for bad in ["a in (b", "=b", "a=b,", "a b", "a=b c"] {
            #expect(throws: Selector.ParseError.self, "\(bad)") { try Selector(parsing: bad) }
        }
    }

    @Test func labelSelectorsValidateAndMatch() {
        let selector = LabelSelector(matchLabels: ["app": "web"], matchExpressions: [.init(key: "tier", operator: "In", values: ["a"])])
        #expect(selector.matches(["app": "web", "tier": "a"]))
        #expect(!selector.matches(["app": "web"]))
        #expect(selector.selector.description == "app=web,tier in (a)")
        let bad = LabelSelector(matchExpressions: [.init(key: "x", operator: "Near"), .init(key: "y", operator: "In")])
        #expect(bad.validate("spec.selector").map(\.field) == ["spec.selector.matchExpressions[0].operator", "spec.selector.matchExpressions[1].values"])
    }
}

@Suite struct PrintingTests {
    @Test func humanDurationsMatchKubectl() {
        let cases: [(Int, String)] = [(0, "0s"), (59, "59s"), (119, "119s"), (120, "2m"), (200, "3m20s"), (600, "10m"),
                                      (3 * 3600, "3h"), (5 * 3600 + 600, "5h10m"), (20 * 3600, "20h"), (3 * 86400 + 3600 * 4, "3d4h"),
                                      (90 * 86400, "90d"), (3 * 365 * 86400 + 30 * 86400, "3y30d"), (10 * 365 * 86400, "10y")]
        for (seconds, text) in cases { #expect(Printing.humanDuration(seconds: seconds) == text) }
    }

    @Test func podColumnsAsInTheSeeds() {
        var pod = Pod(metadata: ObjectMeta(name: "nginx-replicaset-2xmsk", namespace: "dev"), spec: PodSpec(containers: [Container(name: "nginx", image: "nginx")]))
        pod.metadata.creationTimestamp = "T"
        pod.spec.nodeName = "kindling-worker"
        var status = PodStatus(phase: "Running")
        status.podIP = "10.244.1.2"
        status.containerStatuses = [ContainerStatus(name: "nginx", image: "nginx", ready: true, restartCount: 1,
                                                    state: .init(running: .init(startedAt: "T")))]
        var ended = ContainerStatus.State.Terminated(exitCode: 137, reason: "Error")
        ended.finishedAt = "F"
        status.containerStatuses?[0].lastState = .init(terminated: ended)
        pod.status = status
        let table = Printing.table([pod], wide: true, withNamespace: true, now: 95, parseTime: { $0 == "F" ? 50 : 0 })
        #expect(table.headers == ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED NODE", "READINESS GATES"])
        #expect(table.rows == [["dev", "nginx-replicaset-2xmsk", "1/1", "Running", "1 (45s ago)", "95s", "10.244.1.2", "kindling-worker", "<none>", "<none>"]])
        #expect(table.text.hasPrefix("NAMESPACE   NAME                     READY   STATUS"))
    }
}

/// kubectl's READY and STATUS for pods with init containers and sidecars, from statuses as kubelet posts them.
@Suite struct PodSummaryTests {
    /// The pod `json` describes, its container statuses given what kubelet always sets (ready, restartCount, image).
    static func pod(_ json: String) -> Pod {
        var object = try! JSONSerialization.jsonObject(with: Data(json.utf8)) as! [String: Any]
        var status = object["status"] as! [String: Any]
        for key in ["initContainerStatuses", "containerStatuses"] {
            status[key] = (status[key] as! [[String: Any]]).map { entry in
                entry.merging(["ready": false, "restartCount": 0, "image": "busybox", "imageID": ""]) { given, _ in given }
            }
        }
        object["status"] = status
        return try! KubeJSON.decoder.decode(Pod.self, from: JSONSerialization.data(withJSONObject: object))
    }

    static let spec = #"""
        "spec": {"initContainers": [{"name": "proxy", "image": "busybox", "restartPolicy": "Always"}, {"name": "migrate", "image": "busybox"}],
                 "containers": [{"name": "app", "image": "nginx"}]}
        """#

    @Test(arguments: [
        // init statuses, container status, Initialized: READY, STATUS
        (#"[{"name": "proxy", "started": false, "state": {"waiting": {"reason": "PodInitializing"}}}, {"name": "migrate", "state": {"waiting": {"reason": "PodInitializing"}}}]"#,
         #"{"name": "app", "state": {"waiting": {"reason": "PodInitializing"}}}"#, "False", "0/2", "Init:0/2"),
        (#"[{"name": "proxy", "started": true, "ready": true, "state": {"running": {}}}, {"name": "migrate", "state": {"running": {}}}]"#,
         #"{"name": "app", "state": {"waiting": {"reason": "PodInitializing"}}}"#, "False", "1/2", "Init:1/2"),
        (#"[{"name": "proxy", "started": true, "state": {"running": {}}}, {"name": "migrate", "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]"#,
         #"{"name": "app", "state": {"waiting": {"reason": "PodInitializing"}}}"#, "False", "0/2", "Init:CrashLoopBackOff"),
        (#"[{"name": "proxy", "started": true, "state": {"running": {}}}, {"name": "migrate", "state": {"terminated": {"exitCode": 3}}}]"#,
         #"{"name": "app", "state": {"waiting": {"reason": "PodInitializing"}}}"#, "False", "0/2", "Init:ExitCode:3"),
        (#"[{"name": "proxy", "started": true, "ready": true, "state": {"running": {}}}, {"name": "migrate", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]"#,
         #"{"name": "app", "ready": true, "state": {"running": {}}}"#, "True", "2/2", "Running"),
    ])
    func initContainersAndSidecarsAsKubectlShowsThem(inits: String, main: String, initialized: String, ready: String, status: String) {
        let pod = Self.pod(#"{"metadata": {"name": "p"}, \#(Self.spec), "status": {"phase": "\#(initialized == "True" ? "Running" : "Pending")", "initContainerStatuses": \#(inits),"#
            + #" "containerStatuses": [\#(main)], "conditions": [{"type": "Initialized", "status": "\#(initialized)"}]}}"#)
        let summary = PodSummary(pod)
        #expect("\(summary.ready)/\(summary.total)" == ready)
        #expect(summary.reason == status)
    }
}

@Suite struct ManifestTests {
    @Test func multiDocumentYAMLWithListsAndEmptyDocuments() throws {
        let objects = try Manifest.parse("""
            ---
            apiVersion: v1
            kind: Namespace
            metadata: {name: dev}
            ---
            # only a comment
            ---
            apiVersion: v1
            kind: List
            items:
            - apiVersion: apps/v1
              kind: Deployment
              metadata: {name: web, namespace: dev, annotations: {when: 2024-01-01}}
            """, source: "test.yaml")
        #expect(objects.map(\.kind) == ["Namespace", "Deployment"])
        #expect(objects[1].namespace == "dev")
        #expect(objects[1].type == Deployment.self)
        #expect(String(decoding: objects[1].json, as: UTF8.self).contains("\"2024-01-01\""))
        #expect(throws: ManifestError.self) { try Manifest.parse("kind: Pod\n", source: "x") }
        #expect(throws: ManifestError.self) { try Manifest.parse("a: [", source: "x") }
        #expect(try Manifest.parse("apiVersion: v9\nkind: Widget\nmetadata: {name: w}\n", source: "x").first?.type == nil)
    }

    @Test func podCIDRsAreHandedOutLowestFirst() {
        let subnet = IPv4CIDR("10.244.0.0/16")!
        #expect(PodCIDRAllocator.next(in: subnet, used: [])?.description == "10.244.0.0/24")
        #expect(PodCIDRAllocator.next(in: subnet, used: [IPv4CIDR("10.244.0.0/24")!, IPv4CIDR("10.244.2.0/24")!])?.description == "10.244.1.0/24")
        #expect(PodCIDRAllocator.next(in: IPv4CIDR("10.244.0.0/24")!, used: [IPv4CIDR("10.244.0.0/24")!]) == nil)
        let config = try! ClusterConfig.parse(yaml: ClusterConfigTests.seed002)
        #expect(PodCIDRAllocator.preferred(for: "kindling-control-plane", in: config)?.description == "10.244.0.0/24")
        #expect(PodCIDRAllocator.preferred(for: "kindling-worker2", in: config)?.description == "10.244.2.0/24")
        #expect(PodCIDRAllocator.preferred(for: "someone-else", in: config) == nil)
    }
}

@Suite struct DescribeTests {
    @Test func describeServiceAsKubectl() throws {
        var service = Service(metadata: ObjectMeta(name: "nginx-service", namespace: "dev"),
                              spec: .init(type: "NodePort", selector: ["app": "nginx"],
                                          ports: [.init(name: "http", port: 80, targetPort: .int(80), nodePort: 30000)]))
        service.spec.clusterIP = "10.96.0.20"
        service.metadata.annotations = ["kubectl.kubernetes.io/last-applied-configuration": "{}"]
        service.applyDefaults()
        let endpoints = (2...7).map {
            EndpointSlice.Endpoint(addresses: ["10.244.1.\($0)"], conditions: .init(ready: $0 != 7, serving: true, terminating: false),
                                   nodeName: nil, targetRef: nil)
        }
        let slice = EndpointSlice(metadata: ObjectMeta(name: "nginx-service-x", namespace: "dev"), endpoints: endpoints,
                                  ports: [.init(name: "http", port: 80, protocol: "TCP")])
        #expect(Describe.service(service, slices: [slice]) == """
            Name:                     nginx-service
            Namespace:                dev
            Labels:                   <none>
            Annotations:              <none>
            Selector:                 app=nginx
            Type:                     NodePort
            IP Family Policy:         SingleStack
            IP Families:              IPv4
            IP:                       10.96.0.20
            IPs:                      10.96.0.20
            Port:                     http  80/TCP
            TargetPort:               80/TCP
            NodePort:                 http  30000/TCP
            Endpoints:                10.244.1.2:80,10.244.1.3:80,10.244.1.4:80 + 2 more...
            Session Affinity:         None
            External Traffic Policy:  Cluster
            Internal Traffic Policy:  Cluster
            Events:                   <none>

            """)
    }
}
