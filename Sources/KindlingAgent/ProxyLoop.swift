import Foundation
import KindlingAPI
import KindlingClient
import KindlingNet
import KindlingProxy
import Logging
import Metrics

/// kube-proxy in the agent: watches Services and EndpointSlices, renders this node's nf_tables table and
/// applies it. A burst of changes becomes one sync (changes that arrive during a sync wait for the next
/// one, not for a timer); every second the ruleset's generation is checked, so a rule someone deleted by
/// hand comes back within a second.
struct ProxyLoop: Sendable {
    let nodeName: String
    let backend: any ProxyBackend
    let services: SharedInformer<Service>
    let slices: SharedInformer<EndpointSlice>
    let logger: Logger
    /// libnftables must be called from one thread; this one never leaves the agent's (the node's) namespace.
    let thread = NamespaceThread(name: "kindling-proxy")

    /// The latest lists from both informers; nil until each has listed once, so the first sync never
    /// programs services without their endpoints.
    actor Snapshot {
        var services: [Service]?
        var slices: [EndpointSlice]?

        func set(services: [Service]) { self.services = services }
        func set(slices: [EndpointSlice]) { self.slices = slices }
        /// The service ports, and each slice's change-trigger time.
        func state(nodeName: String) -> (ports: [ServicePort], triggers: [String: String])? {
            guard let services, let slices else { return nil }
            let triggers = Dictionary(slices.compactMap { slice in
                slice.metadata.annotations?[EndpointSlice.triggerTimeAnnotation].map { ("\(slice.namespace)/\(slice.name)", $0) }
            }, uniquingKeysWith: { a, _ in a })
            return (ServicePort.from(services: services, slices: slices, nodeName: nodeName), triggers)
        }
    }

    func run() async {
        do {
            // localhost:<nodePort> from the node itself: DNATed packets from 127.0.0.1 may leave loopback.
            try await thread.perform(in: nil) { try Sysctl.set("net.ipv4.conf.all.route_localnet", "1") }
        } catch {
            logger.error("proxy: \(error)")
        }
        let snapshot = Snapshot()
        let (wakeups, wake) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await services in await services.subscribe() {
                    await snapshot.set(services: Array(services.values))
                    wake.yield()
                }
            }
            group.addTask {
                for await slices in await slices.subscribe() {
                    await snapshot.set(slices: Array(slices.values))
                    wake.yield()
                }
            }
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(1))
                    if (try? await thread.perform(in: nil) { [backend] in try backend.drifted() }) ?? true { wake.yield() }
                }
            }
            group.addTask {
                var applied: [ServicePort] = []
                var triggers: [String: String]?
                for await _ in wakeups {
                    guard let (ports, newTriggers) = await snapshot.state(nodeName: nodeName) else { continue }
                    guard await sync(ports) else { continue }
                    if let triggers { ProxyMetrics.programmed(changed: newTriggers.filter { triggers[$0.key] != $0.value }.values) }
                    triggers = newTriggers
                    await flushConntrack(ConntrackCleanup.commands(old: applied, new: ports))
                    applied = ports
                }
            }
        }
    }

    /// Renders and applies; false when the kernel refused the table (the next wakeup retries).
    func sync(_ ports: [ServicePort]) async -> Bool {
        let started = ContinuousClock.now
        do {
            let (kind, rules) = try await thread.perform(in: nil) { [backend] in try backend.sync(ports) }
            guard kind != .unchanged else { return true }
            let endpoints = ports.reduce(0) { $0 + $1.endpoints.count }
            ProxyMetrics.synced(kind, duration: ContinuousClock.now - started, servicePorts: ports.count, endpoints: endpoints, rules: rules)
            logger.info("proxy: \(kind.rawValue) sync of \(ports.count) service ports, \(endpoints) endpoints, \(rules) rules in \(ContinuousClock.now - started)")
            return true
        } catch {
            logger.error("proxy sync: \(error)")
            ProxyMetrics.failed()
            return false
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
