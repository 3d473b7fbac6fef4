import Foundation
import KindlingAPI
@testable import KindlingIngress
import Testing

/// Ingresses -> routes -> nginx configuration, without nginx: Kubernetes' path semantics, the oldest Ingress
/// winning conflicts, backends by port number and name over ready endpoints, TLS from Secrets.
@Suite struct IngressRoutesTests {
    static func objects<T: KubeObject>(_ type: T.Type, _ yaml: String) throws -> [T] {
        try Manifest.parse(yaml, source: "test").map { try KubeJSON.decoder.decode(T.self, from: $0.json) }
    }

    static let services = try! objects(Service.self, """
        apiVersion: v1
        kind: Service
        metadata: {name: my-service, namespace: default}
        spec: {ports: [{name: http, port: 80, targetPort: 8080}, {name: admin, port: 9000}]}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: api, namespace: default}
        spec: {ports: [{port: 8080}]}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: empty, namespace: default}
        spec: {ports: [{port: 80}]}
        """)

    static let slices = try! objects(EndpointSlice.self, """
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata: {name: my-service-abc, namespace: default, labels: {kubernetes.io/service-name: my-service}}
        addressType: IPv4
        ports: [{name: http, port: 8080, protocol: TCP}, {name: admin, port: 9000, protocol: TCP}]
        endpoints:
        - {addresses: [10.244.1.5], conditions: {ready: true}}
        - {addresses: [10.244.2.7], conditions: {ready: true}}
        - {addresses: [10.244.2.9], conditions: {ready: false}}
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata: {name: api-xyz, namespace: default, labels: {kubernetes.io/service-name: api}}
        addressType: IPv4
        ports: [{name: "", port: 8080, protocol: TCP}]
        endpoints:
        - {addresses: [10.244.3.2], conditions: {ready: true}}
        """)

    func ingress(_ yaml: String, created: String = "2026-01-01T00:00:00Z") throws -> Ingress {
        var ingress = try Self.objects(Ingress.self, yaml)[0]
        ingress.metadata.creationTimestamp = created
        return ingress
    }

    static let seed004 = """
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata: {name: my-ingress, namespace: default}
        spec:
          rules:
          - host: myapp.example.com
            http:
              paths:
              - path: /
                pathType: Prefix
                backend: {service: {name: my-service, port: {number: 80}}}
        """

    @Test func seed004RoutesTheHostToTheServicesReadyEndpoints() throws {
        let (routes, problems) = IngressRoutes.build(ingresses: [try ingress(Self.seed004)], services: Self.services, slices: Self.slices, secrets: [])
        #expect(problems.isEmpty)
        #expect(routes.upstreams == ["default-my-service-80": ["10.244.1.5:8080", "10.244.2.7:8080"]])
        #expect(routes.servers.map(\.host) == ["", "myapp.example.com"])
        #expect(routes.servers[1].locations == [.init(match: .prefix("/"), action: .proxy(upstream: "default-my-service-80"), redirectToHTTPS: false)])
        #expect(routes.servers[0].locations == [.init(match: .prefix("/"), action: .notFound, redirectToHTTPS: false)])
        let config = NginxConfig(directory: "/run/ingress").render(routes)
        #expect(config.contains("""
                upstream default-my-service-80 {
                    server 10.244.1.5:8080 max_fails=0;
                    server 10.244.2.7:8080 max_fails=0;
            """))
        #expect(config.contains("server_name myapp.example.com;\n        listen 80;\n        listen 443 ssl;\n        location \"/\" {"))
        #expect(config.contains("proxy_pass http://default-my-service-80;"))
    }

    @Test func prefixIsPerPathElementAndExactBeatsItsOwnPrefix() throws {
        #expect(IngressRoutes.matches(path: "/foo/", type: "Prefix") == [.exact("/foo"), .prefix("/foo/")])
        #expect(IngressRoutes.matches(path: "/", type: "Prefix") == [.prefix("/")])
        #expect(IngressRoutes.matches(path: "/foo", type: "ImplementationSpecific") == [.prefix("/foo")])
        #expect(IngressRoutes.matches(path: "/foo", type: "Exact") == [.exact("/foo")])
        let older = try ingress("""
            apiVersion: networking.k8s.io/v1
            kind: Ingress
            metadata: {name: prefix, namespace: default}
            spec:
              rules:
              - http: {paths: [{path: /app, pathType: Prefix, backend: {service: {name: my-service, port: {name: http}}}}]}
            """)
        let newer = try ingress("""
            apiVersion: networking.k8s.io/v1
            kind: Ingress
            metadata: {name: exact, namespace: default}
            spec:
              rules:
              - http:
                  paths:
                  - {path: /app, pathType: Exact, backend: {service: {name: api, port: {number: 8080}}}}
                  - {path: /app/, pathType: Prefix, backend: {service: {name: api, port: {number: 8080}}}}
            """, created: "2026-02-01T00:00:00Z")
        let (routes, _) = IngressRoutes.build(ingresses: [newer, older], services: Self.services, slices: Self.slices, secrets: [])
        let locations = routes.servers[0].locations
        // Exact /app from the newer Ingress wins over the older Prefix's own /app; the older keeps /app/.
        #expect(locations.map(\.match) == [.exact("/app"), .prefix("/"), .prefix("/app/")])
        #expect(locations[0].action == .proxy(upstream: "default-api-8080"))
        #expect(locations[2].action == .proxy(upstream: "default-my-service-http"))
        #expect(routes.upstreams["default-api-8080"] == ["10.244.3.2:8080"])
    }

    @Test func missingServicesPortsAndEndpointsAnswer503AndSaySo() throws {
        let broken = try ingress("""
            apiVersion: networking.k8s.io/v1
            kind: Ingress
            metadata: {name: broken, namespace: default}
            spec:
              defaultBackend: {service: {name: empty, port: {number: 80}}}
              rules:
              - host: a.example.com
                http:
                  paths:
                  - {path: /gone, pathType: Prefix, backend: {service: {name: gone, port: {number: 80}}}}
                  - {path: /port, pathType: Exact, backend: {service: {name: my-service, port: {number: 81}}}}
            """)
        let (routes, problems) = IngressRoutes.build(ingresses: [broken], services: Self.services, slices: Self.slices, secrets: [])
        #expect(problems == ["Ingress default/broken: service default/gone not found",
                             "Ingress default/broken: service default/my-service has no port 81"])
        #expect(routes.upstreams.isEmpty)
        let host = routes.servers[1]
        #expect(host.locations.map(\.action) == [.unavailable(upstream: "default-gone-80"), .unavailable(upstream: "default-my-service-81"),
                                                 .unavailable(upstream: "default-empty-80"), .unavailable(upstream: "default-gone-80")])
        // An Ingress with rules keeps its default backend to its own hosts, as ingress-nginx does.
        #expect(routes.servers[0].locations == [.init(match: .prefix("/"), action: .notFound, redirectToHTTPS: false)])
        #expect(NginxConfig(directory: "/d").render(routes).contains("set $proxy_upstream_name \"default-gone-80\";\n            return 503;"))
    }

    @Test func tlsHostsGetTheirSecretAndRedirectPlainHTTP() throws {
        let secrets = try Self.objects(Secret.self, """
            apiVersion: v1
            kind: Secret
            metadata: {name: myapp-tls, namespace: default}
            type: kubernetes.io/tls
            stringData: {tls.crt: CERT, tls.key: KEY}
            """).map { secret -> Secret in
                var secret = secret
                secret.data = secret.stringData?.mapValues { Data($0.utf8).base64EncodedString() }
                return secret
            }
        let tls = try ingress("""
            apiVersion: networking.k8s.io/v1
            kind: Ingress
            metadata: {name: tls, namespace: default}
            spec:
              tls:
              - {hosts: ["*.example.com"], secretName: myapp-tls}
              - {hosts: [other.example.org], secretName: missing}
              rules:
              - host: myapp.example.com
                http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: my-service, port: {number: 80}}}}]}
              - host: other.example.org
                http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: my-service, port: {number: 80}}}}]}
              - host: deep.er.example.com
                http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: my-service, port: {number: 80}}}}]}
            """)
        var checked: [Data] = []
        let (routes, problems) = IngressRoutes.build(ingresses: [tls], services: Self.services, slices: Self.slices, secrets: secrets) {
            checked.append($0)
            return nil
        }
        #expect(checked == [Data("KEY\nCERT".utf8)])
        #expect(problems == ["Ingress default/tls: secret default/missing not found; using the default certificate"])
        let byHost = Dictionary(uniqueKeysWithValues: routes.servers.map { ($0.host, $0) })
        #expect(byHost["myapp.example.com"]?.certificate == "default/myapp-tls")
        #expect(byHost["myapp.example.com"]?.locations.first?.redirectToHTTPS == true)
        #expect(byHost["other.example.org"]?.certificate == nil)
        #expect(byHost["other.example.org"]?.locations.first?.redirectToHTTPS == false, "no certificate of its own: no redirect")
        // A wildcard covers one label only.
        #expect(byHost["deep.er.example.com"]?.locations.first?.redirectToHTTPS == false)
        let config = NginxConfig(directory: "/d").render(routes)
        let file = try #require(routes.certificates["default/myapp-tls"]?.fileName)
        #expect(file.hasPrefix("default_myapp-tls-") && file.hasSuffix(".pem"))
        #expect(config.contains("server_name myapp.example.com;\n        listen 80;\n        listen 443 ssl;\n        ssl_certificate /d/certificates/\(file);"))
        #expect(config.contains("if ($scheme = http) { return 308 https://$host$request_uri; }"))

        var plain = tls
        plain.metadata.annotations = [IngressRoutes.sslRedirectAnnotation: "false"]
        let (unredirected, _) = IngressRoutes.build(ingresses: [plain], services: Self.services, slices: Self.slices, secrets: secrets)
        #expect(unredirected.servers.allSatisfy { $0.locations.allSatisfy { !$0.redirectToHTTPS } })
        let (refused, why) = IngressRoutes.build(ingresses: [tls], services: Self.services, slices: Self.slices, secrets: secrets) { _ in "key does not match" }
        #expect(refused.certificates.isEmpty)
        #expect(why.first == "Ingress default/tls: secret default/myapp-tls: key does not match; using the default certificate")
    }

    @Test func classSelectionFollowsIngressNginx() throws {
        let classes = try Self.objects(IngressClass.self, """
            apiVersion: networking.k8s.io/v1
            kind: IngressClass
            metadata: {name: kindling}
            spec: {controller: k8s.io/ingress-nginx}
            ---
            apiVersion: networking.k8s.io/v1
            kind: IngressClass
            metadata: {name: other}
            spec: {controller: example.com/other}
            """)
        let selection = IngressClassSelection(controller: "k8s.io/ingress-nginx", annotationClass: "kindling", withoutClass: false)
        var subject = try ingress(Self.seed004)
        #expect(!selection.selects(subject, classes: classes))
        #expect(IngressClassSelection(controller: "k8s.io/ingress-nginx", annotationClass: "kindling", withoutClass: true).selects(subject, classes: classes))
        subject.spec.ingressClassName = "kindling"
        #expect(selection.selects(subject, classes: classes))
        subject.spec.ingressClassName = "other"
        #expect(!selection.selects(subject, classes: classes))
        subject.spec.ingressClassName = nil
        subject.metadata.annotations = [IngressClassSelection.classAnnotation: "kindling"]
        #expect(selection.selects(subject, classes: classes))
    }

    @Test func pathsAndWildcardsAreSafeNginxWords() {
        #expect(NginxConfig.quoted(#"/a "b";{c}"#) == #""/a \"b\";{c}""#)
        #expect(NginxConfig.serverName("*.example.com") == #"~^[^.]+\.example\.com$"#)
        #expect(NginxConfig.serverNamesBucketSize(["a.example.com"]) == 128)
        #expect(NginxConfig.serverNamesBucketSize([String(repeating: "a", count: 63) + "." + String(repeating: "b", count: 63) + ".example.com"]) == 256)
        #expect(IngressRoutes.pathProblem("/a b") != nil && IngressRoutes.pathProblem("/a\nb") != nil && IngressRoutes.pathProblem("/a{b};") == nil)
    }

    /// ingress-nginx's precedence: any Ingress's explicit path beats another's default backend, and only an Ingress
    /// without rules takes the hosts nobody names; an exact TLS host beats a wildcard; UDP ports serve no HTTP.
    @Test func defaultBackendsYieldToPathsAndExactTLSHostsToWildcards() throws {
        let older = try ingress("""
            apiVersion: networking.k8s.io/v1
            kind: Ingress
            metadata: {name: older, namespace: default}
            spec:
              defaultBackend: {service: {name: api, port: {number: 8080}}}
              rules:
              - host: a.example.com
                http: {paths: [{path: /x, pathType: Exact, backend: {service: {name: api, port: {number: 8080}}}}]}
            """)
        let newer = try ingress("""
            apiVersion: networking.k8s.io/v1
            kind: Ingress
            metadata: {name: newer, namespace: default}
            spec:
              rules:
              - host: a.example.com
                http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: my-service, port: {number: 80}}}}]}
            """, created: "2026-02-01T00:00:00Z")
        let catchAll = try ingress("""
            apiVersion: networking.k8s.io/v1
            kind: Ingress
            metadata: {name: catch-all, namespace: default}
            spec:
              defaultBackend: {service: {name: my-service, port: {name: admin}}}
            """, created: "2026-03-01T00:00:00Z")
        let (routes, _) = IngressRoutes.build(ingresses: [catchAll, newer, older], services: Self.services, slices: Self.slices, secrets: [])
        let host = try #require(routes.servers.first { $0.host == "a.example.com" })
        #expect(host.locations.first { $0.match == .prefix("/") }?.action == .proxy(upstream: "default-my-service-80"))
        #expect(routes.servers[0].locations == [.init(match: .prefix("/"), action: .proxy(upstream: "default-my-service-admin"), redirectToHTTPS: false)])
        #expect(routes.upstreams["default-my-service-admin"] == ["10.244.1.5:9000", "10.244.2.7:9000"])

        let entries = [Ingress.TLS(hosts: ["*.example.com"], secretName: "wild"), Ingress.TLS(hosts: ["a.example.com"], secretName: "exact")]
        #expect(IngressRoutes.tlsEntry(for: "a.example.com", in: entries)?.secretName == "exact")
        #expect(IngressRoutes.tlsEntry(for: "b.example.com", in: entries)?.secretName == "wild")

        var udp = Self.services[1]
        udp.spec.ports = [.init(name: "quic", protocol: "UDP", port: 8080), .init(name: nil, protocol: "TCP", port: 8080)]
        let (tcp, _) = IngressRoutes.build(ingresses: [try ingress(Self.seed004.replacingOccurrences(of: "my-service, port: {number: 80}", with: "api, port: {number: 8080}"))],
                                          services: [udp], slices: Self.slices, secrets: [])
        #expect(tcp.upstreams == ["default-api-8080": ["10.244.3.2:8080"]])
    }

    /// ingress-nginx's rewrite-target and use-regex: the Kubernetes documentation's minimal Ingress and the
    /// capture-group form; a regular expression on a host turns that host's other prefixes into ones too.
    @Test func rewriteTargetsAndRegularExpressionsFollowIngressNginx() throws {
        let minimal = try ingress("""
            apiVersion: networking.k8s.io/v1
            kind: Ingress
            metadata:
              name: minimal-ingress
              namespace: default
              annotations: {nginx.ingress.kubernetes.io/rewrite-target: /}
            spec:
              rules:
              - http:
                  paths:
                  - {path: /testpath, pathType: Prefix, backend: {service: {name: api, port: {number: 8080}}}}
            """)
        let captures = try ingress("""
            apiVersion: networking.k8s.io/v1
            kind: Ingress
            metadata:
              name: captures
              namespace: default
              annotations: {nginx.ingress.kubernetes.io/rewrite-target: /$2}
            spec:
              rules:
              - host: a.example.com
                http:
                  paths:
                  - {path: /something(/|$)(.*), pathType: ImplementationSpecific, backend: {service: {name: api, port: {number: 8080}}}}
                  - {path: "/bad(", pathType: ImplementationSpecific, backend: {service: {name: api, port: {number: 8080}}}}
            """)
        let plain = try ingress("""
            apiVersion: networking.k8s.io/v1
            kind: Ingress
            metadata: {name: plain, namespace: default}
            spec:
              rules:
              - host: a.example.com
                http:
                  paths:
                  - {path: /web, pathType: Prefix, backend: {service: {name: my-service, port: {number: 80}}}}
                  - {path: /exact, pathType: Exact, backend: {service: {name: my-service, port: {number: 80}}}}
            """, created: "2026-02-01T00:00:00Z")
        let (routes, problems) = IngressRoutes.build(ingresses: [minimal, captures, plain], services: Self.services, slices: Self.slices, secrets: [])
        #expect(problems == ["Ingress default/captures: path /bad(: not a regular expression; left out"])
        #expect(routes.servers[0].locations.map(\.match) == [.prefix("/"), .regex("/testpath")])
        #expect(routes.servers[0].locations[1].rewrite.map { [$0.path, $0.target] } == ["/testpath", "/"])
        let host = routes.servers[1].locations
        #expect(host.map(\.match) == [.exact("/exact"), .prefix("/"), .regex("/something(/|$)(.*)"), .regex("/web")])
        #expect(host[2].rewrite?.target == "/$2" && host[3].rewrite == nil)
        let config = NginxConfig(directory: "/d").render(routes)
        #expect(config.contains("""
                    location ~* "^/something(/|$)(.*)" {
                        rewrite "(?i)/something(/|$)(.*)" "/$2" break;
            """), "\(config)")
        #expect(config.contains("location ~* \"^/web\" {"))
        #expect(IngressRoutes.flag("True") == true && IngressRoutes.flag("0") == false && IngressRoutes.flag("yes") == nil)
    }
}
