import Foundation
import KindlingAddresses
import KindlingAPI
import KindlingCluster
import KindlingNet
import Synchronization
import Testing

/// Faults a cluster must survive the way Kubernetes does (the reliability issue). One at a time: each builds
/// 3-node clusters under load, and the other suites run beside them on two cores.
@Suite(.serialized, .enabled(if: isRoot, "needs root: builds clusters"))
struct ReliabilityTests {
    let cli = CLITests()
    let podTests = PodTests()
    let services = ServiceProxyTests()

    static let nginxService = """
        apiVersion: v1
        kind: Service
        metadata: {name: nginx-service, namespace: dev}
        spec:
          selector: {app: nginx}
          ports: [{name: http, port: 80, targetPort: 80}]
        """

    /// A 3-node cluster with seed 002's six nginx pods behind `nginx-service` and a curl pod; `body` gets the
    /// cluster's name and the service's cluster IP, once a request through it has succeeded.
    func withServedCluster(_ tag: String, _ body: (String, String) throws -> Void) throws {
        try cli.withCluster(tag) { name in
            try services.apply(name, [PodTests.seed002, ServiceProxyTests.curlPod, Self.nginxService].joined(separator: "\n---\n"))
            #expect(podTests.allReady(name, namespace: "dev", count: 7))
            let vip = try services.clusterIP(name, "nginx-service")
            #expect(eventually(10) { status(name, "http://\(vip)") == "200" })
            try body(name, vip)
        }
    }

    /// The HTTP status `curl` gets from the curl pod for `url` ("000" when nothing answered).
    func status(_ cluster: String, _ url: String) -> String? {
        (try? services.exec(cluster, pod: "curl-pod", ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "1", url]))?.output
    }

    /// A steady stream from the curl pod: `count` requests 20 ms apart, each allowed 2 s (about 4 s for 150).
    struct Stream {
        let process = Process()
        let output = Pipe()
        let count: Int

        init(_ cluster: String, to vip: String, count: Int = 150) throws {
            self.count = count
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
            process.arguments = ["netns", "exec", ClusterNames(cluster: cluster).netnsPrefix + "pod.dev.curl-pod", "sh", "-c",
                                 "for i in $(seq \(count)); do curl -s -o /dev/null -w '%{http_code}\\n' --max-time 2 http://\(vip)/; sleep 0.02; done"]
            process.standardOutput = output
            try process.run()
        }

        /// Waits for the stream's end; records an issue unless every request got a 200.
        func expectAllAnswered() {
            let answers = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: "\n")
            process.waitUntilExit()
            #expect(answers.count == count && answers.allSatisfy { $0 == "200" },
                    "\(answers.filter { $0 != "200" }.count) of \(answers.count) requests failed: \(Set(answers))")
        }

        func stop() { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
    }

    /// Every agent killed with SIGKILL while a pod sends a steady stream of requests to a ClusterIP service
    /// with endpoints on every node: the supervisor restarts them, they re-adopt their pods, re-sync routes and
    /// rules in place (one transaction, never an empty table), and not one request fails.
    @Test func killedAgentsLoseNoRequest() throws {
        try withServedCluster("agentkill") { name, vip in
            let before = try podTests.pods(name, namespace: "dev")
            let stream = try Stream(name, to: vip)
            defer { stream.stop() }
            usleep(800_000)
            let agents = ClusterProcesses(cluster: name).pids(verb: "agent")
            #expect(agents.count == 3)
            for agent in agents { kill(agent, SIGKILL) }
            stream.expectAllAnswered()

            // New agents, and the pods they found were adopted, not restarted.
            #expect(eventually(10) {
                let now = ClusterProcesses(cluster: name).pids()
                return now.count == 5 && agents.allSatisfy { !now.contains($0) }
            })
            #expect(podTests.allReady(name, namespace: "dev", count: 7))
            let after = try podTests.pods(name, namespace: "dev")
            #expect(Set(after.map(\.uid)) == Set(before.map(\.uid)) && after.allSatisfy { $0.restarts == 0 })
        }
    }

    /// The server SIGKILLed in the middle of a burst of applies, while a pod keeps sending requests to a
    /// ClusterIP service: every apply that was acknowledged is there after the supervisor restarts it, the
    /// datapath never stops, and the agents carry on from their watches (a service created after the restart
    /// is served).
    @Test func killedServerLosesNoAcknowledgedWriteAndTrafficFlows() throws {
        try withServedCluster("serverkill") { name, vip in
            let stream = try Stream(name, to: vip)
            defer { stream.stop() }
            // Applies one after another; the server dies somewhere in the middle of them.
            let server = try #require(ClusterProcesses(cluster: name).pids(verb: "server").first)
            let killedAt = Mutex<Date?>(nil)
            let killer = Thread {
                usleep(400_000)
                kill(server, SIGKILL)
                killedAt.withLock { $0 = Date() }
            }
            let burstStarted = Date()
            killer.start()
            var acknowledged: [String] = []
            for index in 0..<40 {
                let map = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: burst-\(index), namespace: dev}\ndata: {index: \"\(index)\"}\n"
                if (try? cli.kindling(["apply", "--name", name, "-f", "-"], input: map))?.status == 0 { acknowledged.append("burst-\(index)") }
            }
            let burstEnded = Date()
            #expect(!ClusterProcesses(cluster: name).pids().contains(server))
            let killed = try #require(killedAt.withLock { $0 })
            #expect(burstStarted < killed && killed < burstEnded, "the server was killed outside the burst")
            stream.expectAllAnswered()

            // Back: every acknowledged write is there.
            var stored: Set<String> = []
            #expect(eventually(15) {
                let listing = (try? cli.kindling(["get", "--name", name, "-n", "dev", "configmaps", "-o", "name"]))?.output ?? ""
                stored = Set(listing.split(separator: "\n").map { String($0.split(separator: "/").last ?? "") })
                return Set(acknowledged).isSubset(of: stored)
            }, "lost: \(Set(acknowledged).subtracting(stored).sorted())")
            // The agents' watches carry on: a service made now is served.
            try services.apply(name, "apiVersion: v1\nkind: Service\nmetadata: {name: after, namespace: dev}\nspec:\n  selector: {app: nginx}\n  ports: [{port: 8080, targetPort: 80}]\n")
            let after = try services.clusterIP(name, "after")
            #expect(eventually(15) { status(name, "http://\(after):8080") == "200" })
        }
    }
}

extension ReliabilityTests {
    /// 20 create/delete cycles of one cluster name (each with its cluster DNS pods and their service programmed):
    /// after every delete nothing of the cluster is left (namespaces, processes, state and run directories,
    /// mounts, /etc/netns), and the machine's own links are as before.
    @Test func twentyCreateDeleteCyclesLeaveNothing() throws {
        let name = uniqueClusterName("cycles")
        defer { _ = try? cli.kindling(["delete", "cluster", "--name", name]) }
        let linksBefore = try rootLinks()
        for cycle in 1...20 {
            let created = try cli.kindling(["create", "cluster", "--name", name])
            try #require(created.status == 0, "cycle \(cycle): \(created.output)")
            #expect(podTests.allReady(name, namespace: "kube-system", count: 2), "cycle \(cycle)")
            let deleted = try cli.kindling(["delete", "cluster", "--name", name])
            #expect(deleted.status == 0, "cycle \(cycle): \(deleted.output)")
            try cli.assertNothingLeft(name)
        }
        #expect(try rootLinks() == linksBefore)
    }
}

extension ReliabilityTests {
    /// `kindling node stop`: the node goes NotReady after the (shortened) grace period, its pods' endpoints
    /// leave every node's rules, its pods are evicted and made again on other nodes; `node start` brings it
    /// back Ready and its stale pods are cleaned up.
    @Test func aStoppedNodeIsWorkedAroundAndCleanedUpWhenItReturns() throws {
        let name = uniqueClusterName("nodestop")
        defer { _ = try? cli.kindling(["delete", "cluster", "--name", name]) }
        let created = try sh(["env", "\(NodeTiming.variable)=2", "\(NodeTiming.evictionVariable)=2", CLITests.binary, "create", "cluster",
                              "--name", name, "--config", "-"], input: ClusterLifecycleTests.seed002)
        try #require(created.status == 0, "\(created.output)")
        try services.apply(name, [PodTests.seed002, ServiceProxyTests.curlPod, Self.nginxService].joined(separator: "\n---\n"))
        #expect(podTests.allReady(name, namespace: "dev", count: 7))
        let vip = try services.clusterIP(name, "nginx-service")
        // A worker without the curl pod, with nginx pods of its own.
        let pods = try podTests.pods(name, namespace: "dev")
        let curlNode = try #require(pods.first { $0.name == "curl-pod" }?.node)
        let victim = try #require(Set(pods.map(\.node)).filter { $0 != curlNode && $0.contains("worker") }.sorted().first)
        let victimPods = pods.filter { $0.node == victim }
        #expect(!victimPods.isEmpty)

        let stop = try cli.kindling(["node", "stop", "--name", name, victim])
        #expect(stop.status == 0 && stop.output == "node/\(victim) stopped\n", "\(stop.output)")
        // The two other agents run on. Counted until it holds for a moment: an agent's child between fork and exec
        // (kl_spawn forks) still shows the agent's command line, and one was once counted as a third agent.
        #expect(eventually(2) { ClusterProcesses(cluster: name).pids(verb: "agent").count == 2 })
        // NotReady, its endpoints gone, its pods evicted and the ReplicaSet back at six ready pods elsewhere.
        /// The victim's STATUS column as `get nodes` prints it.
        func victimStatus() -> String? {
            let lines = ((try? cli.kindling(["get", "nodes", "--name", name]))?.output ?? "").split(separator: "\n")
            return lines.first { $0.hasPrefix(victim + " ") }?.split(separator: " ").dropFirst().first.map(String.init)
        }
        // The figure: from NotReady (as `get nodes` shows it) until no other node's rules hold the victim's pods.
        let others = ClusterTopology(try ClusterState(cluster: name).load()).nodes.filter { $0.name != victim }
        func rulesHoldVictimPods() -> Bool {
            others.contains { node in
                let map = (try? inNetns(node.netns, ["nft", "list", "map", "ip", "kindling", "service-endpoints"]))?.output ?? ": "
                return victimPods.contains { map.contains(": \($0.ip) . ") }
            }
        }
        var notReadyAt: Date?, removedAt: Date?, polls = 0
        let pollStart = Date(), deadline = pollStart.addingTimeInterval(20)
        while Date() < deadline, notReadyAt == nil || removedAt == nil {
            let notReady = victimStatus() == "NotReady", held = rulesHoldVictimPods()
            polls += 1
            if notReady, notReadyAt == nil { notReadyAt = Date() }
            if !held, removedAt == nil { removedAt = Date() }
        }
        let seen = try #require(notReadyAt, "the node never went NotReady"), removed = try #require(removedAt, "its pods stayed in the rules")
        let lag = max(0, removed.timeIntervalSince(seen)), poll = Date().timeIntervalSince(pollStart) / Double(polls)
        print("figure: node stop: endpoints removed from every node's rules \(Int(lag * 1000)) ms after NotReady (polled every ~\(Int(poll * 1000)) ms)")
        #expect(lag <= 1.0, "endpoints removed \(lag) s after NotReady")
        #expect(eventually(10) { Set(services.endpointIPs(name, "nginx-service")).isDisjoint(with: victimPods.map(\.ip)) })
        #expect(eventually(20) {
            let now = (try? podTests.pods(name, namespace: "dev", selector: "app=nginx")) ?? []
            return now.filter { $0.ready && $0.node != victim }.count == 6
        })
        var answers: [String] = []
        for _ in 0..<10 { answers.append(status(name, "http://\(vip)") ?? "") }
        #expect(answers.allSatisfy { $0 == "200" }, "\(answers)")

        // Back: Ready again, and the evicted pods are gone, objects and namespaces alike.
        let start = try cli.kindling(["node", "start", "--name", name, victim])
        #expect(start.status == 0 && start.output == "node/\(victim) started\n", "\(start.output)")
        #expect(eventually(15) { victimStatus() == "Ready" })
        #expect(eventually(15) {
            let names = Set(((try? podTests.pods(name, namespace: "dev")) ?? []).map(\.name))
            return names.isDisjoint(with: victimPods.map(\.name))
        })
        #expect(eventually(10) {
            let left = NetNamespace.list(prefix: ClusterNames(cluster: name).netnsPrefix + "pod.dev.")
            return victimPods.allSatisfy { pod in !left.contains { $0.name.hasSuffix(pod.name) } }
        })
        let unknown = try cli.kindling(["node", "stop", "--name", name, "no-such-node"])
        #expect(unknown.status != 0 && unknown.output.contains("nodes \"no-such-node\" not found"), "\(unknown.output)")
    }
}

extension ReliabilityTests {
    /// No pod, node or other namespace of a cluster reaches the machine's own network. The test stands in a
    /// namespace of its own for "the outside": joined to the root namespace by a veth (198.51.100.0/30, a
    /// documentation range) and serving HTTP, with routes back to the private ranges (the cluster's), so that a
    /// packet leaking out of the cluster would get an answer. The root namespace reaches it (the control); nothing of the cluster
    /// does, no node has a default route, and the root namespace has no route into the cluster.
    @Test func noPodOrNodeReachesTheMachinesNetwork() throws {
        let tag = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let outside = "kt-out-\(tag)", rootEnd = "kto\(tag)"
        defer {
            _ = try? sh(["ip", "link", "del", rootEnd])
            _ = try? sh(["ip", "netns", "del", outside])
        }
        for step in [["ip", "netns", "add", outside],
                     ["ip", "link", "add", rootEnd, "type", "veth", "peer", "name", "eth0", "netns", outside],
                     ["ip", "addr", "add", "198.51.100.1/30", "dev", rootEnd], ["ip", "link", "set", rootEnd, "up"],
                     ["ip", "-n", outside, "addr", "add", "198.51.100.2/30", "dev", "eth0"],
                     ["ip", "-n", outside, "link", "set", "eth0", "up"], ["ip", "-n", outside, "link", "set", "lo", "up"],
                     ["ip", "-n", outside, "route", "add", "10.0.0.0/8", "via", "198.51.100.1"],
                     ["ip", "-n", outside, "route", "add", "172.16.0.0/12", "via", "198.51.100.1"]] {
            let result = try sh(step)
            try #require(result.status == 0, "\(step): \(result.output)")
        }
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        // socketserver, not http.server: http.server looks its own address up in DNS.
        server.arguments = ["netns", "exec", outside, "python3", "-c", PodNetworkTests.clientIPServer
            .replacingOccurrences(of: "http.server.HTTPServer((\"0.0.0.0\"", with: "socketserver.TCPServer((\"198.51.100.2\"")
            .replacingOccurrences(of: "import http.server", with: "import http.server, socketserver")]
        try server.run()
        defer { kill(server.processIdentifier, SIGKILL); server.waitUntilExit() }
        let url = "http://198.51.100.2:8080/"
        var control = ""
        #expect(eventually(5) {
            let attempt = try? sh(["curl", "-sS", "-o", "/dev/null", "--max-time", "1", url])
            control = attempt?.output ?? ""
            return attempt?.status == 0
        }, "the control failed: the root namespace does not reach the test's outside namespace: \(control)")

        let rootRoutesBefore = try sh(["ip", "-4", "route", "show"]).output
        try cli.withCluster("outside") { name in
            try services.apply(name, "apiVersion: v1\nkind: Namespace\nmetadata: {name: dev}\n---\n" + ServiceProxyTests.curlPod)
            #expect(podTests.allReady(name, namespace: "dev", count: 1))
            let namespaces = NetNamespace.list(prefix: ClusterNames(cluster: name).netnsPrefix)
            #expect(namespaces.count >= 6, "underlay, three nodes, the external client and the pod: \(namespaces.map(\.name))")
            for namespace in namespaces {
                let attempt = try inNetns(namespace, ["curl", "-s", "-o", "/dev/null", "--max-time", "2", url])
                #expect(attempt.status != 0, "\(namespace.name) reached the machine's network")
            }
            for node in namespaces where node.name.contains("control-plane") || node.name.contains("worker") {
                guard !node.name.contains(".pod.") else { continue }
                #expect(try inNetns(node, ["ip", "-4", "route", "show", "default"]).output.isEmpty, "\(node.name) has a default route")
            }
            #expect(try sh(["ip", "-4", "route", "show"]).output == rootRoutesBefore, "the cluster added routes to the root namespace")
        }
    }
}
