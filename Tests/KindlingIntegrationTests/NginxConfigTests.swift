import Foundation
import KindlingAPI
import KindlingIngress
import Testing

/// What the ingress controller renders, as nginx itself judges it (`nginx -t`): hosts as long as DNS allows,
/// wildcards, paths with nginx's own punctuation, overlapping path types, certificates of Secrets whose names
/// would collide as files, backends with and without endpoints. No cluster: routes from objects, nginx on files.
@Suite(.enabled(if: isRoot, "needs root: nginx -t"))
struct NginxConfigTests {
    @Test func nginxAcceptsWhatTheControllerRenders() throws {
        let scratch = NSTemporaryDirectory() + "kt-nginx-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: scratch + "/certificates", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let config = NginxConfig(directory: scratch)
        try Certificates.makeDefault(at: config.defaultCertificatePath)

        // Two Secrets whose `namespace-name` would be the same file, each a real key pair.
        var secrets: [Secret] = []
        for (namespace, name, host) in [("team-a", "tls", "a.example.com"), ("team", "a-tls", "b.example.com")] {
            let made = try sh(["openssl", "req", "-x509", "-nodes", "-days", "1", "-newkey", "rsa:2048", "-keyout", "\(scratch)/k.pem",
                               "-out", "\(scratch)/c.pem", "-subj", "/CN=\(host)"])
            try #require(made.status == 0, "\(made.output)")
            let data = ["tls.crt": try Data(contentsOf: URL(fileURLWithPath: "\(scratch)/c.pem")).base64EncodedString(),
                        "tls.key": try Data(contentsOf: URL(fileURLWithPath: "\(scratch)/k.pem")).base64EncodedString()]
            let json = try JSONSerialization.data(withJSONObject: ["metadata": ["name": name, "namespace": namespace], "type": "kubernetes.io/tls", "data": data])
            secrets.append(try KubeJSON.decoder.decode(Secret.self, from: json))
        }
        let longHost = [String](repeating: String(repeating: "l", count: 63), count: 3).joined(separator: ".") + ".example.com"
        func ingress(_ namespace: String, _ host: String, tls: String) throws -> Ingress {
            try KubeJSON.decoder.decode(Ingress.self, from: Data("""
                {"metadata": {"name": "i", "namespace": "\(namespace)"}, "spec": {
                  "defaultBackend": {"service": {"name": "web", "port": {"number": 80}}},
                  "tls": [{"hosts": ["\(host)"], "secretName": "\(tls)"}],
                  "rules": [{"host": "\(host)", "http": {"paths": [
                    {"path": "/a{b};\\"c\\"", "pathType": "ImplementationSpecific", "backend": {"service": {"name": "web", "port": {"number": 80}}}},
                    {"path": "/api", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"name": "http"}}}},
                    {"path": "/api", "pathType": "Exact", "backend": {"service": {"name": "gone", "port": {"number": 80}}}}]}},
                    {"host": "*.wild.example.com", "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}},
                    {"host": "\(longHost)", "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]}}
                """.utf8))
        }
        let service = try KubeJSON.decoder.decode(Service.self, from: Data(#"{"metadata": {"name": "web", "namespace": "team"}, "spec": {"ports": [{"name": "http", "port": 80}]}}"#.utf8))
        let slice = try KubeJSON.decoder.decode(EndpointSlice.self, from: Data("""
            {"metadata": {"name": "web-x", "namespace": "team", "labels": {"kubernetes.io/service-name": "web"}}, "addressType": "IPv4",
             "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}], "endpoints": [{"addresses": ["10.244.1.9"]}]}
            """.utf8))
        // Regular expressions on one of the hosts: its other paths become escaped ones.
        let rewriting = try KubeJSON.decoder.decode(Ingress.self, from: Data("""
            {"metadata": {"name": "r", "namespace": "team", "annotations": {"nginx.ingress.kubernetes.io/rewrite-target": "/$2"}}, "spec": {
              "rules": [{"host": "b.example.com", "http": {"paths": [
                {"path": "/something(/|$)(.*)", "pathType": "ImplementationSpecific", "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]}}
            """.utf8))
        let (routes, problems) = IngressRoutes.build(ingresses: [try ingress("team-a", "a.example.com", tls: "tls"), try ingress("team", "b.example.com", tls: "a-tls"), rewriting],
                                                     services: [service], slices: [slice], secrets: secrets, checkCertificate: Certificates.problem)
        #expect(problems == ["Ingress team/i: service team/gone not found", "Ingress team-a/i: service team-a/web not found",
                             "Ingress team-a/i: service team-a/gone not found"], "\(problems)")
        #expect(Set(routes.certificates.values.map(\.fileName)).count == 2)
        for certificate in routes.certificates.values { try Certificates.write(certificate.pem, to: config.certificatePath(certificate)) }
        let text = config.render(routes)
        try text.write(toFile: scratch + "/nginx.conf", atomically: true, encoding: .utf8)
        #expect(text.contains(#"location ~* "^/a\\{b\\};\"c\"" {"#) && text.contains(#"rewrite "(?i)/something(/|$)(.*)" "/$2" break;"#), "\(text)")
        let tested = try sh(["/usr/sbin/nginx", "-t", "-c", scratch + "/nginx.conf"])
        #expect(tested.status == 0, "\(tested.output)\n\(text)")

        // A key that is not its certificate's is caught before nginx sees it.
        var swapped = secrets[0]
        swapped.data?["tls.key"] = secrets[1].data?["tls.key"]
        #expect(Certificates.problem(Data("not a pem".utf8)) == "tls.crt holds no PEM certificate")
        let (mismatched, why) = IngressRoutes.build(ingresses: [try ingress("team-a", "a.example.com", tls: "tls")], services: [], slices: [],
                                                    secrets: [swapped], checkCertificate: Certificates.problem)
        #expect(mismatched.certificates.isEmpty)
        #expect(why.contains("Ingress team-a/i: secret team-a/tls: tls.key does not match the certificate in tls.crt; using the default certificate"), "\(why)")
    }
}
