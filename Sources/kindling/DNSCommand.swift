import ArgumentParser
import Foundation
import KindlingAPI
import KindlingClient
import KindlingCluster
import KindlingDNS

/// `kindling dns`: the cluster DNS server, run as the pods of Deployment `kube-system/coredns` (the catalog's
/// CoreDNS image) behind Service `kube-dns`. Watches Services, EndpointSlices and Pods and answers from them.
struct DNSCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dns",
        abstract: "The cluster DNS server (run by the coredns pods in kube-system).",
        discussion: "Answers for the cluster domain as the Kubernetes DNS specification defines it, on UDP and TCP. Other names go to the upstreams of the `forward . ADDRESS[:PORT]...` line in the Corefile of --config-map (key Corefile), as CoreDNS's forward plugin does; with none (the default: a kindling cluster has no outside network) they are refused at once. Serves CoreDNS's metrics (coredns_dns_requests_total, coredns_dns_responses_total, coredns_dns_request_duration_seconds) on --metrics-port."
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

    /// The latest lists; the zone is rebuilt from them on every change, once all three have listed.
    actor Sources {
        var services: [Service]?
        var slices: [EndpointSlice]?
        var pods: [Pod]?
        func set(services: [Service]) { self.services = services }
        func set(slices: [EndpointSlice]) { self.slices = slices }
        func set(pods: [Pod]) { self.pods = pods }
        func records(zone: DNSName, reverse: [IPv4CIDR]) -> ClusterRecords? {
            guard let services, let slices, let pods else { return nil }
            return ClusterRecords(zone: zone, reverseNetworks: reverse, services: services, slices: slices, pods: pods)
        }
    }

    func run() async throws {
        try await reportingErrors("dns") {
            let (config, _) = try loadCluster(cluster.name)
            let metrics = MetricsExport.bootstrap()
            let zoneName = try DNSName(domain)
            let reverse = [config.serviceSubnet, config.podSubnet]
            let client = APIClient(socketPath: ClusterProcesses(cluster: cluster.name).socketPath)
            let sources = Sources()
            let forwarder = DNSForwarder()
            let (mapNamespace, mapName) = try namespacedName(configMap, option: "config-map")
            let zone = DNSServer.Zone(ClusterRecords(zone: zoneName, reverseNetworks: reverse, services: [], slices: [], pods: []))
            let (ready, readied) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
            // A burst of changes (pod statuses come in dozens) becomes one rebuild of the zone, not one each.
            let (changes, changed) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await Informer<Service>(client: client).run { await sources.set(services: Array($0.values)); changed.yield() } }
                group.addTask { await Informer<EndpointSlice>(client: client).run { await sources.set(slices: Array($0.values)); changed.yield() } }
                group.addTask { await Informer<Pod>(client: client).run { await sources.set(pods: Array($0.values)); changed.yield() } }
                group.addTask {
                    await Informer<ConfigMap>(client: client, namespace: mapNamespace, fieldSelector: "metadata.name=\(mapName)").run { maps in
                        let (upstreams, problems) = Corefile.upstreams(maps.values.first?.data?["Corefile"] ?? "")
                        guard upstreams != forwarder.upstreams else { return }
                        for problem in problems { printError("Corefile: \(problem)") }
                        printError(upstreams.isEmpty ? "no upstreams: names outside \(domain) are refused"
                                                     : "forwarding names outside \(domain) to \(upstreams.map(\.description).joined(separator: ", "))")
                        forwarder.set(upstreams)
                    }
                }
                group.addTask {
                    for await _ in changes {
                        guard let records = await sources.records(zone: zoneName, reverse: reverse) else { continue }
                        zone.replace(records)
                        readied.yield()
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
