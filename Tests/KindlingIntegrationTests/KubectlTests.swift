import Foundation
import KindlingAPI
import Testing

/// Real kubectl (1.37, from PyPI into the project's `.venv` by `scripts/install-deps.sh`) and the official
/// Python client against a real cluster, through the kubeconfig context `create cluster` writes: seed 002's
/// commands as written, with their output compared to what kubectl prints against Kubernetes.
@Suite(.enabled(if: isRoot, "needs root: builds clusters"))
struct KubectlTests {
    static let venv = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".venv/bin").path
    let cli = CLITests()

    /// kubectl with the cluster's context named explicitly (tests create clusters side by side in one kubeconfig).
    func kubectl(_ cluster: String, _ arguments: [String], input: String? = nil) throws -> CommandResult {
        try sh(["\(Self.venv)/kubectl", "--context", Kubeconfig.contextName(cluster: cluster)] + arguments, input: input)
    }

    /// The lines of kubectl's output, each with its columns split on runs of spaces.
    func columns(_ output: String) -> [[String]] {
        output.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
    }

    static let nodePortService = """
        apiVersion: v1
        kind: Service
        metadata:
          labels:
            app: nginx-service
          name: nginx-service
          namespace: dev
        spec:
          ports:
            - name: http
              port: 80
              protocol: TCP
              targetPort: 80
              nodePort: 30000
          selector:
            app: nginx
          type: NodePort
        """

    @Test func seed002WithRealKubectl() throws {
        try #require(FileManager.default.isExecutableFile(atPath: "\(Self.venv)/kubectl"), "no kubectl: run scripts/install-deps.sh")
        var cluster = ""
        try cli.withCluster("kubectl") { name in
            cluster = name
            // The context create cluster wrote, made current.
            let context = try sh(["\(Self.venv)/kubectl", "config", "get-contexts", "-o", "name"]).output
            #expect(context.split(separator: "\n").contains(Substring(Kubeconfig.contextName(cluster: name))), "\(context)")

            let version = try kubectl(name, ["version"])
            #expect(version.status == 0 && version.output.contains("Server Version: v1.37.0-kindling"), "\(version.output)")
            let info = try kubectl(name, ["cluster-info"]).output
            #expect(info.contains("Kubernetes control plane is running at https://127.0.0.1:"), "\(info)")
            let resources = columns(try kubectl(name, ["api-resources"]).output)
            #expect(resources.contains(["pods", "po", "v1", "true", "Pod"]) && resources.contains(["replicasets", "rs", "apps/v1", "true", "ReplicaSet"]))

            let nodes = columns(try kubectl(name, ["get", "nodes"]).output)
            #expect(nodes.first == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"])
            #expect(nodes.dropFirst().count == 3 && nodes.dropFirst().allSatisfy { $0[1] == "Ready" }, "\(nodes)")

            // Seed 002: namespace and ReplicaSet, then the ClusterIP service, applied; again unchanged.
            let applied = try kubectl(name, ["apply", "-f", "-"], input: PodTests.seed002)
            #expect(applied.output == "namespace/dev created\nreplicaset.apps/nginx-replicaset created\n", "\(applied.output)")
            let again = try kubectl(name, ["apply", "-f", "-"], input: PodTests.seed002)
            #expect(again.output == "namespace/dev unchanged\nreplicaset.apps/nginx-replicaset unchanged\n", "\(again.output)")
            let clusterIP = Self.nodePortService.replacingOccurrences(of: "      nodePort: 30000\n", with: "")
                .replacingOccurrences(of: "type: NodePort", with: "type: ClusterIP")
            #expect(try kubectl(name, ["apply", "-f", "-"], input: clusterIP).output == "service/nginx-service created\n")
            #expect(eventually(20) {
                let pods = columns((try? kubectl(name, ["get", "pod", "-n", "dev", "-o", "wide"]))?.output ?? "")
                return pods.count == 7 && pods.dropFirst().allSatisfy { $0[1] == "1/1" && $0[2] == "Running" }
            })
            let wide = try kubectl(name, ["get", "pod", "-n", "dev", "-o", "wide"]).output
            #expect(wide.hasPrefix("NAME                     READY   STATUS    RESTARTS   AGE   IP           NODE"), "\(wide)")
            #expect(wide.split(separator: "\n").first?.hasSuffix("NOMINATED NODE   READINESS GATES") == true)
            let services = columns(try kubectl(name, ["-n", "dev", "get", "svc"]).output)
            #expect(services.first == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"])
            #expect(Array(services[1].prefix(2)) == ["nginx-service", "ClusterIP"] && services[1][4] == "80/TCP", "\(services)")

            // Seed 002: each pod writes its name as nginx's index page through kubectl exec; a curl pod made with
            // kubectl run -i --rm then sees the requests spread over them, and is deleted.
            let podNames = columns(try kubectl(name, ["get", "pod", "-n", "dev", "-l", "app=nginx", "--no-headers"]).output).map { $0[0] }
            for pod in podNames {
                let written = try kubectl(name, ["exec", "-n", "dev", pod, "--", "sh", "-c", "echo \(pod) > /usr/share/nginx/html/index.html"])
                #expect(written.status == 0 && written.output.isEmpty, "\(pod): \(written.output)")
            }
            let failing = try kubectl(name, ["exec", "-n", "dev", podNames[0], "--", "sh", "-c", "echo to-stderr >&2; exit 3"])
            #expect(failing.status == 3 && failing.output == "to-stderr\ncommand terminated with exit code 3\n", "\(failing.output)")
            let echoed = try kubectl(name, ["exec", "-i", "-n", "dev", podNames[0], "--", "cat"], input: "through stdin\n")
            #expect(echoed.status == 0 && echoed.output == "through stdin\n", "\(echoed.output)")
            let run = try kubectl(name, ["-n", "dev", "run", "curl-pod", "--restart=Never", "-i", "--rm", "--image=curlimages/curl:latest", "--",
                                         "sh", "-c", "for i in $(seq 1 10); do curl -s http://nginx-service; done"])
            let answers = run.output.split(separator: "\n").map(String.init).filter(podNames.contains)
            // Ten answers (under heavy load kubectl has shown a line twice: its read of the log and the attach
            // that follows it can overlap).
            #expect(run.status == 0 && answers.count >= 10 && Set(answers).count >= 2, "\(run.output)")
            #expect(run.output.hasSuffix("pod \"curl-pod\" deleted from dev namespace\n"), "\(run.output)")
            let failed = try kubectl(name, ["-n", "dev", "run", "failing", "--restart=Never", "-i", "--rm", "--image=busybox", "--",
                                            "sh", "-c", "echo bye; exit 4"])
            #expect(failed.status == 4 && failed.output.contains("bye\n") && failed.output.contains("pod dev/failing terminated (Error)"),
                    "\(failed.output)")

            // The NodePort version: configured through a strategic merge patch (ports merge by port).
            #expect(try kubectl(name, ["apply", "-f", "-"], input: Self.nodePortService).output == "service/nginx-service configured\n")
            #expect(columns(try kubectl(name, ["-n", "dev", "get", "svc"]).output)[1][4] == "80:30000/TCP")
            let endpoints = try kubectl(name, ["get", "endpoints", "-n", "dev"]).output
            #expect(endpoints.contains(":80,") && endpoints.contains(" + 3 more..."), "\(endpoints)")
            let described = try kubectl(name, ["describe", "svc", "nginx-service", "-n", "dev"]).output
            #expect(described.contains("Type:                     NodePort") && described.contains("NodePort:                 http  30000/TCP"), "\(described)")

            // Labels, all namespaces, names, jsonpath, a JSON patch, scale, logs.
            let labelled = try kubectl(name, ["get", "svc", "-A", "--show-labels"]).output
            #expect(columns(labelled).contains { $0.prefix(2) == ["kube-system", "kube-dns"] } && labelled.contains("app=nginx-service"), "\(labelled)")
            #expect(try kubectl(name, ["get", "rs", "-n", "dev", "-o", "name"]).output == "replicaset.apps/nginx-replicaset\n")
            let env = try kubectl(name, ["get", "rs", "nginx-replicaset", "-n", "dev", "-o", "jsonpath={.spec.template.spec.containers[0].env[*].name}"])
            #expect(env.output == "NODE_NAME POD_NAME")
            let patched = try kubectl(name, ["patch", "svc", "nginx-service", "-n", "dev", "--type=json",
                                             "-p", #"[{"op":"replace","path":"/spec/ports/0/nodePort","value":30001}]"#])
            #expect(patched.output == "service/nginx-service patched\n", "\(patched.output)")
            #expect(try kubectl(name, ["scale", "rs", "nginx-replicaset", "-n", "dev", "--replicas=2"]).output == "replicaset.apps/nginx-replicaset scaled\n")
            #expect(eventually(15) { columns((try? kubectl(name, ["get", "pods", "-n", "dev", "--no-headers"]))?.output ?? "x").count == 2 })
            let pod = try #require(columns(try kubectl(name, ["get", "pods", "-n", "dev", "--no-headers"]).output).first?.first)
            let logs = try kubectl(name, ["logs", "-n", "dev", pod, "--tail=50"])
            #expect(logs.status == 0 && logs.output.contains("nginx"), "\(logs.output)")

            // Bad input: an unknown field, refused as kube-apiserver refuses it under kubectl's strict validation.
            let typo = try kubectl(name, ["apply", "-f", "-"], input: PodTests.seed002.replacingOccurrences(of: "  replicas: 6", with: "  replicaz: 6"))
            #expect(typo.status != 0 && typo.output.contains(#"strict decoding error: unknown field "spec.replicaz""#), "\(typo.output)")

            // The official Python client lists and watches.
            let python = try sh(["\(Self.venv)/python", "-c", """
                from kubernetes import client, config, watch
                config.load_kube_config(context="\(Kubeconfig.contextName(cluster: name))")
                v1 = client.CoreV1Api()
                print(sorted({p.metadata.namespace for p in v1.list_pod_for_all_namespaces().items}))
                print([s.metadata.name for s in v1.list_namespaced_service("dev").items])
                for event in watch.Watch().stream(v1.list_namespaced_pod, "dev", timeout_seconds=5):
                    print(event["type"]); break
                """])
            #expect(python.output == "['dev', 'ingress-nginx', 'kube-system']\n['nginx-service']\nADDED\n", "\(python.output)")

            let deleted = try kubectl(name, ["delete", "-f", "-"], input: Self.nodePortService)
            #expect(deleted.output == "service \"nginx-service\" deleted from dev namespace\n", "\(deleted.output)")
        }
        // Deleting the cluster took its context out of the kubeconfig.
        let contexts = try sh(["\(Self.venv)/kubectl", "config", "get-contexts", "-o", "name"]).output
        #expect(!contexts.split(separator: "\n").contains(Substring(Kubeconfig.contextName(cluster: cluster))), "\(contexts)")
    }

    static let runMyNginx = """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: my-nginx
        spec:
          selector:
            matchLabels:
              run: my-nginx
          replicas: 2
          template:
            metadata:
              labels:
                run: my-nginx
            spec:
              containers:
              - name: my-nginx
                image: nginx
                ports:
                - containerPort: 80
        """

    /// Runs kubectl in a terminal of its own (120x40), as a user at a shell does: for each step, waits until the
    /// output so far contains `waitFor`, then types `send` and Enter. Returns everything the terminal showed.
    func terminalSession(_ cluster: String, _ arguments: [String], steps: [(waitFor: String, send: String)]) throws -> String {
        let script = """
            import fcntl, json, os, pty, select, struct, sys, termios, time
            steps = json.loads(sys.argv[1]); command = sys.argv[2:]
            pid, fd = pty.fork()
            if pid == 0:
                os.execv(command[0], command)
            fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
            seen = b""
            def read(until, seconds):
                global seen
                deadline = time.time() + seconds
                while time.time() < deadline and (until is None or until.encode() not in seen):
                    if select.select([fd], [], [], 0.1)[0]:
                        try: data = os.read(fd, 4096)
                        except OSError: return
                        if not data: return
                        seen += data
            for wait_for, send in steps:
                read(wait_for, 30)
                os.write(fd, send.encode() + b"\\r")
            read(None, 30)
            sys.stdout.write(seen.decode(errors="replace").replace("\\r\\n", "\\n"))
            """
        let stepsJSON = String(decoding: try JSONSerialization.data(withJSONObject: steps.map { [$0.waitFor, $0.send] }), as: UTF8.self)
        return try sh(["python3", "-c", script, stepsJSON, "\(Self.venv)/kubectl", "--context", Kubeconfig.contextName(cluster: cluster)]
                      + arguments).output
    }

    /// Seed 001's commands as written: the Deployment applied, its pods and their IPs, `expose`, the Service,
    /// its endpoints, service variables before and after the pods are recreated, kube-dns, an interactive curl
    /// pod (`run -i --tty`) resolving the service with nslookup, `exec -it`, and `edit` to a LoadBalancer.
    @Test func seed001WithRealKubectl() throws {
        try #require(FileManager.default.isExecutableFile(atPath: "\(Self.venv)/kubectl"), "no kubectl: run scripts/install-deps.sh")
        try cli.withCluster("kubectl-seed1") { name in
            #expect(try kubectl(name, ["apply", "-f", "-"], input: Self.runMyNginx).output == "deployment.apps/my-nginx created\n")
            #expect(eventually(20) {
                let pods = columns((try? kubectl(name, ["get", "pods", "-l", "run=my-nginx", "-o", "wide"]))?.output ?? "")
                return pods.count == 3 && pods.dropFirst().allSatisfy { $0[1] == "1/1" && $0[2] == "Running" }
            })
            let wide = columns(try kubectl(name, ["get", "pods", "-l", "run=my-nginx", "-o", "wide"]).output)
            #expect(Array(wide[0].prefix(7)) == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE"], "\(wide)")
            let podIPs = wide.dropFirst().map { $0[5] }
            let yaml = try kubectl(name, ["get", "pods", "-l", "run=my-nginx", "-o", "yaml"]).output
            #expect(yaml.split(separator: "\n").filter { $0.contains("podIP:") }.map { $0.trimmingCharacters(in: .whitespaces) }
                    == podIPs.map { "podIP: \($0)" }, "\(yaml)")

            #expect(try kubectl(name, ["expose", "deployment/my-nginx"]).output == "service/my-nginx exposed\n")
            let service = columns(try kubectl(name, ["get", "svc", "my-nginx"]).output)
            #expect(service[0] == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"])
            #expect(service[1][0] == "my-nginx" && service[1][1] == "ClusterIP" && service[1][3] == "<none>" && service[1][4] == "80/TCP", "\(service)")
            let clusterIP = service[1][2]
            let endpoints = podIPs.sorted().map { "\($0):80" }.joined(separator: ",")
            #expect(eventually(10) { (try? kubectl(name, ["describe", "svc", "my-nginx"]))?.output.contains("Endpoints:                \(endpoints)") == true })
            let described = try kubectl(name, ["describe", "svc", "my-nginx"]).output
            // Labels: <none> where the seed shows run=my-nginx: apps/v1 Deployments no longer take their template's
            // labels, so expose has none to copy (as against Kubernetes today).
            for line in ["Name:                     my-nginx", "Labels:                   <none>", "Selector:                 run=my-nginx",
                         "Type:                     ClusterIP", "IP:                       \(clusterIP)", "Port:                     <unset>  80/TCP",
                         "Session Affinity:         None", "Events:                   <none>"] {
                #expect(described.contains(line + "\n"), "\(line) in \(described)")
            }
            let ep = columns(try kubectl(name, ["get", "ep", "my-nginx"]).output)
            #expect(ep[0] == ["NAME", "ENDPOINTS", "AGE"] && ep[1][1] == endpoints, "\(ep)")

            // The pods predate the service: no variables for it, until they are recreated.
            func serviceVariables() throws -> [String] {
                let pod = try #require(columns(try kubectl(name, ["get", "pods", "-l", "run=my-nginx", "--no-headers"]).output).first?.first)
                return try kubectl(name, ["exec", pod, "--", "printenv"]).output.split(separator: "\n").map(String.init).filter { $0.contains("SERVICE") }.sorted()
            }
            #expect(try serviceVariables() == ["KUBERNETES_SERVICE_HOST=10.96.0.1", "KUBERNETES_SERVICE_PORT=443", "KUBERNETES_SERVICE_PORT_HTTPS=443"])
            #expect(try kubectl(name, ["scale", "deployment", "my-nginx", "--replicas=0"]).output == "deployment.apps/my-nginx scaled\n")
            #expect(eventually(20) { (try? kubectl(name, ["get", "pods", "-l", "run=my-nginx"]))?.output == "No resources found in default namespace.\n" })
            #expect(try kubectl(name, ["scale", "deployment", "my-nginx", "--replicas=2"]).output == "deployment.apps/my-nginx scaled\n")
            #expect(eventually(20) {
                let pods = columns((try? kubectl(name, ["get", "pods", "-l", "run=my-nginx", "--no-headers"]))?.output ?? "")
                return pods.count == 2 && pods.allSatisfy { $0[2] == "Running" }
            })
            #expect(try serviceVariables() == ["KUBERNETES_SERVICE_HOST=10.96.0.1", "KUBERNETES_SERVICE_PORT=443", "KUBERNETES_SERVICE_PORT_HTTPS=443",
                                               "MY_NGINX_SERVICE_HOST=\(clusterIP)", "MY_NGINX_SERVICE_PORT=80"])
            let dns = columns(try kubectl(name, ["get", "services", "kube-dns", "--namespace=kube-system"]).output)
            #expect(dns[1][0] == "kube-dns" && dns[1][2] == "10.96.0.10" && dns[1][4] == "53/UDP,53/TCP,9153/TCP", "\(dns)")

            // The interactive curl pod: a shell on a terminal; Enter for the prompt, then nslookup.
            let session = try terminalSession(name, ["run", "curl", "--image=radial/busyboxplus:curl", "-i", "--tty"], steps: [
                ("try pressing enter", ""), ("# ", "nslookup my-nginx"), ("Address: \(clusterIP)", "echo size=$(stty size) tty=$(tty)"),
                ("tty=/dev/", "exit"),
            ])
            #expect(session.contains("Name:\tmy-nginx.default.svc.cluster.local\nAddress: \(clusterIP)"), "\(session)")
            #expect(session.contains("size=40 120 tty=/dev/pts/"), "\(session)")
            #expect(session.contains("Session ended, resume using 'kubectl attach curl -c curl -n default -i -t' command"), "\(session)")
            #expect(try kubectl(name, ["get", "pod", "curl", "-o", "jsonpath={.spec.containers[0].tty}"]).output == "true")
            // exec -it: a shell with job control on its own terminal.
            let pod = try #require(columns(try kubectl(name, ["get", "pods", "-l", "run=my-nginx", "--no-headers"]).output).first?.first)
            let shell = try terminalSession(name, ["exec", "-it", pod, "--", "sh"], steps: [
                ("# ", "sleep 30"), ("sleep 30", "\u{3}echo interrupted $(stty size)"), ("interrupted 40", "exit 7"),
            ])
            #expect(shell.contains("interrupted 40 120"), "\(shell)")
            #expect(shell.contains("command terminated with exit code 7"), "\(shell)")

            // Securing the service: a key pair, as a kubernetes.io/tls Secret, then as the seed's Opaque manifest.
            let keys = FileManager.default.temporaryDirectory.appendingPathComponent("kt-keys-\(getpid())").path
            try FileManager.default.createDirectory(atPath: keys, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: keys) }
            let made = try sh(["openssl", "req", "-x509", "-nodes", "-days", "365", "-newkey", "rsa:2048", "-keyout", "\(keys)/nginx.key",
                               "-out", "\(keys)/nginx.crt", "-subj", "/CN=my-nginx/O=my-nginx"])
            try #require(made.status == 0, "\(made.output)")
            #expect(try kubectl(name, ["create", "secret", "tls", "nginxsecret", "--key", "\(keys)/nginx.key", "--cert", "\(keys)/nginx.crt"]).output
                    == "secret/nginxsecret created\n")
            var secrets = columns(try kubectl(name, ["get", "secrets"]).output)
            #expect(secrets[0] == ["NAME", "TYPE", "DATA", "AGE"] && Array(secrets[1].prefix(3)) == ["nginxsecret", "kubernetes.io/tls", "2"], "\(secrets)")
            #expect(try kubectl(name, ["delete", "secret", "nginxsecret"]).status == 0)
            // kindling's own verb makes the same Secret; a file without PEM data is refused as kubectl refuses it.
            #expect(try cli.kindling(["create", "secret", "tls", "own", "--name", name, "--key", "\(keys)/nginx.key", "--cert", "\(keys)/nginx.crt"]).output
                    == "secret/own created\n")
            #expect(try kubectl(name, ["get", "secret", "own", "-o", "jsonpath={.type}"]).output == "kubernetes.io/tls")
            let notPEM = try cli.kindling(["create", "secret", "tls", "bad", "--name", name, "--key", "\(keys)/nginx.key", "--cert", "/etc/hostname"])
            #expect(notPEM.status != 0 && notPEM.output.contains("failed to find any PEM data in certificate input"), "\(notPEM.output)")
            let certificate = try Data(contentsOf: URL(fileURLWithPath: "\(keys)/nginx.crt")).base64EncodedString()
            let key = try Data(contentsOf: URL(fileURLWithPath: "\(keys)/nginx.key")).base64EncodedString()
            let manifest = """
                apiVersion: "v1"
                kind: "Secret"
                metadata:
                  name: "nginxsecret"
                  namespace: "default"
                data:
                  nginx.crt: "\(certificate)"
                  nginx.key: "\(key)"
                """
            #expect(try kubectl(name, ["apply", "-f", "-"], input: manifest).output == "secret/nginxsecret created\n")
            secrets = columns(try kubectl(name, ["get", "secrets"]).output)
            #expect(Array(secrets[1].prefix(3)) == ["nginxsecret", "Opaque", "2"], "\(secrets)")
            #expect(try kubectl(name, ["get", "secret", "nginxsecret", "-o", "jsonpath={.data.nginx\\.crt}"]).output == certificate)

            // HTTPS: nginx configured by a ConfigMap mounted at /etc/nginx/conf.d, the Secret at /etc/nginx/ssl; a
            // curl pod with the same Secret checks the certificate by the service's name.
            let config = try kubectl(name, ["create", "configmap", "nginxconfigmap", "--from-file=default.conf=/dev/stdin"], input: Self.secureDefaultConf)
            #expect(config.output == "configmap/nginxconfigmap created\n", "\(config.output)")
            #expect(try kubectl(name, ["delete", "deployments,svc", "my-nginx"]).status == 0)
            let created = try kubectl(name, ["create", "-f", "-"], input: Self.nginxSecureApp)
            #expect(created.output == "service/my-nginx created\ndeployment.apps/my-nginx created\n", "\(created.output)")
            #expect(try kubectl(name, ["apply", "-f", "-"], input: Self.curlPod).output == "deployment.apps/curl-deployment created\n")
            #expect(eventually(30) {
                let pods = columns((try? kubectl(name, ["get", "pods", "-l", "app=curlpod", "--no-headers"]))?.output ?? "")
                let secure = columns((try? kubectl(name, ["get", "pods", "-l", "run=my-nginx", "--no-headers"]))?.output ?? "")
                return pods.count == 1 && pods[0][2] == "Running" && secure.count == 1 && secure[0][1] == "1/1"
            })
            let curlPod = try #require(columns(try kubectl(name, ["get", "pods", "-l", "app=curlpod", "--no-headers"]).output).first?.first)
            var secured = CommandResult(status: -1, output: "")
            #expect(eventually(10) {
                secured = (try? kubectl(name, ["exec", curlPod, "--", "curl", "-s", "https://my-nginx", "--cacert", "/etc/nginx/ssl/nginx.crt"]))
                    ?? secured
                return secured.status == 0
            })
            #expect(secured.output.contains("Welcome to nginx!"), "\(secured.output)")
            // The mounted files are the pod's alone, read-only, and the machine has no such directory.
            #expect(!FileManager.default.fileExists(atPath: "/etc/nginx/ssl"))
            let write = try kubectl(name, ["exec", curlPod, "--", "sh", "-c", "echo x > /etc/nginx/ssl/nginx.crt"])
            #expect(write.status != 0 && write.output.contains("Read-only file system"), "\(write.output)")
            let nodePort = try kubectl(name, ["get", "svc", "my-nginx", "-o", "jsonpath={.spec.ports[?(@.name==\"https\")].nodePort}"]).output
            let nodeIP = try kubectl(name, ["get", "nodes", "-o", "jsonpath={.items[0].status.addresses[0].address}"]).output
            let external = try cli.kindling(["exec", "--name", name, "--external", "--", "curl", "-sk", "https://\(nodeIP):\(nodePort)"])
            #expect(external.output.contains("Welcome to nginx!"), "\(external.output)")

            // edit: the type changed in the editor becomes a LoadBalancer with an address from the pool.
            let edited = try sh(["KUBE_EDITOR=sed -i s/type:\\ NodePort/type:\\ LoadBalancer/", "\(Self.venv)/kubectl", "--context",
                                 Kubeconfig.contextName(cluster: name), "edit", "svc", "my-nginx"])
            #expect(edited.output == "service/my-nginx edited\n", "\(edited.output)")
            #expect(eventually(10) {
                let row = columns((try? kubectl(name, ["get", "svc", "my-nginx", "--no-headers"]))?.output ?? "").first ?? []
                return row.count > 4 && row[1] == "LoadBalancer" && row[3] != "<pending>" && row[4].hasPrefix("8080:3")
            })
        }
    }

    /// A pod whose Secret does not exist yet waits in ContainerCreating with kubelet's FailedMount event, starts
    /// once it does with the key as a file and a variable, and sees a changed key in its file within seconds;
    /// a missing ConfigMap key is kubelet's CreateContainerConfigError.
    @Test func secretsAndConfigMapsReachPodsAsFilesAndVariables() throws {
        try #require(FileManager.default.isExecutableFile(atPath: "\(Self.venv)/kubectl"), "no kubectl: run scripts/install-deps.sh")
        try cli.withCluster("kubectl-volumes") { name in
            let pod = """
                apiVersion: v1
                kind: Pod
                metadata: {name: reader}
                spec:
                  volumes: [{name: creds, secret: {secretName: later}}, {name: scratch, emptyDir: {}}]
                  containers:
                  - name: reader
                    image: busybox
                    command: [sh, -c, 'echo user=$USERNAME mode=$CFG_mode; sleep 3600']
                    env: [{name: USERNAME, valueFrom: {secretKeyRef: {name: later, key: username}}}]
                    envFrom: [{prefix: CFG_, configMapRef: {name: settings}}]
                    volumeMounts: [{name: creds, mountPath: /etc/creds}, {name: scratch, mountPath: /var/scratch}]
                """
            #expect(try kubectl(name, ["create", "configmap", "settings", "--from-literal=mode=test"]).status == 0)
            #expect(try kubectl(name, ["apply", "-f", "-"], input: pod).output == "pod/reader created\n")
            #expect(eventually(10) {
                let described = (try? kubectl(name, ["describe", "pod", "reader"]))?.output ?? ""
                return described.contains(#"FailedMount  "#) && described.contains(#"MountVolume.SetUp failed for volume "creds" : secret "later" not found"#)
            })
            #expect(columns(try kubectl(name, ["get", "pod", "reader", "--no-headers"]).output).first?[2] == "ContainerCreating")
            #expect(try kubectl(name, ["create", "secret", "generic", "later", "--from-literal=username=admin"]).status == 0)
            #expect(eventually(10) { (try? kubectl(name, ["logs", "reader"]))?.output == "user=admin mode=test\n" })
            #expect(try kubectl(name, ["exec", "reader", "--", "cat", "/etc/creds/username"]).output == "admin")
            #expect(try kubectl(name, ["exec", "reader", "--", "sh", "-c", "echo kept > /var/scratch/x && cat /var/scratch/x"]).output == "kept\n")
            let changed = try kubectl(name, ["patch", "secret", "later", "-p", #"{"stringData":{"username":"root"}}"#])
            #expect(changed.status == 0, "\(changed.output)")
            let refreshed = eventually(20) { (try? kubectl(name, ["exec", "reader", "--", "cat", "/etc/creds/username"]))?.output == "root" }
            let seen = try kubectl(name, ["exec", "reader", "--", "cat", "/etc/creds/username"]).output
            let stored = try kubectl(name, ["get", "secret", "later", "-o", "yaml"]).output
            #expect(refreshed, "\(seen) \(stored)")

            let missingKey = pod.replacingOccurrences(of: "name: reader", with: "name: unlucky")
                .replacingOccurrences(of: "key: username", with: "key: password")
            #expect(try kubectl(name, ["apply", "-f", "-"], input: missingKey).status == 0)
            #expect(eventually(10) {
                let described = (try? kubectl(name, ["describe", "pod", "unlucky"]))?.output ?? ""
                return described.contains("CreateContainerConfigError") && described.contains("Error: couldn't find key password in Secret default/later")
            })
        }
    }

    /// Seed 001's nginx configuration for HTTPS (kubernetes/examples' https-nginx default.conf).
    static let secureDefaultConf = """
        server {
                listen 80 default_server;
                listen [::]:80 default_server ipv6only=on;

                listen 443 ssl;

                root /usr/share/nginx/html;
                index index.html;

                server_name localhost;
                ssl_certificate /etc/nginx/ssl/nginx.crt;
                ssl_certificate_key /etc/nginx/ssl/nginx.key;

                location / {
                        try_files $uri $uri/ =404;
                }
        }
        """

    /// Seed 001's nginx-secure-app.yaml.
    static let nginxSecureApp = """
        apiVersion: v1
        kind: Service
        metadata:
          name: my-nginx
          labels:
            run: my-nginx
        spec:
          type: NodePort
          ports:
          - port: 8080
            targetPort: 80
            protocol: TCP
            name: http
          - port: 443
            protocol: TCP
            name: https
          selector:
            run: my-nginx
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: my-nginx
        spec:
          selector:
            matchLabels:
              run: my-nginx
          replicas: 1
          template:
            metadata:
              labels:
                run: my-nginx
            spec:
              volumes:
              - name: secret-volume
                secret:
                  secretName: nginxsecret
              - name: configmap-volume
                configMap:
                  name: nginxconfigmap
              containers:
              - name: nginxhttps
                image: bprashanth/nginxhttps:1.0
                ports:
                - containerPort: 443
                - containerPort: 80
                volumeMounts:
                - mountPath: /etc/nginx/ssl
                  name: secret-volume
                - mountPath: /etc/nginx/conf.d
                  name: configmap-volume
        """

    /// Seed 001's curlpod.yaml.
    static let curlPod = """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: curl-deployment
        spec:
          selector:
            matchLabels:
              app: curlpod
          replicas: 1
          template:
            metadata:
              labels:
                app: curlpod
            spec:
              volumes:
              - name: secret-volume
                secret:
                  secretName: nginxsecret
              containers:
              - name: curlpod
                command:
                - sh
                - -c
                - while true; do sleep 1; done
                image: radial/busyboxplus:curl
                volumeMounts:
                - mountPath: /etc/nginx/ssl
                  name: secret-volume
        """

    /// kubectl's `create` commands (protobuf bodies), `expose`, `get all`, a watch in Table form, and `delete`
    /// waiting for the pod to go (a streaming list ended by the initial-events bookmark; it hangs without).
    @Test func createCommandsWatchesAndWaits() throws {
        try #require(FileManager.default.isExecutableFile(atPath: "\(Self.venv)/kubectl"), "no kubectl: run scripts/install-deps.sh")
        try cli.withCluster("kubectl-create") { name in
            for (arguments, expected) in [
                (["create", "namespace", "shop"], "namespace/shop created"),
                (["create", "deployment", "web", "--image=nginx:1.25", "--replicas=2", "--port=80", "-n", "shop"], "deployment.apps/web created"),
                (["expose", "deployment/web", "--port=80", "-n", "shop"], "service/web exposed"),
                (["create", "service", "nodeport", "edge", "--tcp=80:80", "--node-port=30080", "-n", "shop"], "service/edge created"),
                (["create", "configmap", "settings", "--from-literal=mode=test", "-n", "shop"], "configmap/settings created"),
                (["create", "ingress", "shop", "--rule=shop.example.com/api*=web:80,tls=shop-cert", "-n", "shop"], "ingress.networking.k8s.io/shop created"),
            ] {
                let result = try kubectl(name, arguments)
                #expect(result.status == 0 && result.output == expected + "\n", "\(arguments): \(result.output)")
            }
            #expect(eventually(20) {
                let pods = columns((try? kubectl(name, ["get", "pods", "-n", "shop", "--no-headers"]))?.output ?? "")
                return pods.count == 2 && pods.allSatisfy { $0[1] == "1/1" }
            })
            // Events: the scheduler's, the kubelet's (the agent's) and the ReplicaSet controller's, in describe and get.
            let firstPod = try #require(columns(try kubectl(name, ["get", "pods", "-n", "shop", "--no-headers"]).output).first?.first)
            #expect(eventually(10) {
                let described = (try? kubectl(name, ["describe", "pod", firstPod, "-n", "shop"]))?.output ?? ""
                return described.contains("Successfully assigned shop/\(firstPod) to ") && described.contains("Started container nginx")
            })
            let events = try kubectl(name, ["get", "events", "-n", "shop", "--sort-by=.lastTimestamp"]).output
            #expect(events.hasPrefix("LAST SEEN   TYPE     REASON") && events.contains("Created pod: \(firstPod)"), "\(events)")
            let all = try kubectl(name, ["get", "all", "-n", "shop"]).output
            for line in ["deployment.apps/web   2/2", "service/edge   NodePort", "service/web    ClusterIP"] {
                #expect(all.contains(line), "\(line) in \(all)")
            }
            #expect(columns(try kubectl(name, ["get", "svc", "edge", "-n", "shop", "--no-headers"]).output).first?[4] == "80:30080/TCP")
            // The default class (admission), and the controller's address once it has published it.
            var ingress: [[String]] = []
            #expect(eventually(20) {
                ingress = columns((try? kubectl(name, ["get", "ingress", "-n", "shop"]))?.output ?? "")
                return ingress.count == 2 && ingress[1].count == 7
            }, "\(ingress)")
            #expect(ingress.first == ["NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"])
            #expect(ingress.last?.prefix(6) == ["shop", "kindling", "shop.example.com", "172.18.255.250", "80,", "443"])
            // describe of each workload kind, and the Service error kube-apiserver gives, as kubectl prints them.
            let deployment = try kubectl(name, ["describe", "deploy", "web", "-n", "shop"]).output
            #expect(deployment.contains("Replicas:               2 desired | 2 updated | 2 total | 2 available | 0 unavailable")
                    && deployment.contains("NewReplicaSet:   web-") && deployment.contains("ScalingReplicaSet"), "\(deployment)")
            let replicaSet = try kubectl(name, ["describe", "rs", "-n", "shop"]).output
            #expect(replicaSet.contains("Controlled By:  Deployment/web") && replicaSet.contains("Pods Status:    2 Running / 0 Waiting / 0 Succeeded / 0 Failed"),
                    "\(replicaSet)")
            let endpointsDescribed = try kubectl(name, ["describe", "ep", "web", "-n", "shop"]).output
            #expect(endpointsDescribed.contains("Subsets:\n  Addresses:          10.244."), "\(endpointsDescribed)")
            let node = try kubectl(name, ["describe", "node", "\(name)-control-plane"]).output
            #expect(node.contains("Roles:              control-plane") && node.contains("PodCIDR:                      10.244.")
                    && node.contains("Kubelet Version:            v1.37.0-kindling")
                    && node.contains("Lease:\n  HolderIdentity:  \(name)-control-plane\n  AcquireTime:     <unset>\n  RenewTime:       "), "\(node)")
            let leases = columns(try kubectl(name, ["get", "leases", "-n", "kube-node-lease"]).output)
            #expect(leases.first == ["NAME", "HOLDER", "AGE"] && leases.dropFirst().allSatisfy { $0[0] == $0[1] } && leases.count == 4, "\(leases)")
            let badPort = try kubectl(name, ["create", "service", "nodeport", "bad", "--tcp=80:80", "--node-port=80", "-n", "shop"])
            // (kubectl's create service puts its own words before the server's.)
            #expect(badPort.status != 0 && badPort.output == #"error: failed to create NodePort service: Service "bad" is invalid: spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid range. The range of valid ports is 30000-32767"# + "\n",
                    "\(badPort.output)")

            // Paged lists (limit and continue, one object a page) list the same as one.
            let whole = columns(try kubectl(name, ["get", "pods", "-A", "--no-headers"]).output).map { $0.prefix(2) }
            let paged = columns(try kubectl(name, ["get", "pods", "-A", "--no-headers", "--chunk-size=1"]).output).map { $0.prefix(2) }
            #expect(whole.count >= 4 && paged == whole, "\(paged) vs \(whole)")

            // Server-side dry runs change nothing; kubectl diff shows what an apply would change.
            let dry = try kubectl(name, ["apply", "--dry-run=server", "-f", "-"], input: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: dry, namespace: shop}\n")
            #expect(dry.output == "configmap/dry created (server dry run)\n", "\(dry.output)")
            #expect(try kubectl(name, ["get", "configmap", "dry", "-n", "shop"]).status != 0)
            let changed = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: shop}\ndata: {mode: prod}\n"
            let diff = try kubectl(name, ["diff", "-f", "-"], input: changed)
            #expect(diff.status == 1 && diff.output.contains("-  mode: test") && diff.output.contains("+  mode: prod"), "\(diff.output)")
            #expect(try kubectl(name, ["delete", "configmap", "settings", "-n", "shop", "--dry-run=server"]).status == 0)
            #expect(try kubectl(name, ["get", "configmap", "settings", "-n", "shop", "-o", "jsonpath={.data.mode}"]).output == "test")
            // Server-side apply: created, then conflicting with a scale, then forced; a client-side applied object
            // taken over by kubectl's first server-side apply without conflicts.
            let ssa = """
                apiVersion: apps/v1
                kind: Deployment
                metadata: {name: ssa, namespace: shop}
                spec:
                  replicas: 1
                  selector: {matchLabels: {app: ssa}}
                  template:
                    metadata: {labels: {app: ssa}}
                    spec: {containers: [{name: nginx, image: nginx}]}
                """
            #expect(try kubectl(name, ["apply", "--server-side", "-f", "-"], input: ssa).output == "deployment.apps/ssa serverside-applied\n")
            #expect(try kubectl(name, ["get", "deploy", "ssa", "-n", "shop", "-o", "jsonpath={.metadata.managedFields[0].manager} {.metadata.managedFields[0].operation}"]).output
                    == "kubectl Apply")
            #expect(try kubectl(name, ["scale", "deployment", "ssa", "-n", "shop", "--replicas=2"]).status == 0)
            let conflict = try kubectl(name, ["apply", "--server-side", "-f", "-"], input: ssa)
            #expect(conflict.status != 0 && conflict.output.hasPrefix(#"error: Apply failed with 1 conflict: conflict with "kubectl" with subresource "scale" using apps/v1: .spec.replicas"#),
                    "\(conflict.output)")
            #expect(try kubectl(name, ["apply", "--server-side", "--force-conflicts", "-f", "-"], input: ssa).status == 0)
            #expect(try kubectl(name, ["get", "deploy", "ssa", "-n", "shop", "-o", "jsonpath={.spec.replicas}"]).output == "1")
            let clientSide = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: moved, namespace: shop}\ndata: {a: \"1\", b: \"2\"}\n"
            #expect(try kubectl(name, ["apply", "-f", "-"], input: clientSide).output == "configmap/moved created\n")
            let serverSide = try kubectl(name, ["apply", "--server-side", "-f", "-"], input: clientSide.replacingOccurrences(of: #"{a: "1", b: "2"}"#, with: #"{a: "3"}"#))
            #expect(serverSide.output == "configmap/moved serverside-applied\n", "\(serverSide.output)")
            #expect(try kubectl(name, ["get", "configmap", "moved", "-n", "shop", "-o", "jsonpath={.data}"]).output == #"{"a":"3"}"#)

            // A watch in Table form: the header once, then a row per change.
            let watcher = Process()
            watcher.executableURL = URL(fileURLWithPath: "\(Self.venv)/kubectl")
            watcher.arguments = ["--context", Kubeconfig.contextName(cluster: name), "get", "pods", "-n", "shop", "-w", "--request-timeout=6s"]
            watcher.environment = testEnvironment
            let output = Pipe()
            watcher.standardOutput = output
            try watcher.run()
            usleep(1_500_000)
            let pod = try #require(columns(try kubectl(name, ["get", "pods", "-n", "shop", "--no-headers"]).output).first?.first)
            let started = Date()
            let deleted = try kubectl(name, ["delete", "pod", pod, "-n", "shop"])
            #expect(deleted.output == "pod \"\(pod)\" deleted from shop namespace\n", "\(deleted.output)")
            #expect(Date().timeIntervalSince(started) < 10, "kubectl delete waited \(Date().timeIntervalSince(started)) s")
            watcher.waitUntilExit()
            let watched = columns(String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
            #expect(watched.first == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"], "\(watched)")
            #expect(watched.filter { $0.first == "NAME" }.count == 1)
            #expect(watched.contains { $0.first == pod && $0[2] == "Terminating" } || watched.filter { $0.first == pod }.count > 1, "\(watched)")
        }
    }
}

