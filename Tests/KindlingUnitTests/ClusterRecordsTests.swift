import Foundation
import KindlingAddresses
import KindlingAPI
@testable import KindlingDNS
import Testing

/// The cluster zone as the Kubernetes DNS specification defines it.
@Suite struct ClusterRecordsTests {
    static let yaml = """
        apiVersion: v1
        kind: Service
        metadata: {name: web, namespace: dev}
        spec: {clusterIP: 10.96.0.20, selector: {app: web}, ports: [{name: http, port: 80, protocol: TCP}]}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: db, namespace: dev}
        spec: {clusterIP: None, selector: {app: db}, ports: [{name: pg, port: 5432, protocol: TCP}]}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: ext, namespace: dev}
        spec: {type: ExternalName, externalName: db.example.com}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: alias, namespace: dev}
        spec: {type: ExternalName, externalName: web.dev.svc.cluster.local}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: alias2, namespace: dev}
        spec: {type: ExternalName, externalName: alias.dev.svc.cluster.local}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: loop-a, namespace: dev}
        spec: {type: ExternalName, externalName: loop-b.dev.svc.cluster.local}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: loop-b, namespace: dev}
        spec: {type: ExternalName, externalName: loop-a.dev.svc.cluster.local}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: lonely, namespace: dev}
        spec: {clusterIP: None, selector: {app: none}}
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata: {name: db-1, namespace: dev, labels: {kubernetes.io/service-name: db}}
        addressType: IPv4
        ports: [{name: pg, port: 5432, protocol: TCP}]
        endpoints:
        - {addresses: [10.244.1.5], hostname: db-0, conditions: {ready: true}}
        - {addresses: [10.244.2.7], conditions: {ready: true}}
        - {addresses: [10.244.2.9], conditions: {ready: false}}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: curl, namespace: dev}
        spec: {containers: [{name: curl, image: curlimages/curl}]}
        status: {podIP: 10.244.1.9}
        """

    static func records() throws -> ClusterRecords {
        var services: [Service] = [], slices: [EndpointSlice] = [], pods: [Pod] = []
        for object in try Manifest.parse(yaml, source: "fixture") {
            switch object.kind {
            case "Service":
                var service = try JSONDecoder().decode(Service.self, from: object.json)
                service.applyDefaults()
                services.append(service)
            case "EndpointSlice": slices.append(try JSONDecoder().decode(EndpointSlice.self, from: object.json))
            default: pods.append(try JSONDecoder().decode(Pod.self, from: object.json))
            }
        }
        return ClusterRecords(zone: try DNSName("cluster.local"), reverseNetworks: [IPv4CIDR("10.96.0.0/16")!, IPv4CIDR("10.244.0.0/16")!],
                              services: services, slices: slices, pods: pods)
    }

    func ask(_ name: String, _ type: RecordType) throws -> DNSMessage {
        var query = DNSMessage(header: .init(id: 7))
        query.header.recursionDesired = true
        query.questions = [.init(name: try DNSName(name), type: type)]
        return try Self.records().answer(query)
    }

    func addresses(_ message: DNSMessage) -> [String] {
        message.answers.compactMap { if case .a(let ip) = $0.data { "\(ip)" } else { nil } }
    }

    @Test func serviceNamesResolveToClusterIPs() throws {
        let answer = try ask("WEB.dev.svc.cluster.local", .a)
        #expect(answer.header.isResponse && answer.header.authoritative && answer.header.id == 7 && answer.responseCode == .noError)
        #expect(addresses(answer) == ["10.96.0.20"] && answer.answers.first?.ttl == 5)
        #expect(answer.questions.first?.name.description == "WEB.dev.svc.cluster.local.", "the question comes back as asked")
    }

    @Test func headlessServicesResolveToReadyEndpoints() throws {
        #expect(addresses(try ask("db.dev.svc.cluster.local", .a)) == ["10.244.1.5", "10.244.2.7"])
        #expect(addresses(try ask("db-0.db.dev.svc.cluster.local", .a)) == ["10.244.1.5"])
        #expect(addresses(try ask("10-244-2-7.db.dev.svc.cluster.local", .a)) == ["10.244.2.7"])
        #expect(try ask("10-244-2-9.db.dev.svc.cluster.local", .a).responseCode == .nameError, "not ready: not published")
        // A headless service without endpoints exists, with no addresses.
        let lonely = try ask("lonely.dev.svc.cluster.local", .a)
        #expect(lonely.responseCode == .noError && lonely.answers.isEmpty && lonely.authorities.first?.type == .soa)
    }

    @Test func srvRecordsForNamedPorts() throws {
        let clusterIP = try ask("_http._tcp.web.dev.svc.cluster.local", .srv)
        #expect(clusterIP.answers.map(\.data) == [.srv(priority: 0, weight: 100, port: 80, target: try DNSName("web.dev.svc.cluster.local"))])
        #expect(addresses(DNSMessage(header: .init(id: 0)).with(answers: clusterIP.additionals)) == ["10.96.0.20"])
        let headless = try ask("_pg._tcp.db.dev.svc.cluster.local", .srv)
        #expect(Set(headless.answers.compactMap { if case .srv(_, _, let port, let target) = $0.data { "\(target):\(port)" } else { nil } })
                == ["db-0.db.dev.svc.cluster.local.:5432", "10-244-2-7.db.dev.svc.cluster.local.:5432"])
        #expect(headless.additionals.count == 2)
    }

    @Test func externalNameIsACNAME() throws {
        for type in [RecordType.a, .cname, .aaaa] {
            #expect(try ask("ext.dev.svc.cluster.local", type).answers.map(\.data) == [.cname(try DNSName("db.example.com"))])
        }
    }

    /// CoreDNS follows a CNAME into its own zone in the same answer; a chain is followed, a loop is not.
    @Test func cnamesInsideTheZoneAreFollowed() throws {
        let alias = try ask("alias.dev.svc.cluster.local", .a)
        #expect(alias.answers.map(\.data) == [.cname(try DNSName("web.dev.svc.cluster.local")), .a(IPv4Address("10.96.0.20")!)])
        #expect(alias.answers.map(\.name.description) == ["alias.dev.svc.cluster.local.", "web.dev.svc.cluster.local."])
        #expect(addresses(try ask("alias2.dev.svc.cluster.local", .a)) == ["10.96.0.20"])
        #expect(try ask("alias2.dev.svc.cluster.local", .a).answers.count == 3)
        #expect(try ask("alias.dev.svc.cluster.local", .cname).answers.count == 1, "a CNAME question gets the CNAME alone")
        #expect(try ask("alias.dev.svc.cluster.local", .aaaa).answers.count == 1, "the target has no AAAA")
        let loop = try ask("loop-a.dev.svc.cluster.local", .a)
        #expect(loop.responseCode == .noError && loop.answers.count == 2, "loop-a -> loop-b -> (loop-a again: stop)")
    }

    @Test func reverseLookupsAndPods() throws {
        #expect(try ask("20.0.96.10.in-addr.arpa", .ptr).answers.map(\.data) == [.ptr(try DNSName("web.dev.svc.cluster.local"))])
        #expect(try ask("5.1.244.10.in-addr.arpa", .ptr).answers.map(\.data) == [.ptr(try DNSName("db-0.db.dev.svc.cluster.local"))])
        #expect(try ask("9.1.244.10.in-addr.arpa", .ptr).answers.map(\.data) == [.ptr(try DNSName("10-244-1-9.dev.pod.cluster.local"))])
        #expect(addresses(try ask("10-244-1-9.dev.pod.cluster.local", .a)) == ["10.244.1.9"])
        #expect(try ask("10-244-1-9.prod.pod.cluster.local", .a).responseCode == .nameError, "no such pod in that namespace")
        #expect(try ask("1.1.244.10.in-addr.arpa", .ptr).responseCode == .nameError)
        #expect(try ask("1.1.168.192.in-addr.arpa", .ptr).responseCode == .refused, "not a cluster network")
    }

    @Test func negativeAnswersSayWhyAndOutsideNamesAreRefused() throws {
        let missing = try ask("nope.dev.svc.cluster.local", .a)
        #expect(missing.responseCode == .nameError && missing.answers.isEmpty)
        #expect(missing.authorities.map(\.name) == [try DNSName("cluster.local")] && missing.authorities.first?.type == .soa)
        let noData = try ask("web.dev.svc.cluster.local", .aaaa)
        #expect(noData.responseCode == .noError && noData.answers.isEmpty && noData.authorities.first?.type == .soa)
        #expect(try ask("dev.svc.cluster.local", .a).responseCode == .noError, "a namespace's name exists")
        #expect(try ask("cluster.local", .soa).answers.first?.type == .soa)
        let outside = try ask("example.com", .a)
        #expect(outside.responseCode == .refused && !outside.header.authoritative)
    }
}

extension DNSMessage {
    func with(answers: [Record]) -> DNSMessage {
        var copy = self
        copy.answers = answers
        return copy
    }
}

/// The part of CoreDNS's Corefile the cluster DNS reads: `forward`'s upstreams.
@Suite struct CorefileTests {
    @Test func forwardLinesGiveUpstreams() {
        let corefile = """
            .:53 {
                errors
                kubernetes cluster.local in-addr.arpa ip6.arpa {
                   pods insecure
                }
                forward . 172.18.0.2 dns://172.18.0.3:5353 172.18.0.4:53 {   # comment
                   max_concurrent 1000
                }
                cache 30
            }
            """
        let (upstreams, problems) = Corefile.upstreams(corefile)
        #expect(upstreams.map(\.description) == ["172.18.0.2:53", "172.18.0.3:5353", "172.18.0.4:53"])
        #expect(problems.isEmpty)
    }

    @Test func whatCannotBeUsedIsSaid() {
        let (upstreams, problems) = Corefile.upstreams("""
            forward . /etc/resolv.conf
            forward example.org 10.0.0.1
            forward . 8.8.8.8:99999 tls://1.1.1.1 example.com
            forward .
            # forward . 10.0.0.9
            """)
        #expect(upstreams.isEmpty)
        #expect(problems.count == 6, "\(problems)")
        #expect(problems[0].contains("machine's resolver") && problems[1].contains("not example.org"))
        // kind's own Corefile as kindling writes it has no forward line: nothing forwarded.
        #expect(Corefile.upstreams("kubernetes cluster.local\ncache 30\n") == ([], []))
    }
}
