import Foundation
import KindlingAddresses
import KindlingAPI

/// Which Ingresses one controller serves, as ingress-nginx decides: those whose `spec.ingressClassName` names an
/// IngressClass with this controller's `spec.controller`, those annotated `kubernetes.io/ingress.class` with its
/// class name, and, when asked to, those with no class at all.
public struct IngressClassSelection: Sendable, Equatable {
    public static let classAnnotation = "kubernetes.io/ingress.class"

    public var controller: String
    public var annotationClass: String
    public var withoutClass: Bool

    public init(controller: String, annotationClass: String, withoutClass: Bool) {
        self.controller = controller
        self.annotationClass = annotationClass
        self.withoutClass = withoutClass
    }

    public func selects(_ ingress: Ingress, classes: [IngressClass]) -> Bool {
        if let name = ingress.spec.ingressClassName {
            return classes.contains { $0.name == name && $0.spec?.controller == controller }
        }
        if let annotated = ingress.metadata.annotations?[Self.classAnnotation] { return annotated == annotationClass }
        return withoutClass
    }
}

/// What the proxy should do, derived from the cluster: one server per host (and the default server, host ""),
/// each with its locations, the upstreams they send to (the services' ready endpoints, as ingress-nginx balances
/// over pods rather than through the service VIP), and the certificates servers present.
public struct IngressRoutes: Equatable, Sendable {
    public enum Match: Hashable, Sendable, Comparable {
        /// `location = PATH`: Exact, and a Prefix path itself.
        case exact(String)
        /// `location PATH`: a Prefix path's subtree (`/foo/`) and ImplementationSpecific's character prefix.
        case prefix(String)
        /// `location ~* "^PATH"`: every non-Exact path of a host where an Ingress asks for regular expressions
        /// (`use-regex` or `rewrite-target`), as ingress-nginx makes them; nginx tries them in order, longest first.
        case regex(String)

        var isExact: Bool { if case .exact = self { true } else { false } }

        /// nginx's order of evaluation: exact, then prefixes (longest wins whatever the order), then regular
        /// expressions, which ingress-nginx lists longest first as the first that matches wins.
        static func evaluationOrder(_ a: Match, _ b: Match) -> Bool {
            switch (a, b) {
            case (.regex(let x), .regex(let y)): return (x.count, y) > (y.count, x)
            default: return a < b
            }
        }
    }

    public enum Action: Equatable, Sendable {
        case proxy(upstream: String)
        /// The backend's service, port or endpoints are missing: 503, as ingress-nginx answers.
        case unavailable(upstream: String)
        case notFound
    }

    public struct Location: Equatable, Sendable {
        public var match: Match
        public var action: Action
        /// Plain HTTP is redirected to HTTPS (308) when the host has a certificate of its own, unless the
        /// location's Ingress says `nginx.ingress.kubernetes.io/ssl-redirect: "false"`.
        public var redirectToHTTPS: Bool
        /// ingress-nginx's `rewrite-target`: the URI the backend sees.
        public var rewrite: Rewrite?

        public init(match: Match, action: Action, redirectToHTTPS: Bool, rewrite: Rewrite? = nil) {
            self.match = match
            self.action = action
            self.redirectToHTTPS = redirectToHTTPS
            self.rewrite = rewrite
        }
    }

    /// `rewrite "(?i)PATH" TARGET break;`
    public struct Rewrite: Equatable, Sendable {
        public var path: String
        public var target: String
    }

    public struct Server: Equatable, Sendable {
        /// "" for the default server (rules without a host, and every host no rule names).
        public var host: String
        public var locations: [Location]
        /// The key (`namespace/name` of its Secret) of a certificate in `certificates`; nil: the default one.
        public var certificate: String?
    }

    public struct Certificate: Equatable, Sendable {
        /// The private key and certificate chain in PEM, as one file.
        public var pem: Data
        /// `<namespace>_<name>-<hash of pem>.pem` ("_" is in neither name): a renewed Secret is a new file, so the
        /// configuration changes and nginx reloads it.
        public var fileName: String
    }

    public var servers: [Server]
    /// Upstream name -> "ip:port" of every ready endpoint, sorted. Only non-empty upstreams are listed.
    public var upstreams: [String: [String]]
    public var certificates: [String: Certificate]

    public static let sslRedirectAnnotation = "nginx.ingress.kubernetes.io/ssl-redirect"
    public static let rewriteTargetAnnotation = "nginx.ingress.kubernetes.io/rewrite-target"
    public static let useRegexAnnotation = "nginx.ingress.kubernetes.io/use-regex"

    /// The routes of `ingresses` (already selected for this controller). Conflicts go to the oldest Ingress, as in
    /// ingress-nginx. `checkCertificate` says what is wrong with a Secret's PEM (nil: usable); `problems` are
    /// what a user should be told (a missing service, an unusable secret), each naming its Ingress.
    public static func build(ingresses: [Ingress], services: [Service], slices: [EndpointSlice], secrets: [Secret],
                             checkCertificate: @escaping (Data) -> String? = { _ in nil }) -> (routes: IngressRoutes, problems: [String]) {
        var builder = Builder(services: services, slices: slices, secrets: secrets, checkCertificate: checkCertificate)
        let ordered = ingresses.sorted {
            ($0.metadata.creationTimestamp ?? "", $0.namespace, $0.name) < ($1.metadata.creationTimestamp ?? "", $1.namespace, $1.name)
        }
        for ingress in ordered { builder.add(ingress) }
        builder.addDefaultBackends()
        return (builder.finish(), builder.problems)
    }

    /// Kubernetes' Prefix semantics in nginx locations: `/foo` matches `/foo` and `/foo/...` but not `/foobar`;
    /// a trailing slash is ignored, and `/` matches everything.
    static func matches(path: String?, type: String?) -> [Match] {
        let path = path ?? "/"
        switch type {
        case "Exact": return [.exact(path)]
        case "Prefix":
            var trimmed = Substring(path)
            while trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
            return trimmed.isEmpty ? [.prefix("/")] : [.exact(String(trimmed)), .prefix(trimmed + "/")]
        default: return [.prefix(path.isEmpty ? "/" : path)]
        }
    }

    /// The TLS entry for a host: one naming it exactly, else one whose `*.` wildcard covers it.
    static func tlsEntry(for host: String, in entries: [Ingress.TLS]) -> Ingress.TLS? {
        entries.first { ($0.hosts ?? []).contains(host) } ?? entries.first { ($0.hosts ?? []).contains { covers($0, host) } }
    }

    /// The ssl-redirect annotation read as Go's strconv.ParseBool reads it (ingress-nginx's default: true).
    static func sslRedirect(_ ingress: Ingress) -> Bool {
        flag(ingress.metadata.annotations?[sslRedirectAnnotation]) ?? true
    }

    /// What makes a path unusable in nginx's configuration although the API took it: whitespace and control
    /// characters (the API validates Exact and Prefix paths' form, not their characters).
    static func pathProblem(_ path: String?) -> String? {
        guard let path else { return nil }
        return path.unicodeScalars.contains { $0.properties.isWhitespace || $0.value < 0x20 || $0.value == 0x7f }
            ? "whitespace and control characters cannot be routed" : nil
    }

    /// An annotation's boolean as Go's strconv.ParseBool reads it; nil when it is none.
    static func flag(_ value: String?) -> Bool? {
        switch value {
        case "1", "t", "T", "true", "TRUE", "True": true
        case "0", "f", "F", "false", "FALSE", "False": false
        default: nil
        }
    }

    /// Whether a path is a regular expression nginx (PCRE) will take; checked with ICU's, which agrees on what
    /// Ingress paths use (groups, classes, quantifiers, anchors).
    static func regexProblem(_ path: String) -> String? {
        (try? NSRegularExpression(pattern: path)) == nil ? "not a regular expression" : nil
    }

    /// A path as a regular expression that matches it literally.
    static func literal(_ path: String) -> String {
        String(path.flatMap { #"\^$.|?*+()[]{}"#.contains($0) ? [Character("\\"), $0] : [$0] })
    }

    /// Whether a TLS entry's host covers a rule's host: equal, or a `*.` wildcard for exactly one label.
    static func covers(_ tlsHost: String, _ host: String) -> Bool {
        if tlsHost == host { return true }
        guard tlsHost.hasPrefix("*."), let dot = host.firstIndex(of: ".") else { return false }
        return host[dot...] == tlsHost.dropFirst()
    }

    struct Builder {
        let services: [String: Service]
        let slices: [String: [EndpointSlice]]
        let secrets: [String: Secret]
        let checkCertificate: (Data) -> String?
        var servers: [String: Server] = ["": Server(host: "", locations: [], certificate: nil)]
        var hostOrder: [String] = []
        var upstreams: [String: [String]] = [:]
        var upstreamNames: [String: String] = [:]
        var takenUpstreamNames: Set<String> = []
        var certificates: [String: Certificate] = [:]
        /// Host and exact match of locations a Prefix path implied (an Exact path may take them over).
        var impliedExact: Set<String> = []
        /// Hosts where an Ingress asked for regular expressions, and the path each plain prefix location came from,
        /// to make them regular expressions there too.
        var regexHosts: Set<String> = []
        var prefixSources: [String: String] = [:]
        /// Ingresses with a default backend, oldest first.
        var defaulted: [Ingress] = []
        var problems: [String] = []

        init(services: [Service], slices: [EndpointSlice], secrets: [Secret], checkCertificate: @escaping (Data) -> String?) {
            self.services = Dictionary(services.map { ("\($0.namespace)/\($0.name)", $0) }, uniquingKeysWith: { a, _ in a })
            self.slices = Dictionary(grouping: slices) { "\($0.namespace)/\($0.metadata.labels?[EndpointSlice.serviceNameLabel] ?? "")" }
            self.secrets = Dictionary(secrets.map { ("\($0.namespace)/\($0.name)", $0) }, uniquingKeysWith: { a, _ in a })
            self.checkCertificate = checkCertificate
        }

        mutating func add(_ ingress: Ingress) {
            let id = "\(ingress.namespace)/\(ingress.name)"
            let redirect = IngressRoutes.sslRedirect(ingress)
            let rewrite = ingress.metadata.annotations?[IngressRoutes.rewriteTargetAnnotation]
            let regex = rewrite != nil || IngressRoutes.flag(ingress.metadata.annotations?[IngressRoutes.useRegexAnnotation]) == true
            for rule in ingress.spec.rules ?? [] {
                let host = rule.host ?? ""
                ensureServer(host)
                if !host.isEmpty, servers[host]?.certificate == nil, let entry = IngressRoutes.tlsEntry(for: host, in: ingress.spec.tls ?? []) {
                    let key = certificate(entry.secretName, namespace: ingress.namespace, ingress: id)
                    servers[host]?.certificate = key
                }
                for path in rule.http?.paths ?? [] {
                    if let problem = IngressRoutes.pathProblem(path.path) {
                        report("Ingress \(id): path \(path.path ?? ""): \(problem); left out")
                        continue
                    }
                    if regex, let problem = IngressRoutes.regexProblem(path.path ?? "/") {
                        report("Ingress \(id): path \(path.path ?? "/"): \(problem); left out")
                        continue
                    }
                    let action = self.action(path.backend, namespace: ingress.namespace, ingress: id)
                    if regex {
                        let value = path.path ?? "/"
                        regexHosts.insert(host)
                        let match: Match = path.pathType == "Exact" ? .exact(value) : .regex(value)
                        addLocation(Location(match: match, action: action, redirectToHTTPS: redirect, rewrite: rewrite.map { Rewrite(path: value, target: $0) }), host: host)
                        continue
                    }
                    for match in IngressRoutes.matches(path: path.path, type: path.pathType) {
                        let implied = path.pathType == "Prefix" && match.isExact
                        addLocation(Location(match: match, action: action, redirectToHTTPS: redirect), host: host, implied: implied)
                        if !match.isExact { prefixSources["\(host) \(match)"] = path.path ?? "/" }
                    }
                }
            }
            if ingress.spec.defaultBackend != nil { defaulted.append(ingress) }
        }

        /// After every rule: an Ingress's default backend takes its hosts' requests that no path of any Ingress
        /// matches, and, for an Ingress without rules, every host's that no rule names (the default server), as in
        /// ingress-nginx. The oldest Ingress's wins.
        mutating func addDefaultBackends() {
            for ingress in defaulted {
                guard let backend = ingress.spec.defaultBackend else { continue }
                let id = "\(ingress.namespace)/\(ingress.name)"
                let action = self.action(backend, namespace: ingress.namespace, ingress: id)
                let rules = ingress.spec.rules ?? []
                let hosts = rules.isEmpty ? [""] : Set(rules.map { $0.host ?? "" }).sorted()
                for host in hosts {
                    addLocation(Location(match: .prefix("/"), action: action, redirectToHTTPS: IngressRoutes.sslRedirect(ingress)), host: host)
                }
            }
        }

        /// Each problem once, in the order found.
        mutating func report(_ problem: String) {
            if !problems.contains(problem) { problems.append(problem) }
        }

        mutating func ensureServer(_ host: String) {
            guard servers[host] == nil else { return }
            servers[host] = Server(host: host, locations: [], certificate: nil)
            hostOrder.append(host)
        }

        /// The first location for a match stays (the oldest Ingress's), except that an Exact path beats the exact
        /// match a Prefix path implies, as Kubernetes gives Exact precedence over Prefix for equal paths.
        mutating func addLocation(_ location: Location, host: String, implied: Bool = false) {
            guard let index = servers[host]?.locations.firstIndex(where: { $0.match == location.match }) else {
                servers[host]?.locations.append(location)
                if implied { impliedExact.insert("\(host) \(location.match)") }
                return
            }
            guard !implied, impliedExact.remove("\(host) \(location.match)") != nil else { return }
            servers[host]?.locations[index] = location
        }

        mutating func certificate(_ secretName: String?, namespace: String, ingress: String) -> String? {
            guard let secretName else { return nil }
            let key = "\(namespace)/\(secretName)"
            if certificates[key] != nil { return key }
            guard let secret = secrets[key] else {
                report("Ingress \(ingress): secret \(key) not found; using the default certificate")
                return nil
            }
            let data = secret.decodedData
            guard let cert = data["tls.crt"], let keyPEM = data["tls.key"] else {
                report("Ingress \(ingress): secret \(key) has no tls.crt and tls.key; using the default certificate")
                return nil
            }
            var pem = keyPEM
            if pem.last != UInt8(ascii: "\n") { pem.append(UInt8(ascii: "\n")) }
            pem.append(cert)
            if let problem = checkCertificate(pem) {
                report("Ingress \(ingress): secret \(key): \(problem); using the default certificate")
                return nil
            }
            let hash = String(FNV1a.hash32(pem), radix: 16)
            certificates[key] = Certificate(pem: pem, fileName: "\(namespace)_\(secretName)-\(hash).pem")
            return key
        }

        /// Where a backend sends requests: its service port's ready endpoints.
        mutating func action(_ backend: Ingress.Backend, namespace: String, ingress: String) -> Action {
            guard let reference = backend.service else {
                report("Ingress \(ingress): resource backends are not supported")
                return .notFound
            }
            let port = reference.port?.number.map(String.init) ?? reference.port?.name ?? ""
            let upstream = upstreamName(namespace: namespace, service: reference.name, port: port)
            guard let service = services["\(namespace)/\(reference.name)"] else {
                report("Ingress \(ingress): service \(namespace)/\(reference.name) not found")
                return .unavailable(upstream: upstream)
            }
            let servicePort = service.spec.ports?.first { candidate in
                guard (candidate.protocol ?? "TCP") == "TCP" else { return false }
                if let number = reference.port?.number { return candidate.port == number }
                return candidate.name == reference.port?.name
            }
            guard let servicePort else {
                report("Ingress \(ingress): service \(namespace)/\(reference.name) has no port \(port)")
                return .unavailable(upstream: upstream)
            }
            if upstreams[upstream] == nil {
                let portName = servicePort.name ?? ""
                var servers = Set<String>()
                for slice in slices["\(namespace)/\(reference.name)"] ?? [] {
                    guard let target = slice.ports?.first(where: { ($0.name ?? "") == portName && ($0.protocol ?? "TCP") == "TCP" })?.port else { continue }
                    for endpoint in slice.endpoints ?? [] where endpoint.conditions?.ready != false {
                        for address in endpoint.addresses { servers.insert("\(address):\(target)") }
                    }
                }
                upstreams[upstream] = servers.sorted()
            }
            return upstreams[upstream]!.isEmpty ? .unavailable(upstream: upstream) : .proxy(upstream: upstream)
        }

        /// ingress-nginx's `<namespace>-<service>-<port>`, made unique when two backends would share one.
        mutating func upstreamName(namespace: String, service: String, port: String) -> String {
            let key = "\(namespace)/\(service)/\(port)"
            if let name = upstreamNames[key] { return name }
            var name = "\(namespace)-\(service)-\(port)"
            var suffix = 2
            while takenUpstreamNames.contains(name) { name = "\(namespace)-\(service)-\(port)-\(suffix)"; suffix += 1 }
            upstreamNames[key] = name
            takenUpstreamNames.insert(name)
            return name
        }

        /// ingress-nginx on a host where one Ingress uses regular expressions: every other path there becomes one
        /// too (`^PATH`, so a Prefix path loses its per-element meaning, as there), else a shorter regular expression
        /// would beat a longer plain prefix. Unlike there, such a path is escaped, so it still means itself (and
        /// `(` cannot break the configuration). The catch-all `/` stays the plain fallback.
        func withRegularExpressions(_ server: Server) -> Server {
            var server = server
            var converted: [Location] = []
            for var location in server.locations {
                if case .prefix(let path) = location.match, path != "/", let source = prefixSources["\(server.host) \(location.match)"] {
                    location.match = .regex(IngressRoutes.literal(source))
                } else if location.match.isExact, impliedExact.contains("\(server.host) \(location.match)") {
                    continue
                }
                if !converted.contains(where: { $0.match == location.match }) { converted.append(location) }
            }
            server.locations = converted
            return server
        }

        func finish() -> IngressRoutes {
            let ordered = ([""] + hostOrder.sorted()).compactMap { servers[$0] }.map { server -> Server in
                var server = regexHosts.contains(server.host) ? withRegularExpressions(server) : server
                if !server.locations.contains(where: { $0.match == .prefix("/") }) {
                    server.locations.append(Location(match: .prefix("/"), action: .notFound, redirectToHTTPS: true))
                }
                if server.certificate == nil {
                    for index in server.locations.indices { server.locations[index].redirectToHTTPS = false }
                }
                server.locations.sort { Match.evaluationOrder($0.match, $1.match) }
                return server
            }
            return IngressRoutes(servers: ordered, upstreams: upstreams.filter { !$0.value.isEmpty }, certificates: certificates)
        }
    }
}
