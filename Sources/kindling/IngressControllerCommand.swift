import ArgumentParser
import Foundation
import KindlingAPI
import KindlingClient
import KindlingCluster
import KindlingIngress
import KindlingReconcile
import Logging

/// `kindling ingress-controller`: the ingress controller, run by the pods of Deployment
/// `ingress-nginx/ingress-nginx-controller` (the catalog's ingress-nginx image). Watches Ingresses, IngressClasses,
/// Services, EndpointSlices and Secrets, keeps Debian's nginx configured from them, and publishes its Service's
/// address in the Ingresses' status.
struct IngressControllerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingress-controller",
        abstract: "The ingress controller (run by the ingress-nginx-controller pods in ingress-nginx).",
        discussion: "Serves the Ingresses of the IngressClasses whose spec.controller is --controller-class (and those annotated kubernetes.io/ingress.class: --ingress-class) with nginx, as ingress-nginx does: hosts and paths (Exact, Prefix, ImplementationSpecific as a plain prefix), defaultBackend, backends by service port number or name balanced over the service's ready endpoints, TLS from kubernetes.io/tls Secrets (a self-signed certificate otherwise; plain HTTP to a TLS host is redirected unless nginx.ingress.kubernetes.io/ssl-redirect is \"false\"). Every change is a new nginx configuration, tested and then loaded by a reload that drops no connection. The addresses of --publish-service go into each served Ingress's status.loadBalancer.",
        shouldDisplay: false
    )

    @OptionGroup var cluster: ClusterOption

    @Option(help: "The IngressClass controller value this controller serves.")
    var controllerClass = "k8s.io/ingress-nginx"

    @Option(help: "The class name served in the kubernetes.io/ingress.class annotation.")
    var ingressClass = "kindling"

    @Option(help: "Also serve Ingresses that name no class (true or false).")
    var watchIngressWithoutClass = false

    @Option(help: "The Service (NAMESPACE/NAME) whose addresses go into the Ingresses' status.")
    var publishService = "ingress-nginx/ingress-nginx-controller"

    @Option(help: "Where nginx's configuration, certificates and temporary files are written.")
    var configDirectory = "/etc/ingress-controller"

    @Option(help: "The HTTP port.")
    var httpPort = 80

    @Option(help: "The HTTPS port.")
    var httpsPort = 443

    @Option(help: "The port of /healthz.")
    var healthzPort = 10254

    func run() async throws {
        try await reportingErrors("ingress-controller") {
            // openssl may exit before reading a PEM it refuses: an error it reports, not a signal.
            signal(SIGPIPE, SIG_IGN)
            let published = try namespacedName(publishService, option: "publish-service")
            let nginxConfig = NginxConfig(directory: configDirectory, ports: .init(http: httpPort, https: httpsPort, health: healthzPort))
            for directory in ["", "/certificates", "/client-body", "/proxy"] {
                try FileManager.default.createDirectory(atPath: configDirectory + directory, withIntermediateDirectories: true)
            }
            try Certificates.makeDefault(at: nginxConfig.defaultCertificatePath)
            let nginx = NginxProcess(configPath: configDirectory + "/nginx.conf")
            let selection = IngressClassSelection(controller: controllerClass, annotationClass: ingressClass, withoutClass: watchIngressWithoutClass)
            let client = APIClient(socketPath: ClusterProcesses(cluster: cluster.name).socketPath)
            let controller = IngressController(sync: IngressSync(config: nginxConfig, nginx: nginx), selection: selection,
                                               published: published, client: client)
            // A burst of changes (endpoints come in dozens) becomes one new configuration, not one each, and at
            // most five a second (each reload starts a new set of workers). Every 10 s the configuration on disk
            // is compared with the one applied.
            let loop = ReconcileLoop("ingress", sources: [.informer(Informer<Ingress>(client: client)), .informer(Informer<IngressClass>(client: client)),
                                                          .informer(Informer<Service>(client: client)), .informer(Informer<EndpointSlice>(client: client)),
                                                          .informer(Informer<Secret>(client: client))],
                                     repair: .every(.seconds(10)), spacing: .milliseconds(200), logger: Logger(label: "kindling.ingress"))
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await loop.run { await controller.reconcile($0) } }
                group.addTask {
                    // nginx runs once the first configuration is applied; the controller lives and dies with it.
                    while !Task.isCancelled {
                        let status = await nginx.wait()
                        if status != -1 { throw CLIError("nginx exited with status \(status)") }
                        try await Task.sleep(for: .milliseconds(200))
                    }
                }
                try await group.next()
                nginx.stop()
                group.cancelAll()
            }
        }
    }
}

/// What the controller does with each snapshot: configure nginx, announce what it synced, publish the address.
actor IngressController {
    var sync: IngressSync
    let selection: IngressClassSelection
    let published: (namespace: String, name: String)
    let client: APIClient
    /// The generation of each Ingress last announced with ingress-nginx's Sync event.
    var announced: [String: Int64] = [:]

    init(sync: IngressSync, selection: IngressClassSelection, published: (namespace: String, name: String), client: APIClient) {
        self.sync = sync
        self.selection = selection
        self.published = published
        self.client = client
    }

    func reconcile(_ snapshot: ReconcileSnapshot) async {
        let ingresses = Array(snapshot.objects(Ingress.self).values), classes = Array(snapshot.objects(IngressClass.self).values)
        let services = Array(snapshot.objects(Service.self).values)
        let served = ingresses.filter { selection.selects($0, classes: classes) }
        if sync.apply(served, services: services, slices: Array(snapshot.objects(EndpointSlice.self).values),
                      secrets: Array(snapshot.objects(Secret.self).values), full: snapshot.full) {
            for ingress in served where announced[Informer.key(ingress)] != ingress.metadata.generation {
                announced[Informer.key(ingress)] = ingress.metadata.generation
                await client.record(Event.report(about: ingress, reason: "Sync", message: "Scheduled for sync",
                                                 source: .init(component: "nginx-ingress-controller"), now: Timestamp.string()))
            }
        }
        let service = services.first { $0.namespace == published.namespace && $0.name == published.name }
        await IngressSync.publish(IngressSync.addresses(of: service), ingresses: ingresses, served: served, client: client)
    }
}

/// The controller's state between changes: the configuration and certificates nginx runs with.
struct IngressSync {
    let config: NginxConfig
    let nginx: NginxProcess
    var applied: String?
    var reported: [String] = []
    /// Secret PEMs already checked with openssl, by content.
    var checked: [Data: String?] = [:]

    init(config: NginxConfig, nginx: NginxProcess) {
        self.config = config
        self.nginx = nginx
    }

    /// Whether nginx now runs the configuration of these objects; `full`: written again unless the file on disk
    /// is the one applied.
    mutating func apply(_ ingresses: [Ingress], services: [Service], slices: [EndpointSlice], secrets: [Secret], full: Bool = false) -> Bool {
        if full, let applied, (try? String(contentsOfFile: nginx.configPath, encoding: .utf8)) != applied { self.applied = nil }
        var checked = self.checked
        var seen = Set<Data>()
        let (routes, found) = IngressRoutes.build(ingresses: ingresses, services: services, slices: slices, secrets: secrets) { pem in
            seen.insert(pem)
            if let known = checked[pem] { return known }
            let problem = Certificates.problem(pem)
            checked[pem] = problem
            return problem
        }
        self.checked = checked.filter { seen.contains($0.key) }
        var problems = found
        let text = config.render(routes)
        if text != applied {
            do {
                for certificate in routes.certificates.values where !FileManager.default.fileExists(atPath: config.certificatePath(certificate)) {
                    try Certificates.write(certificate.pem, to: config.certificatePath(certificate))
                }
                try nginx.apply(text)
                printError("configuration \(applied == nil ? "loaded" : "reloaded"): \(ingresses.count) ingresses, \(routes.servers.count - 1) hosts, \(routes.upstreams.count) upstreams")
                applied = text
                // Certificates no configuration names any more (old workers hold theirs in memory).
                let current = Set(routes.certificates.values.map(\.fileName)).union([NginxConfig.defaultCertificateName])
                for file in (try? FileManager.default.contentsOfDirectory(atPath: config.certificateDirectory)) ?? [] where !current.contains(file) {
                    unlink("\(config.certificateDirectory)/\(file)")
                }
            } catch {
                problems.append("configuration not applied, nginx runs the previous one: \(error)")
            }
        }
        if problems != reported {
            for problem in problems where !reported.contains(problem) { printError(problem) }
            reported = problems
        }
        return text == applied
    }

    /// What goes into `status.loadBalancer.ingress`: the published Service's load-balancer addresses, else its
    /// external IPs.
    static func addresses(of service: Service?) -> [Ingress.Status.LoadBalancer.Entry] {
        guard let service else { return [] }
        let balanced = (service.status?.loadBalancer?.ingress ?? []).map { Ingress.Status.LoadBalancer.Entry(ip: $0.ip, hostname: $0.hostname) }
        return balanced.isEmpty ? (service.spec.externalIPs ?? []).map { .init(ip: $0, hostname: nil) } : balanced
    }

    /// Served Ingresses get the addresses; Ingresses no longer served lose them.
    static func publish(_ addresses: [Ingress.Status.LoadBalancer.Entry], ingresses: [Ingress], served: [Ingress], client: APIClient) async {
        let servedKeys = Set(served.map(Informer.key))
        for ingress in ingresses {
            let current = ingress.status?.loadBalancer?.ingress ?? []
            let isServed = servedKeys.contains(Informer.key(ingress))
            let wanted = isServed ? addresses : (current == addresses ? [] : current)
            guard wanted != current else { continue }
            var updated = ingress
            updated.status = .init(loadBalancer: .init(ingress: wanted.isEmpty ? nil : wanted))
            do { _ = try await client.updateStatus(updated) } catch { printError("status of ingress \(ingress.namespace)/\(ingress.name): \(error)") }
        }
    }
}
