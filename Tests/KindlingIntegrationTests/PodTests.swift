import Foundation
import KindlingAddresses
import KindlingAgent
import KindlingAPI
import KindlingCluster
import KindlingNet
import KindlingProcess
import Testing

/// Pods made real by the agents, checked from inside the namespaces with real tools: seed 002's walk-through
/// with `kindling` in place of `kubectl`.
@Suite(.enabled(if: isRoot, "needs root: creates network namespaces"))
struct PodTests {
    let cli = CLITests()

    static let seed002 = """
        apiVersion: v1
        kind: Namespace
        metadata:
          name: dev
        ---
        apiVersion: apps/v1
        kind: ReplicaSet
        metadata:
          name: nginx-replicaset
          namespace: dev
        spec:
          replicas: 6
          selector:
            matchLabels:
              app: nginx
          template:
            metadata:
              labels:
                app: nginx
            spec:
              containers:
              - name: nginx
                image: nginx:1.25
                ports:
                - containerPort: 80
                env:
                - name: NODE_NAME
                  valueFrom:
                    fieldRef:
                      fieldPath: spec.nodeName
                - name: POD_NAME
                  valueFrom:
                    fieldRef:
                      fieldPath: metadata.name
        """

    struct PodView {
        let name: String
        let node: String
        let ip: String
        let phase: String
        let ready: Bool
        let restarts: Int
        let uid: String
    }

    func pods(_ cluster: String, namespace: String = "default", selector: String? = nil) throws -> [PodView] {
        var arguments = ["get", "pods", "--name", cluster, "-n", namespace, "-o", "json"]
        if let selector { arguments += ["-l", selector] }
        let output = try cli.kindling(arguments).output
        let list = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any]
        return (list?["items"] as? [[String: Any]] ?? []).map { item in
            let meta = item["metadata"] as? [String: Any] ?? [:]
            let spec = item["spec"] as? [String: Any] ?? [:]
            let status = item["status"] as? [String: Any] ?? [:]
            let conditions = status["conditions"] as? [[String: Any]] ?? []
            let containers = status["containerStatuses"] as? [[String: Any]] ?? []
            return PodView(name: meta["name"] as? String ?? "", node: spec["nodeName"] as? String ?? "",
                           ip: status["podIP"] as? String ?? "", phase: status["phase"] as? String ?? "",
                           ready: conditions.contains { $0["type"] as? String == "Ready" && $0["status"] as? String == "True" },
                           restarts: containers.reduce(0) { $0 + ($1["restartCount"] as? Int ?? 0) },
                           uid: meta["uid"] as? String ?? "")
        }
    }

    func allReady(_ cluster: String, namespace: String = "default", count: Int, selector: String? = nil) -> Bool {
        eventually(20) {
            let views = (try? pods(cluster, namespace: namespace, selector: selector)) ?? []
            return views.count == count && views.allSatisfy { $0.ready && $0.phase == "Running" }
        }
    }

    @Test func seed002SixNginxPodsOnThreeNodesServeTheirOwnNames() throws {
        try cli.withCluster("seed") { name in
            let applied = try cli.kindling(["apply", "--name", name, "-f", "-"], input: PodTests.seed002)
            #expect(applied.status == 0, "\(applied.output)")
            #expect(allReady(name, namespace: "dev", count: 6), "pods did not all become Ready")
            let views = try pods(name, namespace: "dev")
            // Spread over the two workers, three each, with distinct IPs from their node's pod CIDR: the control
            // plane is tainted NoSchedule, as kind leaves it in a cluster with workers (the seed's listing, two
            // pods on the control plane, is not what kind does).
            let spread = Dictionary(grouping: views, by: \.node).mapValues(\.count)
            #expect(spread == ["\(name)-worker": 3, "\(name)-worker2": 3], "\(spread)")
            #expect(Set(views.map(\.ip)).count == 6)
            let wide = try cli.kindling(["get", "pods", "--name", name, "-n", "dev", "-o", "wide"]).output
            #expect(wide.contains("IP") && wide.contains("NODE") && wide.contains("\(name)-worker2"), "\(wide)")
            let nodeCIDRs = try nodeCIDRs(name)
            for view in views {
                let cidr = try #require(nodeCIDRs[view.node].flatMap { IPv4CIDR($0) })
                #expect(cidr.contains(try #require(IPv4Address(view.ip))), "\(view.name) \(view.ip) not in \(cidr)")
            }

            // Each pod writes its name into its own index.html (seed 002 does this with kubectl exec)...
            for view in views {
                let written = try cli.kindling(["exec", "--name", name, "-n", "dev", view.name, "--",
                                                "sh", "-c", "echo $POD_NAME > /usr/share/nginx/html/index.html"])
                #expect(written.status == 0, "\(written.output)")
            }
            // ...and from one pod on each node, every pod answers with its own name, across nodes, by pod IP.
            for from in Dictionary(grouping: views, by: \.node).values.map({ $0[0] }) {
                for to in views {
                    let reply = try cli.kindling(["exec", "--name", name, "-n", "dev", from.name, "--",
                                                  "curl", "-s", "--max-time", "2", "http://\(to.ip)/"])
                    #expect(reply.output == "\(to.name)\n", "\(from.name) -> \(to.name) (\(to.ip)): \(reply.output)")
                }
            }
            let hostname = try cli.kindling(["exec", "--name", name, "-n", "dev", views[0].name, "--", "hostname"])
            #expect(hostname.output == "\(views[0].name)\n")

            // Seed 002's ClusterIP service: its endpoints list all six pod IPs (`kubectl get endpoints`).
            let service = "apiVersion: v1\nkind: Service\nmetadata: {name: nginx-service, namespace: dev}\nspec:\n  selector: {app: nginx}\n  ports:\n  - {port: 80, targetPort: 80}\n"
            #expect(try cli.kindling(["apply", "--name", name, "-f", "-"], input: service).status == 0)
            var endpoints = ""
            #expect(eventually(10) {
                endpoints = (try? cli.kindling(["get", "ep", "nginx-service", "--name", name, "-n", "dev", "-o", "json"]).output) ?? ""
                return views.allSatisfy { endpoints.contains("\"ip\" : \"\($0.ip)\"") }
            }, "\(endpoints)")
            #expect(try cli.kindling(["get", "ep", "--name", name, "-n", "dev"]).output.contains(":80 + 3 more..."))
        }
    }

    func nodeCIDRs(_ cluster: String) throws -> [String: String] {
        let output = try cli.kindling(["get", "nodes", "--name", cluster, "-o", "json"]).output
        let list = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any]
        var result: [String: String] = [:]
        for item in list?["items"] as? [[String: Any]] ?? [] {
            let name = (item["metadata"] as? [String: Any])?["name"] as? String ?? ""
            result[name] = (item["spec"] as? [String: Any])?["podCIDR"] as? String
        }
        return result
    }

    @Test func agnhostSeesTheCallersOwnPodIPAndUnknownImagesSayWhy() throws {
        try cli.withCluster("agnhost") { name in
            let manifest = """
                apiVersion: apps/v1
                kind: Deployment
                metadata: {name: echo}
                spec:
                  replicas: 3
                  selector: {matchLabels: {app: echo}}
                  template:
                    metadata: {labels: {app: echo}}
                    spec:
                      containers:
                      - name: agnhost
                        image: registry.k8s.io/e2e-test-images/agnhost:2.39
                        args: ["netexec", "--http-port=8080"]
                        ports: [{name: http, containerPort: 8080}]
                        readinessProbe:
                          httpGet: {path: /healthz, port: http}
                          periodSeconds: 1
                ---
                apiVersion: v1
                kind: Pod
                metadata: {name: client}
                spec:
                  containers:
                  - {name: curl, image: curlimages/curl, command: ["sleep", "3600"]}
                ---
                apiVersion: v1
                kind: Pod
                metadata: {name: unknown}
                spec:
                  containers:
                  - {name: x, image: example.com/not/here:1}
                """
            #expect(try cli.kindling(["apply", "--name", name, "-f", "-"], input: manifest).status == 0)
            #expect(allReady(name, count: 3, selector: "app=echo"))
            let client = try #require(try pods(name).first { $0.name == "client" })
            #expect(client.ready)
            for server in try pods(name, selector: "app=echo") {
                let reply = try cli.kindling(["exec", "--name", name, "client", "--", "curl", "-s", "--max-time", "2", "http://\(server.ip):8080/clientip"])
                #expect(reply.output.hasPrefix("\(client.ip):"), "\(server.name) saw \(reply.output), caller is \(client.ip)")
            }
            let table = try cli.kindling(["get", "pods", "--name", name]).output
            #expect(table.contains("unknown") && table.contains("ErrImagePull"), "\(table)")
            let deployments = try cli.kindling(["get", "deploy", "--name", name]).output
            #expect(deployments.contains("echo   3/3     3            3"), "\(deployments)")
        }
    }

    @Test func killedContainersRestartAndScalingRemovesNamespacesLinksAndRoutes() throws {
        try cli.withCluster("scale") { name in
            #expect(try cli.kindling(["apply", "--name", name, "-f", "-"], input: PodTests.seed002).status == 0)
            #expect(allReady(name, namespace: "dev", count: 6))
            let files = PodFiles(cluster: name)
            let victim = try #require(try pods(name, namespace: "dev").first)
            let pid = try #require(files.load(victim.uid)?.containers["nginx"]?.process?.pid)
            kill(pid, SIGKILL)
            #expect(eventually(10) { (try? pods(name, namespace: "dev").first { $0.name == victim.name })?.restarts == 1 })
            #expect(allReady(name, namespace: "dev", count: 6))
            // What the killed nginx left (its worker) went with it: the sandbox, a new master and its worker remain.
            let netns = try #require(files.load(victim.uid)?.netns)
            #expect(eventually(5) { NetNamespace(netns).processes().count == 3 }, "\(NetNamespace(netns).processes())")

            let prefix = ClusterNames(cluster: name).netnsPrefix + "pod.dev."
            #expect(NetNamespace.list(prefix: prefix).count == 6)
            #expect(try cli.kindling(["scale", "--name", name, "-n", "dev", "rs", "nginx-replicaset", "--replicas=8"]).status == 0)
            #expect(eventually(10) { NetNamespace.list(prefix: prefix).count == 8 })
            #expect(allReady(name, namespace: "dev", count: 8))
            #expect(try cli.kindling(["scale", "--name", name, "-n", "dev", "rs", "nginx-replicaset", "--replicas=2"]).status == 0)
            #expect(eventually(10) { NetNamespace.list(prefix: prefix).count == 2 })
            #expect(eventually(10) { ((try? pods(name, namespace: "dev")) ?? []).count == 2 })
            // Every node keeps exactly one veth and one proto-78 route per pod it still runs (cluster DNS and the
            // ingress controller included).
            let remaining = try pods(name, namespace: "dev") + pods(name, namespace: "kube-system") + pods(name, namespace: "ingress-nginx")
            for node in ["control-plane", "worker", "worker2"] {
                let routes = try cli.kindling(["exec", "--name", name, "--node", "\(name)-\(node)", "--", "ip", "-4", "route", "show", "proto", "78"]).output
                let expected = remaining.filter { $0.node == "\(name)-\(node)" }.count
                #expect(routes.split(separator: "\n").count == expected, "\(node): \(routes)")
                let veths = try cli.kindling(["exec", "--name", name, "--node", "\(name)-\(node)", "--", "ip", "-o", "link", "show", "type", "veth"]).output
                #expect(veths.split(separator: "\n").filter { $0.contains("veth") }.count == expected, "\(node): \(veths)")
            }
            #expect(try cli.kindling(["delete", "--name", name, "-n", "dev", "rs", "nginx-replicaset"]).status == 0)
            #expect(eventually(10) { NetNamespace.list(prefix: prefix).isEmpty })
            #expect(eventually(10) { ((try? pods(name, namespace: "dev")) ?? [PodView(name: "", node: "", ip: "", phase: "", ready: false, restarts: 0, uid: "")]).isEmpty })
        }
    }

    /// tcpSocket and exec readiness probes, and the phases restartPolicy gives pods whose containers end.
    @Test func probesAndRestartPolicies() throws {
        try cli.withCluster("probes", yaml: "") { name in
            let manifest = """
                apiVersion: v1
                kind: Pod
                metadata: {name: tcp}
                spec:
                  containers:
                  - name: web
                    image: nginx
                    readinessProbe: {tcpSocket: {port: 80}, periodSeconds: 1}
                ---
                apiVersion: v1
                kind: Pod
                metadata: {name: closed}
                spec:
                  containers:
                  - name: web
                    image: nginx
                    readinessProbe: {tcpSocket: {port: 81}, periodSeconds: 1, failureThreshold: 1}
                ---
                apiVersion: v1
                kind: Pod
                metadata: {name: file}
                spec:
                  containers:
                  - name: sh
                    image: busybox
                    command: ["sh", "-c", "sleep 0.5; touch /tmp/ready-$(hostname); sleep 3600"]
                    readinessProbe: {exec: {command: ["sh", "-c", "test -e /tmp/ready-$(hostname)"]}, periodSeconds: 1}
                ---
                apiVersion: v1
                kind: Pod
                metadata: {name: done}
                spec:
                  restartPolicy: Never
                  containers:
                  - {name: ok, image: busybox, command: ["true"]}
                ---
                apiVersion: v1
                kind: Pod
                metadata: {name: failed}
                spec:
                  restartPolicy: Never
                  containers:
                  - {name: bad, image: busybox, command: ["sh", "-c", "exit 3"]}
                ---
                apiVersion: v1
                kind: Pod
                metadata: {name: crashing}
                spec:
                  containers:
                  - {name: bad, image: busybox, command: ["sh", "-c", "exit 1"]}
                """
            defer { _ = try? sh(["sh", "-c", "rm -f /tmp/ready-file"]) }
            #expect(try cli.kindling(["apply", "--name", name, "-f", "-"], input: manifest).status == 0)
            func view(_ pod: String) -> PodView? { (try? pods(name))?.first { $0.name == pod } }
            #expect(eventually(10) { view("tcp")?.ready == true }, "tcpSocket probe on an open port")
            #expect(eventually(10) { view("file")?.ready == true }, "exec probe")
            #expect(eventually(10) { view("done")?.phase == "Succeeded" })
            #expect(eventually(10) { view("failed")?.phase == "Failed" })
            #expect(eventually(10) { (view("crashing")?.restarts ?? 0) >= 1 })
            let table = try cli.kindling(["get", "pods", "--name", name]).output
            #expect(table.contains("CrashLoopBackOff") || table.contains("Error"), "\(table)")
            #expect(table.contains("Completed") && table.contains("Error"), "\(table)")
            #expect(view("closed")?.ready == false && view("closed")?.phase == "Running")
        }
    }

    @Test func aRestartedAgentReadoptsItsPodsWithoutRestartingThem() throws {
        var clusterName = ""
        try cli.withCluster("readopt", yaml: "") { name in
            clusterName = name
            let manifest = "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers:\n  - {name: nginx, image: nginx}\n"
            #expect(try cli.kindling(["apply", "--name", name, "-f", "-"], input: manifest).status == 0)
            #expect(allReady(name, count: 1))
            let pod = try #require(try pods(name).first)
            let before = try #require(PodFiles(cluster: name).load(pod.uid)?.containers["nginx"]?.process)
            let agent = try #require(ClusterProcesses(cluster: name).pids(verb: "agent").first)
            kill(agent, SIGKILL)
            #expect(eventually(10) { ClusterProcesses(cluster: name).pids().count == 3 && !ClusterProcesses(cluster: name).pids().contains(agent) })
            // The new agent posts status again; the container is the same process, never restarted.
            usleep(500_000)
            #expect(allReady(name, count: 1))
            #expect(PodFiles(cluster: name).load(pod.uid)?.containers["nginx"]?.process == before)
            #expect(before.isAlive)
            #expect(try pods(name).first?.restarts == 0)
            let page = try cli.kindling(["exec", "--name", name, "web", "--", "curl", "-s", "--max-time", "2", "http://\(pod.ip)/"])
            #expect(page.output.contains("Welcome to nginx!"))
        }
        // delete cluster stopped the pod's processes too.
        #expect(ClusterProcesses(cluster: clusterName).pidsInNamespaces().isEmpty)
        let stray = try sh(["pgrep", "-f", "/var/lib/kindling/\(clusterName)/"]).output
        #expect(stray.isEmpty, "processes of the deleted cluster still run: \(stray)")
    }
}
