import Foundation
import KindlingAPI
import KindlingClient
import KindlingNet
import KindlingProxy
import KindlingReconcile
import Logging
import Metrics

/// kube-proxy in the agent: watches Services and EndpointSlices, renders this node's nf_tables table and
/// applies it, through the agents' `ReconcileLoop`. The ruleset's generation is checked every second, so a
/// rule someone deleted by hand comes back within a second.
struct ProxyLoop: Sendable {
    let nodeName: String
    let backend: any ProxyBackend
    let services: SharedInformer<Service>
    let slices: SharedInformer<EndpointSlice>
    let logger: Logger
    /// libnftables must be called from one thread; this one never leaves the agent's (the node's) namespace.
    let thread = NamespaceThread(name: "kindling-proxy")

    /// The resolved service ports, and the changes not yet in the kernel (conntrack entries to flush,
    /// programming latencies to record once they are).
    actor State {
        var resolver: ServicePortResolver
        var pending = ServicePortResolver.Changes()

        init(nodeName: String) { resolver = ServicePortResolver(nodeName: nodeName) }

        func resolve(_ snapshot: ReconcileSnapshot) -> [ServicePort] {
            let (ports, changes) = resolver.resolve(services: snapshot.objects(Service.self), slices: snapshot.objects(EndpointSlice.self))
            pending.merge(changes)
            return ports
        }

        func programmed() -> ServicePortResolver.Changes {
            defer { pending = ServicePortResolver.Changes() }
            return pending
        }
    }

    func run() async {
        do {
            // localhost:<nodePort> from the node itself: DNATed packets from 127.0.0.1 may leave loopback.
            try await thread.perform(in: nil) { try Sysctl.set("net.ipv4.conf.all.route_localnet", "1") }
        } catch {
            logger.error("proxy: \(error)")
        }
        let state = State(nodeName: nodeName)
        let loop = ReconcileLoop("proxy", sources: [.shared(services), .shared(slices)],
                                 repair: .check(every: .seconds(1)) { [thread, backend] in try await thread.perform(in: nil) { try backend.drifted() } },
                                 logger: logger)
        await loop.run { snapshot in
            let ports = await state.resolve(snapshot)
            try await sync(ports)
            let changes = await state.programmed()
            ProxyMetrics.programmed(changed: changes.triggers)
            await flushConntrack(ConntrackCleanup.commands(old: changes.old, new: changes.new))
        }
    }

    /// Renders and applies; throws when the kernel refused the table (the loop retries).
    func sync(_ ports: [ServicePort]) async throws {
        let started = ContinuousClock.now
        do {
            let (kind, rules) = try await thread.perform(in: nil) { [backend] in try backend.sync(ports) }
            guard kind != .unchanged else { return }
            let endpoints = ports.reduce(0) { $0 + $1.endpoints.count }
            ProxyMetrics.synced(kind, duration: ContinuousClock.now - started, servicePorts: ports.count, endpoints: endpoints, rules: rules)
            logger.info("proxy: \(kind.rawValue) sync of \(ports.count) service ports, \(endpoints) endpoints, \(rules) rules in \(ContinuousClock.now - started)")
        } catch {
            ProxyMetrics.failed()
            throw error
        }
    }

    /// Deletes conntrack entries, one `conntrack -D` each, in the node's namespace; "0 flow entries have been
    /// deleted" exits 1 and is fine.
    func flushConntrack(_ commands: [[String]]) async {
        for arguments in commands {
            if await Tool.run(["/usr/sbin/conntrack"] + arguments) == nil {
                logger.error("conntrack \(arguments.joined(separator: " ")) did not run")
            }
        }
    }
}

/// kube-proxy's metrics, through swift-metrics (the agent process exports them for Prometheus on :10249).
enum ProxyMetrics {
    static func synced(_ kind: ProxySync, duration: Duration, servicePorts: Int, endpoints: Int, rules: Int) {
        let nanoseconds = duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
        Timer(label: "kubeproxy_sync_proxy_rules_duration_seconds").recordNanoseconds(nanoseconds)
        Timer(label: kind == .full ? "kubeproxy_sync_full_proxy_rules_duration_seconds" : "kubeproxy_sync_partial_proxy_rules_duration_seconds")
            .recordNanoseconds(nanoseconds)
        Gauge(label: "kubeproxy_sync_proxy_rules_last_timestamp_seconds").record(Date().timeIntervalSince1970)
        Gauge(label: "kindling_proxy_service_ports").record(servicePorts)
        Gauge(label: "kindling_proxy_endpoints").record(endpoints)
        Gauge(label: "kindling_proxy_rules").record(rules)
    }

    static func failed() {
        Counter(label: "kindling_proxy_sync_failures_total").increment()
    }

    /// Network programming latency: from each changed slice's trigger time to its rules being in the kernel.
    static func programmed(changed triggers: some Collection<String>) {
        let now = Date()
        for trigger in triggers {
            guard let date = Timestamp.date(trigger) else { continue }
            Timer(label: "kubeproxy_network_programming_duration_seconds").recordNanoseconds(Int64(max(0, now.timeIntervalSince(date)) * 1e9))
        }
    }
}
