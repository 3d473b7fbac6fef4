import Foundation
import KindlingAPI
import KindlingPrinters
import KindlingServer
import KindlingStore
import Testing

/// Ingress and IngressClass as kube-apiserver keeps them: seed 004's manifest (with the port its slide cuts
/// off), validation in Kubernetes' words, kubectl's columns.
@Suite struct IngressTests {
    let api = try! APITests()

    static let seed004 = #"{"apiVersion":"networking.k8s.io/v1","kind":"Ingress","metadata":{"name":"my-ingress"},"spec":{"rules":[{"host":"myapp.example.com","http":{"paths":[{"path":"/","pathType":"Prefix","backend":{"service":{"name":"my-service","port":{"number":80}}}}]}}]}}"#

    @Test func seed004IsStoredAndPrintedAsKubectlPrintsIt() async throws {
        let (created, _) = await api.call("POST", "/apis/networking.k8s.io/v1/namespaces/dev/ingresses", Self.seed004)
        #expect(created == 201)
        let (_, object) = await api.call("GET", "/apis/networking.k8s.io/v1/namespaces/dev/ingresses/my-ingress")
        let ingress = try KubeJSON.value(Ingress.self, from: object)
        let table = Printing.table([ingress], wide: false, withNamespace: false, now: 0, parseTime: { _ in 0 })
        #expect(table.headers == ["NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"])
        #expect(Array(table.rows[0].prefix(5)) == ["my-ingress", "<none>", "myapp.example.com", "", "80"])
    }

    @Test func badIngressesAreRefusedInKubernetesWords() async throws {
        // The seed's slide as written: `port:` with nothing under it.
        let cut = Self.seed004.replacingOccurrences(of: #","port":{"number":80}"#, with: #","port":null"#)
        let (refused, status) = await api.call("POST", "/apis/networking.k8s.io/v1/namespaces/dev/ingresses", cut)
        #expect(refused == 422)
        #expect((status["message"] as? String)?.contains(#"spec.rules[0].http.paths[0].backend.service.port: Invalid value: "": port name or number is required"#) == true, "\(status)")
        let untyped = Self.seed004.replacingOccurrences(of: #""pathType":"Prefix","#, with: "")
        let (_, why) = await api.call("POST", "/apis/networking.k8s.io/v1/namespaces/dev/ingresses", untyped)
        #expect((why["message"] as? String)?.contains("spec.rules[0].http.paths[0].pathType: Required value: pathType must be specified") == true, "\(why)")
        let address = Self.seed004.replacingOccurrences(of: "myapp.example.com", with: "10.0.0.1")
        let (_, ip) = await api.call("POST", "/apis/networking.k8s.io/v1/namespaces/dev/ingresses", address)
        #expect((ip["message"] as? String)?.contains(#"spec.rules[0].host: Invalid value: "10.0.0.1": must be a DNS name, not an IP address"#) == true, "\(ip)")
        let relative = Self.seed004.replacingOccurrences(of: #""path":"/""#, with: #""path":"api""#)
        let (_, rel) = await api.call("POST", "/apis/networking.k8s.io/v1/namespaces/dev/ingresses", relative)
        #expect((rel["message"] as? String)?.contains(#"spec.rules[0].http.paths[0].path: Invalid value: "api": must be an absolute path"#) == true, "\(rel)")
        #expect(await api.call("GET", "/apis/networking.k8s.io/v1/namespaces/dev/ingresses/my-ingress").0 == 404)
    }

    @Test func ingressClassesNeedAControllerThatNeverChanges() async throws {
        let body = #"{"apiVersion":"networking.k8s.io/v1","kind":"IngressClass","metadata":{"name":"nginx"},"spec":{"controller":"k8s.io/ingress-nginx"}}"#
        #expect(await api.call("POST", "/apis/networking.k8s.io/v1/ingressclasses", body).0 == 201)
        let changed = body.replacingOccurrences(of: "k8s.io/ingress-nginx", with: "example.com/other")
        let (code, status) = await api.call("PUT", "/apis/networking.k8s.io/v1/ingressclasses/nginx", changed)
        #expect(code == 422 && (status["message"] as? String)?.contains("spec.controller: Invalid value: \"example.com/other\": field is immutable") == true)
    }

    /// kube-apiserver's DefaultIngressClass admission: a new Ingress naming no class gets the newest default one.
    @Test func newIngressesWithoutAClassGetTheDefaultClass() throws {
        let registry = Registry(store: try Store(path: nil), admission: AdmissionChain([DefaultIngressClassAdmission()]))
        _ = try registry.create(Namespace(name: "dev"))
        func ingress(_ name: String, _ meta: (inout ObjectMeta) -> Void = { _ in }) throws -> Ingress {
            var object = try KubeJSON.decoder.decode(Ingress.self, from: Data(Self.seed004.utf8))
            object.metadata.name = name
            object.metadata.namespace = "dev"
            meta(&object.metadata)
            return try registry.create(object)
        }
        #expect(try ingress("before").spec.ingressClassName == nil, "no default class yet")
        for name in ["z-old", "b-new", "c-not-default"] {
            let annotation = name == "c-not-default" ? "" : #","annotations":{"ingressclass.kubernetes.io/is-default-class":"true"}"#
            let json = #"{"metadata":{"name":"\#(name)"\#(annotation)},"spec":{"controller":"k8s.io/ingress-nginx"}}"#
            _ = try registry.create(try KubeJSON.decoder.decode(IngressClass.self, from: Data(json.utf8)))
            // Creation timestamps have seconds: the newer class (first by name only) is made a second later.
            if name == "z-old" { Thread.sleep(forTimeInterval: 1.05) }
        }
        #expect(try ingress("defaulted").spec.ingressClassName == "b-new")
        #expect(try ingress("annotated") { $0.annotations = ["kubernetes.io/ingress.class": "other"] }.spec.ingressClassName == nil)
        // Only on create: an update that removes the class keeps it removed.
        var updated = try registry.get(Ingress.self, namespace: "dev", name: "defaulted")
        updated.spec.ingressClassName = nil
        #expect(try registry.update(updated, namespace: "dev", name: "defaulted").spec.ingressClassName == nil)
    }
}
