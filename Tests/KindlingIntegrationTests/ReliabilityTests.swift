import Foundation
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
        #expect(ClusterProcesses(cluster: name).pids(verb: "agent").count == 2)
        // NotReady, its endpoints gone, its pods evicted and the ReplicaSet back at six ready pods elsewhere.
        /// The victim's STATUS column as `get nodes` prints it.
        func victimStatus() -> String? {
            let lines = ((try? cli.kindling(["get", "nodes", "--name", name]))?.output ?? "").split(separator: "\n")
            return lines.first { $0.hasPrefix(victim + " ") }?.split(separator: " ").dropFirst().first.map(String.init)
        }
        #expect(eventually(15) { victimStatus() == "NotReady" })
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
