import Foundation
import KindlingAddresses
@testable import KindlingAgent
import KindlingAPI
@testable import KindlingServer
import Testing

/// LoadBalancer addresses: the pool, who gets which address, which node answers for it, and when a
/// silent node stops counting.
@Suite struct LoadBalancerTests {
    let pool = IPv4Range("172.18.255.200-172.18.255.202")!

    func service(_ name: String, type: String = "LoadBalancer", requested: String? = nil, ingress: String? = nil,
                 created: String = "2026-01-01T00:00:00Z", local: Bool = false) -> Service {
        var service = Service(metadata: ObjectMeta(name: name, namespace: "dev"), spec: .init(type: type, selector: ["app": name], ports: [.init(port: 80)]))
        service.metadata.creationTimestamp = created
        service.spec.loadBalancerIP = requested
        service.spec.externalTrafficPolicy = local ? "Local" : nil
        if let ingress { service.status = .init(loadBalancer: .init(ingress: [.init(ip: ingress)])) }
        return service
    }

    @Test func rangesParseAsMetalLBWritesThem() {
        #expect(IPv4Range("172.18.255.200-172.18.255.250")?.addresses.count == 51)
        #expect(IPv4Range("172.18.255.0/30")?.description == "172.18.255.0-172.18.255.3")
        #expect(IPv4Range("172.18.255.9-172.18.255.1") == nil && IPv4Range("nonsense") == nil)
    }

    @Test func poolIsValidatedInTheClusterConfig() throws {
        let config = try ClusterConfig.parse(yaml: "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnetworking:\n  loadBalancerPool: 172.18.200.0/24\n")
        #expect(config.loadBalancerIPs.description == "172.18.200.0-172.18.200.255")
        #expect(try ClusterConfig.parse(yaml: "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\n").loadBalancerIPs == ClusterConfig.defaultLoadBalancerPool)
        for (bad, message) in [("10.0.0.0/24", "must lie inside the node network 172.18.0.0/16"),
                               ("172.18.0.2-172.18.0.9", "must leave the node addresses"), ("x", "must be a range")] {
            #expect {
                _ = try ClusterConfig.parse(yaml: "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnetworking:\n  loadBalancerPool: \(bad)\n")
            } throws: { "\($0)".contains("networking.loadBalancerPool") && "\($0)".contains(message) }
        }
    }

    @Test func addressesAreAssignedKeptRequestedAndReleased() {
        let services = [
            service("a", created: "2026-01-01T00:00:01Z"),
            service("b", ingress: "172.18.255.200", created: "2026-01-01T00:00:02Z"),
            service("c", requested: "172.18.255.202", created: "2026-01-01T00:00:03Z"),
            service("d", created: "2026-01-01T00:00:04Z"),
            service("e", type: "ClusterIP", ingress: "172.18.255.201"),
            service("f", requested: "172.18.0.9"),
        ]
        let result = LoadBalancerController.assignments(services, pool: pool)
        // b keeps its address; c gets the one it asked for; a gets the lowest free one; d finds the pool used up.
        #expect(result["dev/b"] == nil)
        #expect(result["dev/c"] == [.init(ip: "172.18.255.202")])
        #expect(result["dev/a"] == [.init(ip: "172.18.255.201")])
        #expect(result["dev/d"] == nil, "pending: nothing to write yet")
        #expect(result["dev/e"] == [], "no longer a LoadBalancer: its address is released")
        #expect(result["dev/f"] == nil, "an address outside the pool stays pending")
    }

    func node(_ name: String, ready: Bool = true, excluded: Bool = false) -> Node {
        var node = Node(name: name, labels: excluded ? [LoadBalancerSpeaker.excludeLabel: ""] : [:])
        var status = Node.Status()
        status.conditions = [Condition(type: "Ready", status: ready ? "True" : "Unknown")]
        node.status = status
        return node
    }

    @Test func exactlyOneEligibleNodeAnnouncesEachAddress() {
        let services = (0..<3).map { service("s\($0)", ingress: "172.18.255.20\($0)") }
        let nodes = [node("cp", excluded: true), node("w1"), node("w2"), node("w3", ready: false)]
        let owners = nodes.map { LoadBalancerSpeaker.announced(services: services, nodes: nodes, slices: [], by: $0.name, pool: pool) }
        #expect(owners[0].isEmpty && owners[3].isEmpty, "excluded and NotReady nodes announce nothing")
        #expect(owners[1].union(owners[2]).count == 3 && owners[1].isDisjoint(with: owners[2]))
        // The owner of an address fails: another node takes it, the rest stay where they were.
        let lost = owners[1].isEmpty ? owners[2] : owners[1]
        let survivor = owners[1].isEmpty ? "w1" : "w2"
        let after = [node("cp", excluded: true), node("w1", ready: survivor == "w1"), node("w2", ready: survivor == "w2")]
        #expect(LoadBalancerSpeaker.announced(services: services, nodes: after, slices: [], by: survivor, pool: pool) == owners[1].union(owners[2]))
        #expect(!lost.isEmpty)
        // With the control plane the only node, it answers despite the label (as in a one-node kind cluster).
        #expect(LoadBalancerSpeaker.announced(services: services, nodes: [node("cp", excluded: true)], slices: [], by: "cp", pool: pool).count == 3)
    }

    @Test func localPolicyAnnouncesOnlyFromNodesWithEndpoints() {
        let services = [service("web", ingress: "172.18.255.200", local: true)]
        var slice = EndpointSlice(metadata: ObjectMeta(name: "web-x", namespace: "dev", labels: [EndpointSlice.serviceNameLabel: "web"]),
                                  endpoints: [.init(addresses: ["10.244.2.2"], conditions: .init(ready: true, serving: true, terminating: false), nodeName: "w2", targetRef: nil)],
                                  ports: nil)
        let nodes = [node("w1"), node("w2")]
        #expect(LoadBalancerSpeaker.announced(services: services, nodes: nodes, slices: [slice], by: "w2", pool: pool) == [IPv4Address("172.18.255.200")!])
        #expect(LoadBalancerSpeaker.announced(services: services, nodes: nodes, slices: [slice], by: "w1", pool: pool).isEmpty)
        slice.endpoints = []
        #expect(LoadBalancerSpeaker.announced(services: services, nodes: nodes, slices: [slice], by: "w2", pool: pool).isEmpty)
    }

    @Test func silentNodesAreFoundAfterTheGracePeriod() {
        var fresh = node("fresh"), silent = node("silent"), marked = node("marked", ready: false)
        fresh.status?.conditions?[0].lastHeartbeatTime = "2026-01-01T00:00:30Z"
        silent.status?.conditions?[0].lastHeartbeatTime = "2026-01-01T00:00:00Z"
        marked.status?.conditions?[0].lastHeartbeatTime = "2026-01-01T00:00:00Z"
        let now = Timestamp.date("2026-01-01T00:00:45Z")!
        #expect(NodeLifecycleController.silent([fresh, silent, marked], now: now, gracePeriod: 40) == ["silent"])
    }

    @Test func podsAreEvictedFromNodesNotReadyForLongerThanTheTimeout() {
        var ready = node("ready"), recent = node("recent", ready: false), long = node("long", ready: false)
        ready.status?.conditions?[0].lastTransitionTime = "2026-01-01T00:00:00Z"
        recent.status?.conditions?[0].lastTransitionTime = "2026-01-01T00:04:00Z"
        long.status?.conditions?[0].lastTransitionTime = "2026-01-01T00:00:00Z"
        let now = Timestamp.date("2026-01-01T00:05:01Z")!
        #expect(NodeLifecycleController.toEvict([ready, recent, long], now: now, timeout: 300) == ["long"])
        #expect(NodeLifecycleController.toEvict([ready, recent, long], now: now, timeout: 30) == ["recent", "long"])
    }
}
