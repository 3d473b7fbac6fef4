import Foundation
import KindlingAddresses
import KindlingAPI
import KindlingNet
import Testing

/// Finding services from inside pods: seed 001's environment-variable steps, with `kindling` for `kubectl`.
@Suite(.enabled(if: isRoot, "needs root: creates network namespaces"))
struct ServiceDiscoveryTests {
    let cli = CLITests()
    let podTests = PodTests()

    static let deployment = """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: my-nginx}
        spec:
          selector: {matchLabels: {run: my-nginx}}
          replicas: 2
          template:
            metadata: {labels: {run: my-nginx}}
            spec:
              containers:
              - {name: my-nginx, image: nginx, ports: [{containerPort: 80}]}
        """

    /// `kubectl exec POD -- printenv | grep SERVICE`, sorted.
    func serviceVariables(_ cluster: String, _ pod: String) throws -> [String] {
        let output = try cli.kindling(["exec", "--name", cluster, pod, "--", "printenv"]).output
        return output.split(separator: "\n").map(String.init).filter { $0.contains("SERVICE") }.sorted()
    }

    @Test func seed001PodsStartedBeforeTheServiceLackItsVariablesUntilRecreated() throws {
        try cli.withCluster("env") { name in
            #expect(try cli.kindling(["apply", "--name", name, "-f", "-"], input: Self.deployment).status == 0)
            #expect(podTests.allReady(name, count: 2, selector: "run=my-nginx"))
            let before = try podTests.pods(name, selector: "run=my-nginx")
            #expect(try serviceVariables(name, before[0].name) == [
                "KUBERNETES_SERVICE_HOST=10.96.0.1", "KUBERNETES_SERVICE_PORT=443", "KUBERNETES_SERVICE_PORT_HTTPS=443",
            ])

            // `kubectl expose deployment/my-nginx`, as the seed's manifest.
            let service = "apiVersion: v1\nkind: Service\nmetadata: {name: my-nginx, labels: {run: my-nginx}}\nspec:\n  ports: [{port: 80, protocol: TCP}]\n  selector: {run: my-nginx}\n"
            #expect(try cli.kindling(["apply", "--name", name, "-f", "-"], input: service).status == 0)
            let clusterIP = try #require((try JSONSerialization.jsonObject(with: Data(try cli.kindling(
                ["get", "svc", "my-nginx", "--name", name, "-o", "json"]).output.utf8)) as? [String: Any])
                .flatMap { ($0["spec"] as? [String: Any])?["clusterIP"] as? String })
            // The running pods keep the environment they started with.
            #expect(try serviceVariables(name, before[0].name).count == 3)

            #expect(try cli.kindling(["scale", "--name", name, "deployment", "my-nginx", "--replicas=0"]).status == 0)
            #expect(eventually(20) { ((try? podTests.pods(name, selector: "run=my-nginx")) ?? [before[0]]).isEmpty })
            #expect(try cli.kindling(["scale", "--name", name, "deployment", "my-nginx", "--replicas=2"]).status == 0)
            #expect(podTests.allReady(name, count: 2, selector: "run=my-nginx"))
            let after = try podTests.pods(name, selector: "run=my-nginx")
            #expect(Set(after.map(\.name)).isDisjoint(with: before.map(\.name)))
            #expect(try serviceVariables(name, after[0].name) == [
                "KUBERNETES_SERVICE_HOST=10.96.0.1", "KUBERNETES_SERVICE_PORT=443", "KUBERNETES_SERVICE_PORT_HTTPS=443",
                "MY_NGINX_SERVICE_HOST=\(clusterIP)", "MY_NGINX_SERVICE_PORT=80",
            ])
            let link = try cli.kindling(["exec", "--name", name, after[0].name, "--", "printenv", "MY_NGINX_PORT_80_TCP_ADDR"]).output
            #expect(link == "\(clusterIP)\n")
        }
    }
}

extension ServiceDiscoveryTests {
    func exec(_ cluster: String, _ command: [String]) throws -> CommandResult {
        try cli.kindling(["exec", "--name", cluster, "-n", "dev", "curl-pod", "--"] + command)
    }

    @Test func clusterDNSAnswersFromInsidePods() throws {
        try cli.withCluster("dns") { name in
            #expect(try cli.kindling(["apply", "--name", name, "-f", "-"], input: PodTests.seed002).status == 0)
            #expect(try cli.kindling(["apply", "--name", name, "-f", "-"], input: ServiceProxyTests.curlPod).status == 0)
            let services = ReliabilityTests.nginxService + """

                ---
                apiVersion: v1
                kind: Service
                metadata: {name: nginx-headless, namespace: dev}
                spec:
                  clusterIP: None
                  selector: {app: nginx}
                  ports: [{name: http, port: 80}]
                ---
                apiVersion: v1
                kind: Service
                metadata: {name: upstream, namespace: dev}
                spec: {type: ExternalName, externalName: db.example.com}
                ---
                apiVersion: v1
                kind: Service
                metadata: {name: alias, namespace: dev}
                spec: {type: ExternalName, externalName: nginx-service.dev.svc.cluster.local}
                """
            #expect(try cli.kindling(["apply", "--name", name, "-f", "-"], input: services).status == 0)
            #expect(podTests.allReady(name, namespace: "dev", count: 7))
            #expect(podTests.allReady(name, namespace: "kube-system", count: 2), "the cluster DNS pods")
            let nginx = try podTests.pods(name, namespace: "dev", selector: "app=nginx")

            // The pod's resolver is the cluster DNS, with Kubernetes' search path, for its processes and for `ip netns exec`.
            let resolv = "search dev.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n"
            #expect(try exec(name, ["cat", "/etc/resolv.conf"]).output == resolv)
            #expect(try inNetns(NetNamespace(ClusterNames(cluster: name).netnsPrefix + "pod.dev.curl-pod"), ["cat", "/etc/resolv.conf"]).output == resolv)

            // Seed 002's `curl http://nginx-service`, nslookup by short name and by full name, getent.
            var page = CommandResult(status: 1, output: "")
            #expect(eventually(10) {
                page = (try? exec(name, ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "2", "http://nginx-service"])) ?? page
                return page.output == "200"
            }, "\(page.output)")
            let clusterIP = try #require(try exec(name, ["dig", "+short", "nginx-service.dev.svc.cluster.local"]).output.split(separator: "\n").first.map(String.init))
            let lookup = try exec(name, ["nslookup", "nginx-service"]).output
            #expect(lookup.contains("Name:\tnginx-service.dev.svc.cluster.local\nAddress: \(clusterIP)") && !lookup.contains("recursion not available"), "\(lookup)")
            #expect(try exec(name, ["getent", "hosts", "nginx-service.dev"]).output.hasPrefix(clusterIP))
            #expect(try exec(name, ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "http://nginx-service.dev.svc.cluster.local"]).output == "200")

            // SRV for the named port, PTR for the cluster IP, the headless service's pod IPs, ExternalName's CNAME.
            #expect(try exec(name, ["dig", "+short", "SRV", "_http._tcp.nginx-service.dev.svc.cluster.local"]).output
                    == "0 100 80 nginx-service.dev.svc.cluster.local.\n")
            let reverse = clusterIP.split(separator: ".").reversed().joined(separator: ".") + ".in-addr.arpa"
            #expect(try exec(name, ["dig", "+short", "PTR", reverse]).output == "nginx-service.dev.svc.cluster.local.\n")
            let headless = try exec(name, ["dig", "+short", "nginx-headless.dev.svc.cluster.local"]).output.split(separator: "\n").map(String.init)
            #expect(Set(headless) == Set(nginx.map(\.ip)), "\(headless)")
            #expect(try exec(name, ["dig", "+short", "CNAME", "upstream.dev.svc.cluster.local"]).output == "db.example.com.\n")
            // A CNAME into the cluster zone is followed in the same answer, as CoreDNS follows it.
            #expect(try exec(name, ["dig", "+short", "alias.dev.svc.cluster.local"]).output == "nginx-service.dev.svc.cluster.local.\n\(clusterIP)\n")
            #expect(try exec(name, ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "http://alias"]).output == "200")

            // NXDOMAIN with the zone's SOA; a name outside the cluster refused at once (no upstream to wait for).
            let missing = try exec(name, ["dig", "nope.dev.svc.cluster.local"]).output
            #expect(missing.contains("status: NXDOMAIN") && missing.contains("IN\tSOA\tns.dns.cluster.local."), "\(missing)")
            let started = Date()
            let outside = try exec(name, ["dig", "+tries=1", "+time=5", "example.com"]).output
            #expect(outside.contains("status: REFUSED") && Date().timeIntervalSince(started) < 2, "\(outside)")

            // A service made a moment ago resolves; a deleted one does not. Over TCP too.
            #expect(try cli.kindling(["apply", "--name", name, "-f", "-"], input: "apiVersion: v1\nkind: Service\nmetadata: {name: fresh, namespace: dev}\nspec:\n  selector: {app: nginx}\n  ports: [{port: 8080}]\n").status == 0)
            #expect(eventually(5) { !((try? exec(name, ["dig", "+short", "fresh.dev.svc.cluster.local"]))?.output ?? "").isEmpty })
            #expect(try exec(name, ["dig", "+tcp", "+short", "fresh.dev.svc.cluster.local"]).output.hasPrefix("10.96."))
            #expect(try cli.kindling(["delete", "--name", name, "-n", "dev", "svc", "fresh"]).status == 0)
            #expect(eventually(5) { ((try? exec(name, ["dig", "fresh.dev.svc.cluster.local"]))?.output ?? "").contains("status: NXDOMAIN") })

            // Garbage to the DNS service: FORMERR for a readable header, nothing for less, and it keeps answering.
            let garbage = try exec(name, ["python3", "-c", """
                import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
                s.sendto(bytes([0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1]), ("10.96.0.10", 53))
                reply = s.recv(512); print(reply[0] == 0x12 and reply[1] == 0x34 and reply[3] & 0xF == 1)
                s.sendto(b"\\x01\\x02", ("10.96.0.10", 53))
                """])
            #expect(garbage.output == "True\n", "\(garbage.output)")
            #expect(try exec(name, ["dig", "+short", "nginx-service.dev.svc.cluster.local"]).output == "\(clusterIP)\n")

            // CoreDNS's metrics on the kube-dns service's metrics port.
            let metrics = try exec(name, ["curl", "-s", "--max-time", "2", "http://10.96.0.10:9153/metrics"]).output
            // (Either replica answers the scrape; each has served some of the queries above.)
            #expect(metrics.contains("coredns_dns_requests_total{") && metrics.contains("coredns_dns_request_duration_seconds_bucket{"),
                    "\(metrics.prefix(300))")

            // One DNS replica gone: the other answers (its endpoint leaves the service at once).
            let replicas = try podTests.pods(name, namespace: "kube-system")
            #expect(try cli.kindling(["delete", "--name", name, "-n", "kube-system", "pod", replicas[0].name]).status == 0)
            for _ in 0..<5 {
                #expect(try exec(name, ["dig", "+short", "+tries=1", "+time=1", "nginx-service.dev.svc.cluster.local"]).output == "\(clusterIP)\n")
            }
        }
    }
}

extension ServiceDiscoveryTests {
    /// Names outside the cluster domain go where ConfigMap kube-system/coredns's `forward` line says, as with
    /// CoreDNS. The upstream here is a second `kindling dns`, serving another domain from the same cluster, in the
    /// control-plane node's namespace on its node IP (which pods reach), with a ConfigMap of its own (none: it
    /// forwards nothing, so no loop).
    @Test func namesOutsideTheClusterGoToTheCorefilesUpstreams() throws {
        try cli.withCluster("dnsfwd") { name in
            let pod = "apiVersion: v1\nkind: Namespace\nmetadata: {name: dev}\n---\n" + ServiceProxyTests.curlPod
            #expect(try cli.kindling(["apply", "--name", name, "-f", "-"], input: pod).status == 0)
            #expect(podTests.allReady(name, namespace: "dev", count: 1))
            #expect(podTests.allReady(name, namespace: "kube-system", count: 2), "the cluster DNS pods")
            // kind's Corefile, without a forward line: nothing outside to forward to.
            let corefile = try cli.kindling(["get", "--name", name, "-n", "kube-system", "configmap", "coredns", "-o", "yaml"]).output
            #expect(corefile.contains("  Corefile: |\n    .:53 {\n") && corefile.contains("\n        kubernetes cluster.local in-addr.arpa ip6.arpa {\n")
                    && !corefile.contains("forward ."), "\(corefile)")
            #expect(try exec(name, ["dig", "+tries=1", "kubernetes.default.svc.upstream.test"]).output.contains("status: REFUSED"))

            let node = try #require(try cli.kindling(["get", "nodes", "--name", name, "-o", "name"]).output
                .split(separator: "\n").map { String($0.split(separator: "/").last!) }.first { $0.hasSuffix("control-plane") })
            let nodeIP = try #require(try cli.kindling(["exec", "--name", name, "--node", node, "--", "ip", "-4", "-o", "addr", "show", "eth0"]).output
                .split(separator: " ").first { $0.contains("/") }.map { String($0.split(separator: "/")[0]) })
            let upstream = Process()
            upstream.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
            upstream.arguments = ["netns", "exec", ClusterNames(cluster: name).nodeNetns(node: node),
                                  CLITests.binary, "dns", "--name", name, "--domain", "upstream.test", "--address", nodeIP, "--port", "5353",
                                  "--metrics-port", "9253", "--config-map", "kube-system/upstream-dns"]
            let log = NSTemporaryDirectory() + "\(name)-upstream-dns.log"
            FileManager.default.createFile(atPath: log, contents: nil)
            defer { try? FileManager.default.removeItem(atPath: log) }
            upstream.standardError = FileHandle(forWritingAtPath: log)
            try upstream.run()
            defer { kill(upstream.processIdentifier, SIGKILL); upstream.waitUntilExit() }

            func forward(_ targets: String) throws {
                let map = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: coredns, namespace: kube-system}\ndata:\n  Corefile: |\n"
                    + "    .:53 {\n        kubernetes cluster.local in-addr.arpa ip6.arpa\n" + (targets.isEmpty ? "" : "        forward . \(targets)\n") + "    }\n"
                #expect(try cli.kindling(["apply", "--name", name, "-f", "-"], input: map).status == 0)
            }
            try forward("\(nodeIP):5353")
            var answer = ""
            let forwarded = eventually(20) {
                answer = (try? exec(name, ["dig", "+tries=1", "+time=2", "kubernetes.default.svc.upstream.test"]))?.output ?? ""
                return answer.contains("status: NOERROR") && answer.contains("IN A\t10.96.0.1\n")
            }
            if !forwarded {
                let logs = try podTests.pods(name, namespace: "kube-system").map { pod in
                    (try? cli.kindling(["logs", "--name", name, "-n", "kube-system", pod.name]).output) ?? ""
                }
                Issue.record("\(answer)\nthe upstream said: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")\nthe cluster DNS said: \(logs)")
            }
            // Cluster names are still answered by the cluster DNS itself.
            #expect(try exec(name, ["dig", "+short", "kubernetes.default.svc.cluster.local"]).output == "10.96.0.1\n")

            // An upstream that does not answer (nothing on that port): SERVFAIL, without waiting out a timeout.
            try forward("\(nodeIP):5399")
            #expect(eventually(10) {
                let started = Date()
                let reply = (try? exec(name, ["dig", "+tries=1", "+time=5", "kubernetes.default.svc.upstream.test"]))?.output ?? ""
                return reply.contains("status: SERVFAIL") && Date().timeIntervalSince(started) < 2
            })
            // No forward line again: refused at once.
            try forward("")
            #expect(eventually(10) {
                ((try? exec(name, ["dig", "+tries=1", "kubernetes.default.svc.upstream.test"]))?.output ?? "").contains("status: REFUSED")
            })
        }
    }
}
