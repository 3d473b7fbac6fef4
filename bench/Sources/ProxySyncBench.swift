import ArgumentParser
import Foundation
import KindlingAddresses
import KindlingAPI
import KindlingNet
import KindlingNftables
import KindlingProxy

/// Loading and changing the proxy's table at kube-proxy scale, beside `nft -f` of kube-proxy's own layout
/// (anonymous per-service numgen vmaps, quadratic in the kernel) and of kindling's layout through the CLI.
struct ProxySyncBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "proxy-sync",
        abstract: "Full sync of N services x 5 endpoints, and one-endpoint changes on the loaded table."
    )

    @Option(help: "Service counts, comma-separated.")
    var services = "1000,10000"

    @Option(help: "Endpoints per service.")
    var endpoints = 5

    @Option(help: "One-endpoint changes timed on each loaded table.")
    var changes = 20

    @Flag(help: "Skip loading kube-proxy's own layout (about a minute at 10,000 services).")
    var skipKubeProxyLayout = false

    func run() throws {
        let scratch = Scratch()
        defer { scratch.remove() }
        let thread = NamespaceThread(name: "bench-nft")
        let node = ProxyRules.Node(clusterCIDR: IPv4CIDR("10.244.0.0/16")!)
        print("services  render_ms  kindling_full_ms  nft_f_same_layout_ms  nft_f_kube_proxy_layout_ms  change_p50_ms  change_p99_ms  raw_replace_p50_ms  raw_replace_p99_ms  raw_remove_p50_ms  raw_remove_p99_ms  nft_cli_change_ms  resolve_all_ms  resolve_one_ms  rules")
        for count in services.split(separator: ",").compactMap({ Int($0) }) {
            var ports = syntheticPorts(services: count, endpoints: endpoints)
            var start = ContinuousClock.now
            let table = ProxyRules.render(ports, node: node)
            let renderMs = milliseconds(since: start)

            // kindling, as the agent syncs: render, then in-process libnftables, one transaction.
            let loaded = try scratch.namespace("load\(count)")
            let backend = NftablesBackend(node: node)
            start = ContinuousClock.now
            _ = try thread.run(in: loaded) { try backend.sync(ports) }
            let fullMs = milliseconds(since: start)

            // One endpoint of one service replaced (its pod re-created with a new address), render + partial
            // sync, many times.
            var changeMs: [Double] = []
            var nextAddress = IPv4Address("10.245.0.1")!.value
            func replacingOne(_ port: ServicePort) -> ServicePort {
                nextAddress += 1
                return port.with(endpoints: [ServicePort.Endpoint(ip: IPv4Address(nextAddress), port: 8080, isLocal: false)]
                    + port.endpoints.dropFirst())
            }
            for trial in 0..<changes {
                let victim = (trial * 7919) % count
                ports[victim] = replacingOne(ports[victim])
                start = ContinuousClock.now
                let (kind, _) = try thread.run(in: loaded) { try backend.sync(ports) }
                changeMs.append(milliseconds(since: start))
                precondition(kind == .partial, "expected a partial sync")
            }
            // The kernel's part alone: the raw nfnetlink batch the applier sends, for an endpoint replaced and
            // for one removed (5 -> 4 endpoints, which also moves the service to a smaller pick chain).
            var state = ProxyTableState(ports, node: node)
            let socket = try thread.run(in: loaded) { try NftSocket() }
            var rawMs: [String: [Double]] = [:]
            for trial in 0..<(2 * changes) {
                let victim = (trial * 104_729 + 13) % count
                let removing = trial % 2 == 1
                let port = ports[victim]
                ports[victim] = removing ? port.with(endpoints: Array(port.endpoints.dropFirst())) : replacingOne(port)
                guard let operations = state.update(to: ports)?.batchOperations else { throw ValidationError("not a raw batch") }
                // Apart from each other, as endpoint changes come: a commit right after another first waits for
                // the kernel to free the previous generation (an RCU grace period, ~10-15 ms here).
                usleep(100_000)
                start = ContinuousClock.now
                try thread.run(in: loaded) { try NftBatch.commit(operations, table: ProxyRules.tableName, on: socket) }
                rawMs[removing ? "remove" : "replace", default: []].append(milliseconds(since: start))
            }
            // The nft CLI deleting one map element on the same loaded table (it reads the table first).
            start = ContinuousClock.now
            try shell(in: loaded, ["nft", "delete", "element", "ip", "kindling", "service-ips", "{ \(ports[1].clusterIP) . tcp . 80 }"])
            let cliChangeMs = milliseconds(since: start)
            try loaded.delete()

            // Baselines: the same text through `nft -f`, and kube-proxy's layout through `nft -f`.
            let sameMs = try nftFile(table.fullSyncCommands, scratch.namespace("same\(count)"))
            let kubeProxyMs = skipKubeProxyLayout ? nil : try nftFile(kubeProxyLayout(syntheticPorts(services: count, endpoints: endpoints)),
                                                                       scratch.namespace("kp\(count)"))
            let resolve = try Self.resolveMs(services: count, endpoints: endpoints)
            print([String(count), format(renderMs), format(fullMs), format(sameMs), kubeProxyMs.map { format($0) } ?? "skipped",
                   format(percentile(changeMs, 0.5)), format(percentile(changeMs, 0.99)),
                   format(percentile(rawMs["replace"] ?? [], 0.5), 2), format(percentile(rawMs["replace"] ?? [], 0.99), 2),
                   format(percentile(rawMs["remove"] ?? [], 0.5), 2), format(percentile(rawMs["remove"] ?? [], 0.99), 2),
                   format(cliChangeMs), format(resolve.everything), format(resolve.oneChanged, 2), String(table.ruleCount)]
                .joined(separator: "  "))
        }
    }

    /// Milliseconds `nft -f` takes to load `text` in `namespace` (which it then deletes).
    func nftFile(_ text: String, _ namespace: NetNamespace) throws -> Double {
        defer { try? namespace.delete() }
        let path = NSTemporaryDirectory() + "kindling-bench-\(namespace.name).nft"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        defer { unlink(path) }
        let start = ContinuousClock.now
        let (status, output) = try shell(in: namespace, ["nft", "-f", path])
        guard status == 0 else { throw ValidationError("nft -f failed: \(output.prefix(500))") }
        return milliseconds(since: start)
    }

    /// kube-proxy's nftables layout for the same services: per service an anonymous `numgen ... vmap`.
    func kubeProxyLayout(_ ports: [ServicePort]) -> String {
        var out = """
            add table ip kube-proxy
            add chain ip kube-proxy mark-for-masquerade
            add rule ip kube-proxy mark-for-masquerade mark set mark or 0x4000
            add map ip kube-proxy service-ips { type ipv4_addr . inet_proto . inet_service : verdict ; }
            add chain ip kube-proxy services
            add rule ip kube-proxy services ip daddr . meta l4proto . th dport vmap @service-ips
            add chain ip kube-proxy nat-prerouting { type nat hook prerouting priority -100 ; }
            add rule ip kube-proxy nat-prerouting jump services

            """
        for port in ports {
            let base = "\(port.namespace)/\(port.service)/tcp/\(port.portName)"
            var branches: [String] = []
            for (k, endpoint) in port.endpoints.enumerated() {
                let chain = "endpoint-\(base)__\(endpoint.ip)/\(endpoint.port)"
                out += "add chain ip kube-proxy \(chain)\n"
                out += "add rule ip kube-proxy \(chain) ip saddr \(endpoint.ip) jump mark-for-masquerade\n"
                out += "add rule ip kube-proxy \(chain) meta l4proto tcp dnat to \(endpoint.ip):\(endpoint.port)\n"
                branches.append("\(k) : goto \(chain)")
            }
            out += "add chain ip kube-proxy service-\(base)\n"
            out += "add rule ip kube-proxy service-\(base) ip daddr \(port.clusterIP) tcp dport \(port.port) ip saddr != 10.244.0.0/16 jump mark-for-masquerade\n"
            out += "add rule ip kube-proxy service-\(base) numgen random mod \(port.endpoints.count) vmap { \(branches.joined(separator: ", ")) }\n"
            out += "add element ip kube-proxy service-ips { \(port.clusterIP) . tcp . \(port.port) : goto service-\(base) }\n"
        }
        return out
    }
}

extension ProxySyncBench {
    /// What an agent does before the backend on every sync: resolve services and endpoint slices into service
    /// ports, for `count` services with `endpoints` endpoints each. Milliseconds: resolving everything
    /// (`ServicePort.from`), and the agent's incremental resolver after one slice changed (medians).
    static func resolveMs(services count: Int, endpoints: Int) throws -> (everything: Double, oneChanged: Double) {
        let decoder = JSONDecoder()
        var services: [String: Service] = [:]
        var slices: [String: EndpointSlice] = [:]
        func slice(_ i: Int, _ addresses: [String], version: Int) throws -> EndpointSlice {
            let endpoints = addresses.map { #"{"addresses":["\#($0)"],"nodeName":"node-b","conditions":{"ready":true}}"# }
            return try decoder.decode(EndpointSlice.self, from: Data("""
                {"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","addressType":"IPv4",
                 "metadata":{"name":"svc-\(i)-abc","namespace":"bench","resourceVersion":"\(version)","labels":{"kubernetes.io/service-name":"svc-\(i)"}},
                 "ports":[{"name":"http","port":8080,"protocol":"TCP"}],"endpoints":[\(endpoints.joined(separator: ","))]}
                """.utf8))
        }
        let ports = syntheticPorts(services: count, endpoints: endpoints)
        for (i, port) in ports.enumerated() {
            services["bench/svc-\(i)"] = try decoder.decode(Service.self, from: Data("""
                {"apiVersion":"v1","kind":"Service","metadata":{"name":"svc-\(i)","namespace":"bench","resourceVersion":"\(i + 1)"},
                 "spec":{"clusterIP":"\(port.clusterIP)","selector":{"app":"svc-\(i)"},"ports":[{"name":"http","port":80,"protocol":"TCP"}]}}
                """.utf8))
            slices["bench/svc-\(i)-abc"] = try slice(i, port.endpoints.map { "\($0.ip)" }, version: count + i + 1)
        }
        var everything: [Double] = []
        for _ in 0..<5 {
            let start = ContinuousClock.now
            let resolved = ServicePort.from(services: Array(services.values), slices: Array(slices.values), nodeName: "node-a")
            everything.append(milliseconds(since: start))
            precondition(resolved.count == count && resolved.allSatisfy { $0.endpoints.count == endpoints })
        }
        var resolver = ServicePortResolver(nodeName: "node-a")
        _ = resolver.resolve(services: services, slices: slices)
        var oneChanged: [Double] = []
        for trial in 0..<20 {
            let i = (trial * 7919) % count
            slices["bench/svc-\(i)-abc"] = try slice(i, ports[i].endpoints.dropFirst().map { "\($0.ip)" } + ["10.246.0.\(trial + 1)"],
                                                    version: 3 * count + trial)
            let start = ContinuousClock.now
            let (_, changes) = resolver.resolve(services: services, slices: slices)
            oneChanged.append(milliseconds(since: start))
            precondition(changes.new.count == 1)
        }
        return (percentile(everything, 0.5), percentile(oneChanged, 0.5))
    }
}
