import Foundation
import KindlingAddresses
import KindlingAPI
import KindlingCluster
import KindlingNet
import Testing

/// Services through every node's nf_tables proxy, checked from inside pods, nodes and the external client
/// with curl: seed 002's ClusterIP and NodePort walk-through, then the policies kube-proxy implements.
@Suite(.enabled(if: isRoot, "needs root: creates network namespaces"))
struct ServiceProxyTests {
    let cli = CLITests()
    let podTests = PodTests()

    static let curlPod = """
        apiVersion: v1
        kind: Pod
        metadata: {name: curl-pod, namespace: dev}
        spec:
          containers:
          - {name: curl, image: curlimages/curl:latest, command: [sleep, infinity]}
        """

    func apply(_ cluster: String, _ yaml: String) throws {
        let applied = try cli.kindling(["apply", "--name", cluster, "-f", "-"], input: yaml)
        try #require(applied.status == 0, "\(applied.output)")
    }

    func json(_ cluster: String, _ arguments: [String]) throws -> [String: Any] {
        let output = try cli.kindling(["get"] + arguments + ["--name", cluster, "-o", "json"]).output
        return try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any] ?? [:]
    }

    func clusterIP(_ cluster: String, _ service: String, namespace: String = "dev") throws -> String {
        let spec = try json(cluster, ["svc", service, "-n", namespace])["spec"] as? [String: Any]
        return try #require(spec?["clusterIP"] as? String)
    }

    /// The ready addresses of a service's Endpoints, sorted.
    func endpointIPs(_ cluster: String, _ service: String) -> [String] {
        let subsets = (try? json(cluster, ["ep", service, "-n", "dev"]))?["subsets"] as? [[String: Any]] ?? []
        return subsets.flatMap { ($0["addresses"] as? [[String: Any]] ?? []).compactMap { $0["ip"] as? String } }.sorted()
    }

    func exec(_ cluster: String, pod: String, _ command: [String]) throws -> CommandResult {
        try cli.kindling(["exec", "--name", cluster, "-n", "dev", pod, "--"] + command)
    }

    func onNode(_ cluster: String, _ node: String, _ command: [String]) throws -> CommandResult {
        try cli.kindling(["exec", "--name", cluster, "--node", node, "--"] + command)
    }

    func external(_ cluster: String, _ command: [String]) throws -> CommandResult {
        try cli.kindling(["exec", "--name", cluster, "--external", "--"] + command)
    }

    /// `count` answers to `curl -s URL` run in one shell, one name per line.
    static func curlLoop(_ url: String, _ count: Int) -> [String] {
        ["sh", "-c", "for i in $(seq \(count)); do curl -s --max-time 2 \(url); echo; done"]
    }

    static func answers(_ result: CommandResult) -> [String] {
        result.output.split(separator: "\n").map(String.init).filter { !$0.isEmpty }
    }

    @Test func seed002ClusterIPAndNodePortReachPodsOnEveryNode() throws {
        try cli.withCluster("svc") { name in
            try apply(name, PodTests.seed002)
            try apply(name, Self.curlPod)
            #expect(podTests.allReady(name, namespace: "dev", count: 7), "pods did not all become Ready")
            let nginx = try podTests.pods(name, namespace: "dev", selector: "app=nginx")
            let nodeOf = Dictionary(uniqueKeysWithValues: nginx.map { ($0.name, $0.node) })
            for pod in nginx {
                _ = try exec(name, pod: pod.name, ["sh", "-c", "echo $POD_NAME > /usr/share/nginx/html/index.html"])
            }
            try apply(name, "apiVersion: v1\nkind: Service\nmetadata: {name: nginx-service, namespace: dev}\nspec:\n  selector: {app: nginx}\n  ports:\n  - {name: http, port: 80, targetPort: 80}\n")
            let vip = try clusterIP(name, "nginx-service")
            #expect(eventually(10) { endpointIPs(name, "nginx-service") == nginx.map(\.ip).sorted() })

            // From outside the cluster the cluster IP is unreachable (the seed tries from the host; the external
            // client stands in for it, so no test traffic leaves the machine's own namespaces).
            #expect(try external(name, ["curl", "--head", "-s", "--max-time", "2", "http://\(vip)"]).status != 0)

            // From a pod: 200 from nginx, and 30 requests spread over several pods.
            var head = CommandResult(status: -1, output: "")
            #expect(eventually(10) {
                head = (try? exec(name, pod: "curl-pod", ["curl", "--head", "-s", "--max-time", "2", "http://\(vip)"])) ?? head
                return head.output.hasPrefix("HTTP/1.1 200 OK")
            }, "\(head.output)")
            let spread = Self.answers(try exec(name, pod: "curl-pod", Self.curlLoop("http://\(vip)", 30)))
            #expect(spread.count == 30 && Set(spread).count >= 3 && Set(spread).isSubset(of: Set(nodeOf.keys)), "\(spread)")

            // NodePort 30000 (seed 002's manifest): on every node's IP, on localhost inside each node, and from
            // the external client; each node forwards to pods on all nodes.
            try apply(name, "apiVersion: v1\nkind: Service\nmetadata: {name: nginx-service, namespace: dev}\nspec:\n  type: NodePort\n  selector: {app: nginx}\n  ports:\n  - {name: http, port: 80, targetPort: 80, nodePort: 30000}\n")
            #expect(try clusterIP(name, "nginx-service") == vip, "the cluster IP survives the type change")
            let nodes = try cli.kindling(["get", "nodes", "--name", name, "-o", "name"]).output
                .split(separator: "\n").map { String($0.split(separator: "/").last!) }
            #expect(nodes.count == 3)
            let nodeIPs = (2...4).map { "172.18.0.\($0)" }
            var fromLocalhost: [String] = []
            #expect(eventually(10) {
                fromLocalhost = Self.answers((try? onNode(name, nodes[1], Self.curlLoop("http://localhost:30000", 1))) ?? head)
                return fromLocalhost.count == 1
            }, "localhost:30000 on \(nodes[1])")
            for node in nodes {
                let local = Self.answers(try onNode(name, node, Self.curlLoop("http://localhost:30000", 20)))
                #expect(local.count == 20 && Set(local.compactMap { nodeOf[$0] }).count >= 2, "\(node) localhost: \(local)")
                for ip in nodeIPs {
                    #expect(Self.answers(try onNode(name, node, Self.curlLoop("http://\(ip):30000", 2))).count == 2, "\(node) -> \(ip):30000")
                }
            }
            for ip in nodeIPs {
                let outside = Self.answers(try external(name, Self.curlLoop("http://\(ip):30000", 20)))
                #expect(outside.count == 20 && Set(outside.compactMap { nodeOf[$0] }).count >= 2, "external -> \(ip): \(outside)")
            }
            let described = try cli.kindling(["describe", "--name", name, "-n", "dev", "svc", "nginx-service"]).output
            #expect(described.contains("NodePort:                 http  30000/TCP\n") && described.contains(" + 3 more...\n"), "\(described)")
            // Six endpoints in six slots of the VIP, picked by the chain for up to eight.
            let rules = try onNode(name, nodes[0], ["nft", "list", "chain", "ip", "kindling", "service-dev/nginx-service/tcp/http"]).output
            #expect(rules.contains("goto pick-8-service-endpoints"), "\(rules)")
            let slots = try onNode(name, nodes[0], ["nft", "list", "map", "ip", "kindling", "service-endpoints"]).output
            #expect(slots.components(separatedBy: "\(vip) . tcp . 80 . ").count == 7, "\(slots)")

            // Endpoints follow the pods: scaled down, no request reaches a removed pod; scaled up, new pods join.
            #expect(try cli.kindling(["scale", "--name", name, "-n", "dev", "rs/nginx-replicaset", "--replicas=3"]).status == 0)
            #expect(eventually(20) { endpointIPs(name, "nginx-service").count == 3 })
            let remaining = try podTests.pods(name, namespace: "dev", selector: "app=nginx").filter { $0.phase == "Running" }.map(\.name)
            usleep(300_000)
            let afterScale = Self.answers(try exec(name, pod: "curl-pod", Self.curlLoop("http://\(vip)", 20)))
            #expect(afterScale.count == 20 && Set(afterScale).isSubset(of: Set(remaining)), "\(afterScale) vs \(remaining)")
            #expect(try cli.kindling(["scale", "--name", name, "-n", "dev", "rs/nginx-replicaset", "--replicas=5"]).status == 0)
            #expect(eventually(20) { endpointIPs(name, "nginx-service").count == 5 })

            // A service whose selector matches nothing refuses at once, and so does a port no service has.
            try apply(name, "apiVersion: v1\nkind: Service\nmetadata: {name: nothing, namespace: dev}\nspec:\n  selector: {app: nothing}\n  ports:\n  - {port: 80}\n")
            let empty = try clusterIP(name, "nothing")
            var refused = CommandResult(status: 0, output: "")
            #expect(eventually(10) {
                refused = (try? exec(name, pod: "curl-pod", ["curl", "-sS", "--max-time", "5", "-w", "%{time_total}", "http://\(empty)"])) ?? refused
                return refused.status == 7
            }, "\(refused.output)")
            #expect(refused.output.contains("Couldn't connect") || refused.output.contains("Connection refused"), "\(refused.output)")
            #expect(try exec(name, pod: "curl-pod", ["curl", "-s", "--max-time", "5", "http://\(vip):81"]).status == 7)

            // Metrics as kube-proxy and kube-apiserver export them: sync durations and network programming latency
            // on every node's :10249, request counts and open watches on the API server.
            let proxyMetrics = try onNode(name, nodes[1], ["curl", "-s", "--max-time", "2", "http://localhost:10249/metrics"]).output
            for metric in ["kubeproxy_sync_proxy_rules_duration_seconds_bucket", "kubeproxy_sync_partial_proxy_rules_duration_seconds_count",
                           "kubeproxy_network_programming_duration_seconds_count", "kindling_proxy_service_ports"] {
                #expect(proxyMetrics.contains(metric), "\(metric) missing")
            }
            let apiMetrics = try sh(["curl", "-s", "--unix-socket", ClusterProcesses(cluster: name).socketPath, "http://localhost/metrics"]).output
            #expect(apiMetrics.contains("apiserver_request_total{") && apiMetrics.contains(#"verb="WATCH""#), "\(apiMetrics.prefix(500))")

            // Someone deletes the proxy's rules by hand: the agent puts them back within about a second.
            _ = try onNode(name, nodes[0], ["nft", "flush", "map", "ip", "kindling", "service-ips"])
            #expect(eventually(5) { (try? onNode(name, nodes[0], ["curl", "-s", "--max-time", "1", "http://\(vip)"]))?.status == 0 })
        }
    }
}

extension ServiceProxyTests {
    static let echo = """
        apiVersion: apps/v1
        kind: DaemonSet
        metadata: {name: echo, namespace: dev}
        spec:
          selector: {matchLabels: {app: echo}}
          template:
            metadata: {labels: {app: echo}}
            spec:
              tolerations: [{key: node-role.kubernetes.io/control-plane, operator: Exists, effect: NoSchedule}]
              containers:
              - name: agnhost
                image: registry.k8s.io/e2e-test-images/agnhost:2.39
                args: [netexec, --http-port=8080, --udp-port=8081]
                ports: [{name: http, containerPort: 8080}]
        """

    static let services = """
        apiVersion: v1
        kind: Service
        metadata: {name: sticky, namespace: dev}
        spec:
          selector: {app: echo}
          sessionAffinity: ClientIP
          ports: [{port: 80, targetPort: http}]
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: local, namespace: dev}
        spec:
          type: NodePort
          externalTrafficPolicy: Local
          selector: {app: echo}
          ports: [{port: 80, targetPort: 8080, nodePort: 30080}]
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: cluster, namespace: dev}
        spec:
          type: NodePort
          selector: {app: echo}
          ports: [{port: 80, targetPort: 8080, nodePort: 30081}]
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: udp, namespace: dev}
        spec:
          selector: {app: echo}
          ports: [{port: 53, targetPort: 8081, protocol: UDP}]
        """

    /// One UDP request to agnhost's netexec (`hostname`, `clientip`) and its answer, from inside a pod.
    static func udp(_ address: String, _ port: Int, _ command: String, sourcePort: Int = 0) -> [String] {
        ["python3", "-c", """
            import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("0.0.0.0", \(sourcePort)))
            s.sendto(b"\(command)", ("\(address)", \(port))); print(s.recv(2048).decode())
            """]
    }

    @Test func affinityLocalPolicyUDPAndUserEndpoints() throws {
        try cli.withCluster("svcpol", yaml: "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes:\n- role: control-plane\n- role: worker\n") { name in
            try apply(name, "apiVersion: v1\nkind: Namespace\nmetadata: {name: dev}\n")
            try apply(name, Self.echo)
            #expect(podTests.allReady(name, namespace: "dev", count: 2), "agnhost pods did not become Ready")
            try apply(name, Self.curlPod)
            try apply(name, Self.services)
            #expect(podTests.allReady(name, namespace: "dev", count: 3))
            let echo = try podTests.pods(name, namespace: "dev", selector: "app=echo")
            #expect(Set(echo.map(\.node)).count == 2, "one agnhost pod per node: \(echo.map(\.node))")
            for service in ["sticky", "local", "cluster", "udp"] {
                #expect(eventually(10) { endpointIPs(name, service).count == 2 }, "\(service) endpoints")
            }

            // ClientIP affinity: every request from one client reaches the same pod.
            let sticky = try clusterIP(name, "sticky")
            var answers: [String] = []
            #expect(eventually(10) {
                answers = Self.answers((try? exec(name, pod: "curl-pod", Self.curlLoop("http://\(sticky)/hostname", 10))) ?? CommandResult(status: 1, output: ""))
                return answers.count == 10
            })
            #expect(Set(answers).count == 1 && echo.map(\.name).contains(answers.first ?? ""), "\(answers)")

            // externalTrafficPolicy Local: the external client's own address arrives, and only this node's pod
            // answers; with Cluster the client is masqueraded to an address of the node that forwarded it.
            let workerIP = "172.18.0.3"
            let worker = try #require(echo.first { $0.node == "\(name)-worker" })
            let local = Self.answers(try external(name, Self.curlLoop("http://\(workerIP):30080/clientip", 5)))
            #expect(local.count == 5 && local.allSatisfy { $0.hasPrefix("172.18.255.254:") }, "\(local)")
            let localNames = Self.answers(try external(name, Self.curlLoop("http://\(workerIP):30080/hostname", 10)))
            #expect(localNames.count == 10 && Set(localNames) == [worker.name], "\(localNames)")
            let masqueraded = Self.answers(try external(name, Self.curlLoop("http://\(workerIP):30081/clientip", 5)))
            #expect(masqueraded.count == 5 && !masqueraded.contains { $0.hasPrefix("172.18.255.254:") }, "\(masqueraded)")

            // UDP through a cluster IP.
            let udp = try clusterIP(name, "udp")
            var udpAnswer = CommandResult(status: 1, output: "")
            #expect(eventually(10) {
                udpAnswer = (try? exec(name, pod: "curl-pod", Self.udp(udp, 53, "hostname"))) ?? udpAnswer
                return udpAnswer.status == 0
            }, "\(udpAnswer.output)")
            #expect(echo.map { $0.name + "\n" }.contains(udpAnswer.output), "\(udpAnswer.output)")

            // The same client address and port after its endpoint left the service: the agent deleted the stale
            // conntrack entry, so the datagram goes to another endpoint. The relabelled pod still runs and would
            // answer if the old entry were still there.
            let fixed = Self.udp(udp, 53, "hostname", sourcePort: 40053)
            let first = try exec(name, pod: "curl-pod", fixed).output.trimmingCharacters(in: .whitespacesAndNewlines)
            let victim = try #require(echo.first { $0.name == first }, "\(first)")
            let relabel = try sh(["curl", "-s", "--unix-socket", ClusterProcesses(cluster: name).socketPath, "-X", "PATCH",
                                  "-H", "Content-Type: application/merge-patch+json", "-d", #"{"metadata":{"labels":{"app":"quarantined"}}}"#,
                                  "http://localhost/api/v1/namespaces/dev/pods/\(victim.name)"])
            #expect(relabel.output.contains("quarantined"), "\(relabel.output)")
            #expect(eventually(10) { !endpointIPs(name, "udp").contains(victim.ip) })
            var second = ""
            #expect(eventually(10) {
                second = ((try? exec(name, pod: "curl-pod", fixed))?.output ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
                return !second.isEmpty && second != victim.name
            }, "still answered by \(second)")

            // A service without a selector uses the Endpoints its user writes (mirrored into a slice).
            try apply(name, """
                apiVersion: v1
                kind: Service
                metadata: {name: manual, namespace: dev}
                spec:
                  ports: [{port: 80}]
                ---
                apiVersion: v1
                kind: Endpoints
                metadata: {name: manual, namespace: dev}
                subsets:
                - addresses: [{ip: \(worker.ip)}]
                  ports: [{port: 8080}]
                """)
            let manual = try clusterIP(name, "manual")
            var manualAnswer = CommandResult(status: 1, output: "")
            #expect(eventually(10) {
                manualAnswer = (try? exec(name, pod: "curl-pod", ["curl", "-s", "--max-time", "2", "http://\(manual)/hostname"])) ?? manualAnswer
                return manualAnswer.output == worker.name
            }, "\(manualAnswer.output)")
            // Hairpin: the one endpoint reaches itself through its own service (masqueraded, or the reply
            // would bypass the node's un-DNAT).
            let hairpin = try exec(name, pod: worker.name, ["curl", "-s", "--max-time", "2", "http://\(manual)/hostname"])
            #expect(hairpin.output == worker.name, "\(hairpin.output)")
        }
    }
}

extension ServiceProxyTests {
    @Test func iptablesModeShowsTheSeedsRulesAndServes() throws {
        let yaml = ClusterLifecycleTests.seed002 + "\nnetworking:\n  kubeProxyMode: iptables\n"
        try cli.withCluster("ipt", yaml: yaml) { name in
            try apply(name, PodTests.seed002)
            try apply(name, Self.curlPod)
            try apply(name, "apiVersion: v1\nkind: Service\nmetadata: {name: nginx-service, namespace: dev}\nspec:\n  type: NodePort\n  selector: {app: nginx}\n  ports:\n  - {name: http, port: 80, targetPort: 80, nodePort: 30000}\n")
            #expect(podTests.allReady(name, namespace: "dev", count: 7), "pods did not all become Ready")
            #expect(eventually(10) { endpointIPs(name, "nginx-service").count == 6 })
            let nodes = try cli.kindling(["get", "nodes", "--name", name, "-o", "name"]).output
                .split(separator: "\n").map { String($0.split(separator: "/").last!) }

            // Seed 002: `iptables -t nat -L -n | grep "nginx-service:http ->"` on every node lists all six pods,
            // with the probabilities the seed shows.
            for node in nodes {
                var lines: [Substring] = []
                #expect(eventually(10) {
                    let listing = (try? onNode(name, node, ["sh", "-c", "iptables -t nat -L -n | grep 'nginx-service:http ->'"]))?.output ?? ""
                    lines = listing.split(separator: "\n")
                    return lines.count == 6
                }, "\(node): \(lines)")
                let shown = lines.map { line in line.split(separator: " ").last.map(String.init) ?? "" }.filter { $0.hasPrefix("0.") }
                #expect(shown == ["0.16666666651", "0.20000000019", "0.25000000000", "0.33333333349", "0.50000000000"], "\(lines)")
                #expect(lines.allSatisfy { $0.contains("/* dev/nginx-service:http -> 10.244.") })
            }

            let vip = try clusterIP(name, "nginx-service")
            var head = CommandResult(status: -1, output: "")
            #expect(eventually(10) {
                head = (try? exec(name, pod: "curl-pod", ["curl", "--head", "-s", "--max-time", "2", "http://\(vip)"])) ?? head
                return head.output.hasPrefix("HTTP/1.1 200 OK")
            }, "\(head.output)")
            for node in nodes {
                #expect(try onNode(name, node, ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "2", "http://localhost:30000"]).output == "200")
            }
            #expect(try external(name, ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "2", "http://172.18.0.3:30000"]).output == "200")

            // A rule deleted by hand comes back; the jumps from the built-in chains stay single.
            _ = try onNode(name, nodes[0], ["iptables", "-t", "nat", "-F", "KUBE-SERVICES"])
            #expect(eventually(5) { (try? onNode(name, nodes[0], ["curl", "-s", "--max-time", "1", "http://\(vip)"]))?.status == 0 })
            let portals = try onNode(name, nodes[0], ["sh", "-c", "iptables-save -t nat | grep -c 'kubernetes service portals'"]).output
            #expect(portals == "2\n", "PREROUTING and OUTPUT once each: \(portals)")

            // No endpoints: refused at once.
            try apply(name, "apiVersion: v1\nkind: Service\nmetadata: {name: nothing, namespace: dev}\nspec:\n  selector: {app: nothing}\n  ports:\n  - {port: 80}\n")
            let empty = try clusterIP(name, "nothing")
            #expect(eventually(10) { (try? exec(name, pod: "curl-pod", ["curl", "-s", "--max-time", "5", "http://\(empty)"]))?.status == 7 })
        }
    }
}

extension ServiceProxyTests {
    /// The node namespaces whose eth0 holds `ip`: the nodes answering ARP for it.
    func announcers(_ cluster: String, _ ip: String) throws -> [String] {
        try NetNamespace.list(prefix: ClusterNames(cluster: cluster).netnsPrefix).map(\.name).filter { netns in
            try sh(["ip", "-n", netns, "-4", "addr", "show", "dev", "eth0"]).output.contains("inet \(ip)/32")
        }
    }

    @Test func loadBalancerIsAnsweredByOneNodeAndMovesWhenThatNodeFails() throws {
        let name = uniqueClusterName("lb")
        defer { _ = try? cli.kindling(["delete", "cluster", "--name", name]) }
        // Nodes silent for 3 s become NotReady (40 s by default), so the failure is seen quickly.
        let created = try sh(["env", "\(NodeTiming.variable)=3", CLITests.binary, "create", "cluster", "--name", name, "--config", "-"],
                             input: ClusterLifecycleTests.seed002)
        try #require(created.status == 0, "\(created.output)")
        try apply(name, "apiVersion: v1\nkind: Namespace\nmetadata: {name: dev}\n")
        try apply(name, Self.echo) // one agnhost pod on each of the three nodes
        try apply(name, "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: dev}\nspec:\n  type: LoadBalancer\n  selector: {app: echo}\n  ports: [{port: 80, targetPort: 8080}]\n")
        #expect(podTests.allReady(name, namespace: "dev", count: 3))

        var ingress = ""
        #expect(eventually(10) {
            let status = (try? json(name, ["svc", "web", "-n", "dev"]))?["status"] as? [String: Any]
            ingress = ((status?["loadBalancer"] as? [String: Any])?["ingress"] as? [[String: Any]])?.first?["ip"] as? String ?? ""
            return !ingress.isEmpty
        })
        #expect(ingress == "172.18.255.200", "the pool's first address")
        #expect(try cli.kindling(["get", "svc", "web", "-n", "dev", "--name", name]).output.contains(" 172.18.255.200 "))

        // From outside the cluster: one node answers for the address, and the service answers through it.
        // (While agents still learn about each other, two may briefly both answer; wait until one is left.)
        var owners: [String] = []
        #expect(eventually(10) {
            owners = (try? announcers(name, ingress)) ?? []
            guard owners.count == 1 else { return false }
            usleep(1_500_000)
            return (try? announcers(name, ingress)) == owners
        }, "\(owners)")
        var answers: [String] = []
        #expect(eventually(10) {
            answers = Self.answers((try? external(name, Self.curlLoop("http://\(ingress)/hostname", 10))) ?? CommandResult(status: 1, output: ""))
            return answers.count == 10
        }, "\(answers)")
        #expect(!owners[0].hasSuffix(".control-plane"), "the control plane is excluded from external load balancers")

        // That node fails: `kindling node stop` stops its agent and takes its link to the node network down.
        let failed = try #require(owners.first)
        let nodeName = "\(name)-" + failed.split(separator: ".").last!
        try #require(try cli.kindling(["node", "stop", "--name", name, nodeName]).status == 0)

        // Another node takes the address over and the client reaches the service again, without any change on its side.
        #expect(eventually(20) { ((try? announcers(name, ingress)) ?? []).contains { $0 != failed } }, "no node took \(ingress) over")
        #expect(eventually(10) {
            (try? external(name, ["curl", "-s", "--max-time", "1", "http://\(ingress)/hostname"]))?.status == 0
        }, "the load balancer address does not answer after the failover")
        // The node is NotReady (the speakers and the node lifecycle controller see the silence separately).
        var nodes: [Substring] = []
        #expect(eventually(10) {
            nodes = ((try? cli.kindling(["get", "nodes", "--name", name]))?.output ?? "").split(separator: "\n")
            return nodes.contains { $0.hasPrefix(nodeName + " ") && $0.contains(" NotReady ") }
        }, "\(nodes)\n\(clusterLogTail(name))")
    }
}
