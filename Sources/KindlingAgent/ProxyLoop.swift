import Foundation
import KindlingAPI
import KindlingClient
import KindlingNet
import KindlingProxy
import Logging

/// kube-proxy in the agent: watches Services and EndpointSlices, renders this node's nf_tables table and
/// applies it. A burst of changes becomes one sync (changes that arrive during a sync wait for the next
/// one, not for a timer); every second the ruleset's generation is checked, so a rule someone deleted by
/// hand comes back within a second.
struct ProxyLoop: Sendable {
    let nodeName: String
    let backend: any ProxyBackend
    let client: APIClient
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
        func ports(nodeName: String) -> [ServicePort]? {
            guard let services, let slices else { return nil }
            return ServicePort.from(services: services, slices: slices, nodeName: nodeName)
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
                await Informer<Service>(client: client).run { services in
                    await snapshot.set(services: Array(services.values))
                    wake.yield()
                }
            }
            group.addTask {
                await Informer<EndpointSlice>(client: client).run { slices in
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
                for await _ in wakeups {
                    guard let ports = await snapshot.ports(nodeName: nodeName) else { continue }
                    guard await sync(ports) else { continue }
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
            logger.info("proxy: \(kind.rawValue) sync of \(ports.count) service ports, \(endpoints) endpoints, \(rules) rules in \(ContinuousClock.now - started)")
            return true
        } catch {
            logger.error("proxy sync: \(error)")
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
