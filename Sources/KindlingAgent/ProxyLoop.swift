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

    /// The latest caches from both informers, and the service ports resolved from them; nil until each has
    /// listed once, so the first sync never programs services without their endpoints.
    actor Snapshot {
        var services: [String: Service]?
        var slices: [String: EndpointSlice]?
        var resolver: ServicePortResolver

        init(nodeName: String) { resolver = ServicePortResolver(nodeName: nodeName) }

        func set(services: [String: Service]) { self.services = services }
        func set(slices: [String: EndpointSlice]) { self.slices = slices }
        /// The service ports, and what changed since the last call.
        func state() -> ([ServicePort], ServicePortResolver.Changes)? {
            guard let services, let slices else { return nil }
            return resolver.resolve(services: services, slices: slices)
        }
    }

    func run() async {
        do {
            // localhost:<nodePort> from the node itself: DNATed packets from 127.0.0.1 may leave loopback.
            try await thread.perform(in: nil) { try Sysctl.set("net.ipv4.conf.all.route_localnet", "1") }
        } catch {
            logger.error("proxy: \(error)")
        }
        let snapshot = Snapshot(nodeName: nodeName)
        let (wakeups, wake) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await services in await services.subscribe() {
                    await snapshot.set(services: services)
                    wake.yield()
                }
            }
            group.addTask {
                for await slices in await slices.subscribe() {
                    await snapshot.set(slices: slices)
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
                // Changes wait here until a sync has put them in the kernel.
                var pending = ServicePortResolver.Changes()
                for await _ in wakeups {
                    guard let (ports, changes) = await snapshot.state() else { continue }
                    pending.merge(changes)
                    guard await sync(ports) else { continue }
                    ProxyMetrics.programmed(changed: pending.triggers)
                    await flushConntrack(ConntrackCleanup.commands(old: pending.old, new: pending.new))
                    pending = ServicePortResolver.Changes()
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
