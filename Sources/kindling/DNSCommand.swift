import ArgumentParser
import Foundation
import KindlingAPI
import KindlingClient
import KindlingCluster
import KindlingDNS
import KindlingReconcile
import Logging

/// `kindling dns`: the cluster DNS server, run as the pods of Deployment `kube-system/coredns` (the catalog's
/// CoreDNS image) behind Service `kube-dns`. Watches Services, EndpointSlices and Pods and answers from them.
struct DNSCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dns",
        abstract: "The cluster DNS server (run by the coredns pods in kube-system).",
        discussion: "Answers for the cluster domain as the Kubernetes DNS specification defines it, on UDP and TCP. Other names go to the upstreams of the `forward . ADDRESS[:PORT]...` line in the Corefile of --config-map (key Corefile), as CoreDNS's forward plugin does; with none (the default: a kindling cluster has no outside network) they are refused at once. Serves CoreDNS's metrics (coredns_dns_requests_total, coredns_dns_responses_total, coredns_dns_request_duration_seconds) on --metrics-port.",
        shouldDisplay: false
    )

    @OptionGroup var cluster: ClusterOption

    @Option(help: "The cluster domain.")
    var domain = ClusterConfig.clusterDomain

    @Option(help: "The address to listen on (default: every address of the namespace).")
    var address = "0.0.0.0"

    @Option(help: "The port for UDP and TCP.")
    var port = 53

    @Option(help: "The ConfigMap (NAMESPACE/NAME) whose Corefile's forward line gives the upstreams.")
    var configMap = "kube-system/coredns"

    @Option(help: "The port for Prometheus metrics (CoreDNS's names) and /healthz.")
    var metricsPort = 9153

    func run() async throws {
        try await reportingErrors("dns") {
            let (config, _) = try loadCluster(cluster.name)
            let metrics = MetricsExport.bootstrap()
            let zoneName = try DNSName(domain)
            let reverse = [config.serviceSubnet, config.podSubnet]
            let client = APIClient(socketPath: ClusterProcesses(cluster: cluster.name).socketPath)
            let forwarder = DNSForwarder()
            let (mapNamespace, mapName) = try namespacedName(configMap, option: "config-map")
            let zone = DNSServer.Zone(ClusterRecords(zone: zoneName, reverseNetworks: reverse, services: [], slices: [], pods: []))
            let (ready, readied) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
            let logger = Logger(label: "kindling.dns")
            // A burst of changes (pod statuses come in dozens) becomes one rebuild of the zone, not one each.
            let records = ReconcileLoop("dns", sources: [.informer(Informer<Service>(client: client)), .informer(Informer<EndpointSlice>(client: client)),
                                                         .informer(Informer<Pod>(client: client))], repair: .none, logger: logger)
            let corefile = ReconcileLoop("corefile", sources: [.informer(Informer<ConfigMap>(client: client, namespace: mapNamespace,
                                                                                              fieldSelector: "metadata.name=\(mapName)"))],
                                         repair: .none, logger: logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    await records.run { snapshot in
                        zone.replace(ClusterRecords(zone: zoneName, reverseNetworks: reverse, services: Array(snapshot.objects(Service.self).values),
                                                    slices: Array(snapshot.objects(EndpointSlice.self).values), pods: Array(snapshot.objects(Pod.self).values)))
                        readied.yield()
                    }
                }
                group.addTask {
                    await corefile.run { snapshot in
                        let (upstreams, problems) = Corefile.upstreams(snapshot.objects(ConfigMap.self).values.first?.data?["Corefile"] ?? "")
                        guard upstreams != forwarder.upstreams else { return }
                        for problem in problems { printError("Corefile: \(problem)") }
                        printError(upstreams.isEmpty ? "no upstreams: names outside \(domain) are refused"
                                                     : "forwarding names outside \(domain) to \(upstreams.map(\.description).joined(separator: ", "))")
                        forwarder.set(upstreams)
                    }
                }
                // Serve only once every source has listed: an empty zone would deny names that exist.
                for await _ in ready { break }
                printError("serving \(domain) on \(address):\(port) (UDP and TCP)")
                group.addTask { try await DNSServer(zone: zone, forwarder: forwarder, address: address, port: port).run() }
                group.addTask { try await MetricsExport.serve(metrics, port: metricsPort) }
                try await group.next()
                group.cancelAll()
            }
        }
    }
}
