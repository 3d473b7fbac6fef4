import Foundation
import KindlingAddresses
import KindlingAPI
import KindlingCluster
import KindlingNet
import Testing

/// Pods wired the kindnet-ptp way on two nodes, with the node-to-node routes an agent keeps.
@Suite(.enabled(if: isRoot, "needs root: creates network namespaces"))
struct PodNetworkTests {
    struct Fixture {
        let cluster: TestCluster
        let podCIDRs: [IPv4CIDR]
        var links: [PodLink] = []

        init(_ tag: String) throws {
            cluster = try TestCluster(tag)
            podCIDRs = [IPv4CIDR("10.244.0.0/24")!, IPv4CIDR("10.244.1.0/24")!]
        }

        var nodes: [ClusterTopology.Node] { cluster.topology.nodes }

        /// Every other node's pod CIDR via that node's address: what each agent's route sync keeps.
        func nodeRoutes(for index: Int) -> Set<Route> {
            Set(nodes.indices.filter { $0 != index }.map {
                Route(destination: podCIDRs[$0], gateway: nodes[$0].address.address, device: "eth0")
            })
        }

        mutating func addPod(_ name: String, node: Int, host: Int) throws -> PodLink {
            let netns = try NetNamespace.create(cluster.topology.names.netnsPrefix + "pod.\(name)")
            let link = PodLink(pod: netns, hostDevice: "veth\(name)", address: podCIDRs[node].network.advanced(by: host),
                               podCIDR: podCIDRs[node])
            try link.attach(node: nodes[node].netns)
            links.append(link)
            return link
        }
    }

    @Test func podsReachPodsOnEveryNodeWithoutNAT() throws {
        var fixture = try Fixture("pods")
        defer { fixture.cluster.teardown() }
        let a = try fixture.addPod("a", node: 0, host: 2)
        let b = try fixture.addPod("b", node: 1, host: 2)
        let c = try fixture.addPod("c", node: 0, host: 3)
        for (index, node) in fixture.nodes.enumerated() {
            let changes = try node.netns.run { try $0.reconcileRoutes(fixture.nodeRoutes(for: index), owner: .nodeRoutes) }
            #expect(changes.add.count == 1)
        }

        for (from, to) in [(a, b), (b, a), (a, c), (c, b)] {
            let ping = try inNetns(from.pod, ["ping", "-c", "1", "-W", "1", to.address.description])
            #expect(ping.status == 0, "\(from.address) -> \(to.address): \(ping.output)")
        }

        // The callee sees the caller's own pod IP: nothing on the path rewrites it.
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        server.arguments = ["netns", "exec", b.pod.name, "python3", "-c", PodNetworkTests.clientIPServer]
        try server.run()
        // SIGKILL: children of a Swift process inherit a signal mask that blocks SIGTERM.
        defer { kill(server.processIdentifier, SIGKILL); server.waitUntilExit() }
        var seen = ""
        let answered = try eventually {
            let reply = try inNetns(a.pod, ["curl", "-s", "--max-time", "1", "http://\(b.address):8080/clientip"])
            seen = reply.output
            return reply.status == 0
        }
        #expect(answered)
        #expect(seen == a.address.description)
    }

    @Test func routeSyncRepairsDriftAndLeavesForeignRoutesAlone() throws {
        let fixture = try Fixture("drift")
        defer { fixture.cluster.teardown() }
        let node = fixture.nodes[0].netns
        let desired = fixture.nodeRoutes(for: 0)
        try node.run { _ = try $0.reconcileRoutes(desired, owner: .nodeRoutes) }

        // Someone deletes our route and adds a stale one of ours and one of their own.
        try inNetns(node, ["ip", "route", "del", "10.244.1.0/24"])
        try inNetns(node, ["ip", "route", "add", "10.244.9.0/24", "via", "172.18.0.9", "proto", "77"])
        try inNetns(node, ["ip", "route", "add", "10.50.0.0/16", "via", "172.18.0.9", "proto", "static"])

        let changes = try node.run { try $0.reconcileRoutes(desired, owner: .nodeRoutes) }
        #expect(changes.add.map(\.description) == ["10.244.1.0/24 via 172.18.0.3 dev eth0"])
        #expect(changes.delete.map(\.destination.description) == ["10.244.9.0/24"])
        #expect(try node.run { try $0.ownedRoutes(.nodeRoutes) } == desired)
        #expect(try inNetns(node, ["ip", "route", "show", "10.50.0.0/16"]).output.contains("via 172.18.0.9"))
        #expect(try node.run { try $0.reconcileRoutes(desired, owner: .nodeRoutes) }.isEmpty)
    }

    @Test func detachRemovesTheLinkAndTheRoute() throws {
        var fixture = try Fixture("detach")
        defer { fixture.cluster.teardown() }
        let node = fixture.nodes[0].netns
        let pod = try fixture.addPod("d", node: 0, host: 7)
        #expect(try node.run { try $0.linkIndex(pod.hostDevice) } != nil)
        #expect(try node.run { try $0.ownedRoutes(.podLinks) } == [pod.hostRoute])
        #expect(try pod.pod.run { try $0.ownedRoutes(.podLinks) } == pod.podRoutes)

        try pod.detach(node: node)
        #expect(try node.run { try $0.linkIndex(pod.hostDevice) } == nil)
        #expect(try node.run { try $0.ownedRoutes(.podLinks) }.isEmpty)
        #expect(try pod.pod.run { try $0.linkNames() } == ["lo"])
        // Attaching again after a detach (a restarted pod) works.
        try pod.attach(node: node)
        // A fresh veth drops packets until the kernel's link watcher activates it (up to a second under load).
        #expect(eventually(3) { (try? inNetns(pod.pod, ["ping", "-c", "1", "-W", "1", pod.gateway.description]))?.status == 0 })
    }

    /// agnhost's `/clientip` in miniature: answers with the caller's address.
    static let clientIPServer = """
        import http.server
        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = self.client_address[0].encode()
                self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers()
                self.wfile.write(body)
            def log_message(self, *a): pass
        http.server.HTTPServer(("0.0.0.0", 8080), H).serve_forever()
        """
}
