import ArgumentParser
import Foundation
import KindlingAPI
import KindlingNet
import KindlingNftables
import KindlingPolicy
import KindlingProxy

/// What NetworkPolicy costs on the datapath: the router between a client and a server pod (the datapath
/// bench's three namespaces) carries the policy table an agent would, with no policy for the server, then
/// with 1,000 policies selecting it, the one that allows the client last. Throughput (one TCP stream) and new
/// connections per second; a connection's later packets pass by the table's first rule (established).
struct PolicyBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Throughput and connection rate to a pod with 0 vs 1,000 NetworkPolicies selecting it."
    )

    @Option(help: "Seconds per iperf3 run.")
    var seconds = 5

    @Option(help: "Connections per rate measurement.")
    var connections = 5000

    @Option(help: "Alternating rounds per measurement.")
    var rounds = 3

    @Option(help: "Policies selecting the server in the loaded table.")
    var policies = 1000

    func run() throws {
        let datapath = try DatapathBench.parse(["--seconds", String(seconds), "--connections", String(connections)])
        let scratch = Scratch()
        defer { scratch.remove() }
        let (client, router, server) = try datapath.topology(scratch)
        let nft = NamespaceThread(name: "bench-nft")
        let serverPod = PolicyPod(namespace: "bench", name: "server", ip: DatapathBench.server, labels: ["app": "server"])
        func table(_ count: Int) -> NftTable {
            // Each policy allows one /32 outside the client's network; the last one allows the client.
            let selected = (0..<count).map { i in
                var policy = NetworkPolicy(namespace: "bench", name: String(format: "p%04d", i), spec: .init(
                    podSelector: LabelSelector(matchLabels: ["app": "server"]),
                    ingress: [.init(from: [.init(ipBlock: .init(cidr: i == count - 1 ? "10.0.1.0/24" : "10.1.\(i / 256).\(i % 256)/32"))],
                                    ports: [.init(port: .int(5201)), .init(port: .int(7000))])]))
                policy.applyDefaults()
                return policy
            }
            return PolicyRules.render(PolicyState(policies: selected, pods: [serverPod], namespaceLabels: [:], localIPs: [serverPod.ip]))
        }
        func load(_ count: Int) throws {
            let text = table(count)
            _ = try nft.run(in: router) { try NftContext().run(text.fullSyncCommands) }
        }

        let listener = try Listener(namespace: server, port: 7000)
        defer { listener.stop() }
        let iperf = try iperfServer(in: server)
        defer { kill(iperf.processIdentifier, SIGKILL); iperf.waitUntilExit() }

        // Rounds alternate between the two tables, medians reported, so a noisy moment hurts both alike.
        print("measure (median of \(rounds) alternating rounds)   0 policies    \(policies) policies  ratio")
        let clientThread = NamespaceThread(name: "bench-client")
        try load(0)
        _ = try datapath.connect(clientThread, client, DatapathBench.server)
        var bare: [Double] = [], loaded: [Double] = [], bareRates: [Double] = [], loadedRates: [Double] = []
        for _ in 0..<rounds {
            try load(0)
            bare.append(try datapath.throughput(client, DatapathBench.server))
            bareRates.append(datapath.rate(try datapath.connect(clientThread, client, DatapathBench.server)))
            try load(policies)
            loaded.append(try datapath.throughput(client, DatapathBench.server))
            loadedRates.append(datapath.rate(try datapath.connect(clientThread, client, DatapathBench.server)))
        }
        let (b, l) = (percentile(bare, 0.5), percentile(loaded, 0.5))
        print("TCP throughput (Gbit/s)                      \(format(b, 2).padded(12))  \(format(l, 2).padded(12))  \(format(l / b, 3))")
        let (br, lr) = (percentile(bareRates, 0.5), percentile(loadedRates, 0.5))
        print("new connections per second                   \(format(br, 0).padded(12))  \(format(lr, 0).padded(12))  \(format(lr / br, 3))")
    }
}
