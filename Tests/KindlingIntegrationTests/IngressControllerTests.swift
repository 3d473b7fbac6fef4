import Foundation
import KindlingAPI
import Testing

/// The ingress controller every cluster runs (ingress-nginx's Deployment and LoadBalancer Service in namespace
/// ingress-nginx, IngressClass `kindling`), driven with real kubectl and checked with curl from the external
/// client, as a user outside the cluster reaches it: seed 004's Ingress, path routing across two services, the
/// default backend, TLS from a Secret, and reloads under a stream of requests.
@Suite(.enabled(if: isRoot, "needs root: builds clusters"))
struct IngressControllerTests {
    let cli = CLITests()
    let kubectlTests = KubectlTests()

    func kubectl(_ cluster: String, _ arguments: [String], input: String? = nil) throws -> CommandResult {
        try kubectlTests.kubectl(cluster, arguments, input: input)
    }

    func external(_ cluster: String, _ command: [String]) throws -> CommandResult {
        try cli.kindling(["exec", "--name", cluster, "--external", "--"] + command)
    }

    /// Seed 004's Service and Ingress as written (with the backend port its slide cuts off), and pods behind it.
    static let seed004 = """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: my-app}
        spec:
          replicas: 2
          selector: {matchLabels: {app: my-app}}
          template:
            metadata: {labels: {app: my-app}}
            spec:
              containers:
              - {name: agnhost, image: registry.k8s.io/e2e-test-images/agnhost:2.39, args: [netexec, --http-port=8080]}
        ---
        apiVersion: v1
        kind: Service
        metadata:
          name: my-service
        spec:
          selector:
            app: my-app
          ports:
            - protocol: TCP
              port: 80
              targetPort: 8080
          type: ClusterIP
        ---
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata:
          name: my-ingress
        spec:
          rules:
          - host: myapp.example.com
            http:
              paths:
              - path: /
                pathType: Prefix
                backend:
                  service:
                    name: my-service
                    port:
                      number: 80
        """

    /// Two nginx Deployments whose pages say which service answered, at the paths the routing test asks for.
    static func site(_ name: String) -> String {
        """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: \(name)}
        spec:
          replicas: 2
          selector: {matchLabels: {app: \(name)}}
          template:
            metadata: {labels: {app: \(name)}}
            spec:
              containers:
              - {name: nginx, image: nginx, ports: [{containerPort: 80}]}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: \(name)}
        spec:
          selector: {app: \(name)}
          ports: [{name: http, port: 80, targetPort: 80}]

        """
    }

    static let paths = """
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata: {name: paths}
        spec:
          rules:
          - host: paths.example.com
            http:
              paths:
              - {path: /api, pathType: Prefix, backend: {service: {name: api, port: {name: http}}}}
              - {path: /api/exact, pathType: Exact, backend: {service: {name: web, port: {number: 80}}}}
              - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
        """

    /// The HTTP status and body of a request to `host` at the ingress address, as the external client sees it.
    func request(_ cluster: String, _ address: String, host: String, path: String = "/", scheme: String = "http",
                 extra: [String] = []) throws -> (code: String, body: String) {
        let port = scheme == "https" ? 443 : 80
        let result = try external(cluster, ["curl", "-s", "--max-time", "3", "-w", "\n%{http_code}", "--resolve", "\(host):\(port):\(address)"]
                                  + extra + ["\(scheme)://\(host)\(path)"])
        let lines = result.output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        return (lines.last ?? "", lines.dropLast().joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// The address `kubectl get ingress` prints once the controller has published it.
    func address(_ cluster: String, _ ingress: String) -> String? {
        var address: String?
        _ = eventually(30) {
            let columns = kubectlTests.columns((try? kubectl(cluster, ["get", "ingress", ingress]))?.output ?? "")
            address = columns.count == 2 && columns[1].count == 6 ? columns[1][3] : nil
            return address != nil
        }
        return address
    }

    @Test func seed004PathsDefaultBackendAndTLSFromOutside() throws {
        try #require(FileManager.default.isExecutableFile(atPath: "\(KubectlTests.venv)/kubectl"), "no kubectl: run scripts/install-deps.sh")
        try cli.withCluster("ingress") { name in
            // The controller is there from the start, as the default class's.
            #expect(eventually(30) {
                let rows = kubectlTests.columns((try? kubectl(name, ["get", "pods", "-n", "ingress-nginx"]))?.output ?? "")
                return rows.count == 2 && rows[1][1] == "1/1" && rows[1][2] == "Running"
            })
            let classes = try kubectl(name, ["get", "ingressclass"]).output
            #expect(kubectlTests.columns(classes).dropFirst().first?.prefix(2) == ["kindling", "k8s.io/ingress-nginx"], "\(classes)")

            #expect(try kubectl(name, ["apply", "-f", "-"], input: Self.seed004).status == 0)
            let ip = try #require(address(name, "my-ingress"), "no address published")
            let service = try kubectl(name, ["get", "svc", "-n", "ingress-nginx", "ingress-nginx-controller", "-o", "jsonpath={.status.loadBalancer.ingress[0].ip}"]).output
            #expect(ip == service, "the Ingress's address is its controller's LoadBalancer IP")
            // The class was defaulted by admission, as kube-apiserver does.
            #expect(kubectlTests.columns(try kubectl(name, ["get", "ingress", "my-ingress"]).output)[1][1] == "kindling")
            // myapp.example.com reaches both pods of my-service; any other host is the controller's 404.
            var answered = Set<String>()
            #expect(eventually(30) {
                if let reply = try? request(name, ip, host: "myapp.example.com", path: "/hostname"), reply.code == "200" { answered.insert(reply.body) }
                return answered.count == 2
            }, "pods answering: \(answered)")
            #expect(answered.allSatisfy { $0.hasPrefix("my-app-") })
            let other = try request(name, ip, host: "other.example.com")
            #expect(other.code == "404" && other.body.contains("nginx"), "\(other)")

            // Path routing across two services: Prefix per path element, Exact over Prefix, ports by name and number.
            #expect(try kubectl(name, ["apply", "-f", "-"], input: Self.site("api") + "---\n" + Self.site("web")).status == 0)
            #expect(eventually(60) { (try? kubectl(name, ["get", "deploy", "api", "web"]).output.components(separatedBy: "2/2").count) == 3 })
            for site in ["api", "web"] {
                let pods = try kubectl(name, ["get", "pods", "-l", "app=\(site)", "-o", "jsonpath={.items[*].metadata.name}"]).output.split(separator: " ")
                for pod in pods {
                    let html = "/usr/share/nginx/html"
                    let script = "mkdir -p \(html)/api && for f in index.html api/index.html api/exact apix; do echo \(site) > \(html)/$f; done"
                    #expect(try kubectl(name, ["exec", String(pod), "--", "sh", "-c", script]).status == 0)
                }
            }
            #expect(try kubectl(name, ["apply", "-f", "-"], input: Self.paths).status == 0)
            let expected = ["/api/": "api", "/api/exact": "web", "/apix": "web", "/": "web", "/api/index.html": "api"]
            var routed: [String: String] = [:]
            #expect(eventually(30) {
                routed = expected.keys.reduce(into: [:]) { routed, path in routed[path] = (try? request(name, ip, host: "paths.example.com", path: path))?.body }
                return routed == expected
            }, "\(routed)")

            // ingress-nginx's rewrite-target: the Kubernetes documentation's minimal Ingress (no host), and the
            // capture-group form; the backend sees the rewritten path.
            let rewrites = """
                apiVersion: networking.k8s.io/v1
                kind: Ingress
                metadata:
                  name: minimal-ingress
                  annotations: {nginx.ingress.kubernetes.io/rewrite-target: /}
                spec:
                  rules:
                  - http:
                      paths:
                      - {path: /testpath, pathType: Prefix, backend: {service: {name: api, port: {number: 80}}}}
                ---
                apiVersion: networking.k8s.io/v1
                kind: Ingress
                metadata:
                  name: captures
                  annotations: {nginx.ingress.kubernetes.io/rewrite-target: /$2}
                spec:
                  rules:
                  - host: rewrite.example.com
                    http:
                      paths:
                      - {path: /something(/|$)(.*), pathType: ImplementationSpecific, backend: {service: {name: web, port: {number: 80}}}}
                """
            #expect(try kubectl(name, ["apply", "-f", "-"], input: rewrites).status == 0)
            #expect(eventually(10) { (try? request(name, ip, host: "anything.example.net", path: "/testpath"))?.body == "api" })
            #expect(eventually(10) { (try? request(name, ip, host: "rewrite.example.com", path: "/something/api/exact"))?.body == "web" })
            let described = try kubectl(name, ["describe", "ingress", "captures"]).output
            #expect(described.contains("Normal  Sync") && described.contains("nginx-ingress-controller  Scheduled for sync"), "\(described)")

            // A defaultBackend takes every host no rule names.
            let fallback = "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: fallback}\nspec:\n  defaultBackend: {service: {name: api, port: {number: 80}}}\n"
            #expect(try kubectl(name, ["apply", "-f", "-"], input: fallback).status == 0)
            #expect(eventually(10) { (try? request(name, ip, host: "anything.example.net"))?.body == "api" })

            // TLS with a kubernetes.io/tls Secret: the certificate is the Secret's, and plain HTTP is redirected.
            let scratch = NSTemporaryDirectory() + "kt-ingress-tls-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: scratch) }
            func makeCertificate(_ prefix: String) throws {
                let made = try sh(["openssl", "req", "-x509", "-nodes", "-days", "2", "-newkey", "rsa:2048", "-keyout", "\(scratch)/\(prefix).key",
                                   "-out", "\(scratch)/\(prefix).crt", "-subj", "/CN=secure.example.com", "-addext", "subjectAltName=DNS:secure.example.com"])
                try #require(made.status == 0, "\(made.output)")
            }
            try makeCertificate("tls")
            #expect(try kubectl(name, ["create", "secret", "tls", "secure-tls", "--cert", "\(scratch)/tls.crt", "--key", "\(scratch)/tls.key"]).status == 0)
            let secure = """
                apiVersion: networking.k8s.io/v1
                kind: Ingress
                metadata: {name: secure}
                spec:
                  tls: [{hosts: [secure.example.com], secretName: secure-tls}]
                  rules:
                  - host: secure.example.com
                    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {name: http}}}}]}
                """
            #expect(try kubectl(name, ["apply", "-f", "-"], input: secure).status == 0)
            var verified: (code: String, body: String) = ("", "")
            #expect(eventually(30) {
                verified = (try? request(name, ip, host: "secure.example.com", scheme: "https", extra: ["--cacert", "\(scratch)/tls.crt"])) ?? ("", "")
                return verified == ("200", "web")
            }, "\(verified)")
            let redirected = try external(name, ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", "--resolve", "secure.example.com:80:\(ip)",
                                                 "http://secure.example.com/page"]).output
            #expect(redirected == "308 https://secure.example.com/page", "\(redirected)")
            // A host without its own certificate gets the controller's self-signed one, which curl does not trust.
            #expect(try request(name, ip, host: "paths.example.com", scheme: "https", extra: ["--cacert", "\(scratch)/tls.crt"]).code == "000")
            #expect(try request(name, ip, host: "paths.example.com", scheme: "https", extra: ["-k"]).body == "web")

            // A renewed Secret (kubectl's replace idiom) is served within moments; the old CA no longer verifies.
            try makeCertificate("renewed")
            let renewed = try kubectl(name, ["create", "secret", "tls", "secure-tls", "--cert", "\(scratch)/renewed.crt", "--key", "\(scratch)/renewed.key",
                                             "--dry-run=client", "-o", "yaml"])
            #expect(try kubectl(name, ["apply", "-f", "-"], input: renewed.output).status == 0)
            #expect(eventually(30) {
                (try? request(name, ip, host: "secure.example.com", scheme: "https", extra: ["--cacert", "\(scratch)/renewed.crt"]))?.body == "web"
            })
            #expect(try request(name, ip, host: "secure.example.com", scheme: "https", extra: ["--cacert", "\(scratch)/tls.crt"]).code == "000")
        }
    }

    /// Every change is a new nginx configuration loaded by a reload; a stream of requests (a new connection each)
    /// running through a dozen changes loses none.
    @Test func reloadsUnderAStreamOfRequestsLoseNone() throws {
        try #require(FileManager.default.isExecutableFile(atPath: "\(KubectlTests.venv)/kubectl"), "no kubectl: run scripts/install-deps.sh")
        try cli.withCluster("ingress-reload") { name in
            #expect(try kubectl(name, ["apply", "-f", "-"], input: Self.seed004).status == 0)
            let ip = try #require(address(name, "my-ingress"), "no address published")
            #expect(eventually(30) { (try? request(name, ip, host: "myapp.example.com", path: "/hostname"))?.code == "200" })
            let reloadsBefore = try kubectl(name, ["logs", "-n", "ingress-nginx", "deploy/ingress-nginx-controller"]).output
                .components(separatedBy: "configuration reloaded").count

            // Requests one after another, each on a new connection, until the test says stop.
            let stop = NSTemporaryDirectory() + "kt-ingress-stop-" + UUID().uuidString
            defer { unlink(stop) }
            let loop = "while [ ! -e \(stop) ]; do curl -s -o /dev/null -w '%{http_code} %{time_total} %{errormsg}\\n' --max-time 5 --resolve myapp.example.com:80:\(ip) http://myapp.example.com/hostname; done"
            let done = DispatchSemaphore(value: 0)
            nonisolated(unsafe) var stream: CommandResult?
            DispatchQueue.global().async {
                stream = try? external(name, ["sh", "-c", loop])
                done.signal()
            }
            // Meanwhile twelve changes: new hosts, and the backend scaled up (new upstream servers). Not down: a pod
            // that stops before the new configuration arrives takes requests nginx still sends it, and with its
            // address gone they wait for the connect timeout (ICMP replies are rate-limited), as in Kubernetes
            // without a preStop delay: the endpoints' race, not the reload's.
            for change in 1...12 {
                Thread.sleep(forTimeInterval: 0.3)
                let result = change % 3 == 0
                    ? try kubectl(name, ["scale", "deploy/my-app", "--replicas=\(2 + change / 3)"])
                    : try kubectl(name, ["create", "ingress", "extra-\(change)", "--rule=extra\(change).example.com/*=my-service:80"])
                #expect(result.status == 0, "\(result.output)")
            }
            Thread.sleep(forTimeInterval: 1)
            FileManager.default.createFile(atPath: stop, contents: nil)
            done.wait()
            let lines = (stream?.output ?? "").split(separator: "\n").map(String.init)
            let failed = lines.filter { !$0.hasPrefix("200 ") }
            #expect(lines.count >= 100 && failed.isEmpty, "\(failed.count) of \(lines.count) failed: \(failed.prefix(5))")
            let reloads = try kubectl(name, ["logs", "-n", "ingress-nginx", "deploy/ingress-nginx-controller"]).output
                .components(separatedBy: "configuration reloaded").count - reloadsBefore
            #expect(reloads >= 5, "only \(reloads) reloads during the stream")
        }
    }
}
