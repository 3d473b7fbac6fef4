import ArgumentParser
import Foundation
import KindlingAddresses
import KindlingAPI
import KindlingNet
import KindlingNftables
import KindlingProxy

/// The datapath through a service VIP beside the same path without one:
///
///     client 10.0.1.2 ── router (kindling's table, DNAT) ── server 10.244.1.2
///
/// Throughput (iperf3, one TCP stream), new connections per second, and connect latency with 10 and with
/// 10,000 other services in the table (lookup must not grow with the number of services).
struct DatapathBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "datapath",
        abstract: "Throughput, connection rate and connect latency through a VIP vs the routed path without one."
    )

    @Option(help: "Seconds per iperf3 run.")
    var seconds = 5

    @Option(help: "Connections per rate/latency measurement.")
    var connections = 5000

    @Option(help: "Alternating rounds per measurement.")
    var rounds = 3

    static let vip = IPv4Address("10.96.0.10")!
    static let server = IPv4Address("10.244.1.2")!

    func run() throws {
        let scratch = Scratch()
        defer { scratch.remove() }
        let (client, router, server) = try topology(scratch)
        let nft = NamespaceThread(name: "bench-nft")
        let applier = ProxyApplier()
        let node = ProxyRules.Node(clusterCIDR: IPv4CIDR("10.244.0.0/16")!)
        func load(others: Int) throws {
            let benchPorts = [5201, 7000].map { port in
                ServicePort(namespace: "bench", service: "target", portName: "p\(port)", clusterIP: Self.vip, port: port,
                            endpoints: [.init(ip: Self.server, port: port, isLocal: false)])
            }
            _ = try nft.run(in: router) { try applier.applyFull(ProxyRules.render(benchPorts + syntheticPorts(services: others, endpoints: 5), node: node)) }
        }
        try load(others: 10)

        let listener = try Listener(namespace: server, port: 7000)
        defer { listener.stop() }
        let iperf = try iperfServer(in: server)
        defer { kill(iperf.processIdentifier, SIGKILL); iperf.waitUntilExit() }

        // Rounds alternate between the two paths, and medians are reported, so a noisy moment on this shared
        // machine hurts both sides alike.
        print("measure (median of \(rounds) alternating rounds)   direct        via VIP       ratio")
        var direct: [Double] = [], viaVIP: [Double] = []
        for _ in 0..<rounds {
            direct.append(try throughput(client, Self.server))
            viaVIP.append(try throughput(client, Self.vip))
        }
        let (d, v) = (percentile(direct, 0.5), percentile(viaVIP, 0.5))
        print("TCP throughput (Gbit/s)                      \(format(d, 2).padded(12))  \(format(v, 2).padded(12))  \(format(v / d, 3))")

        let clientThread = NamespaceThread(name: "bench-client")
        _ = try connect(clientThread, client, Self.vip)  // warm-up: caches, conntrack, the listener's thread
        var directRates: [Double] = [], vipRates: [Double] = [], vipConnects: [Double] = []
        for _ in 0..<rounds {
            directRates.append(rate(try connect(clientThread, client, Self.server)))
            let connects = try connect(clientThread, client, Self.vip)
            vipRates.append(rate(connects))
            vipConnects += connects
        }
        let (dr, vr) = (percentile(directRates, 0.5), percentile(vipRates, 0.5))
        print("new connections per second                   \(format(dr, 0).padded(12))  \(format(vr, 0).padded(12))  \(format(vr / dr, 3))")

        try load(others: 10_000)
        var loadedConnects: [Double] = []
        for _ in 0..<rounds { loadedConnects += try connect(clientThread, client, Self.vip) }
        let small = percentile(vipConnects, 0.5) * 1000, large = percentile(loadedConnects, 0.5) * 1000
        print("connect p50 (us) via VIP, 10 vs 10,000 svcs  \(format(small).padded(12))  \(format(large).padded(12))  \(format(large / small, 3))")
        print("connect p99 (us) via VIP, 10 vs 10,000 svcs  \(format(percentile(vipConnects, 0.99) * 1000).padded(12))  \(format(percentile(loadedConnects, 0.99) * 1000).padded(12))")
    }

    func rate(_ connects: [Double]) -> Double { Double(connects.count) / (connects.reduce(0, +) / 1000) }

    /// Three namespaces wired by two veth pairs, routed through the middle one. No default routes.
    func topology(_ scratch: Scratch) throws -> (NetNamespace, NetNamespace, NetNamespace) {
        let router = try scratch.namespace("router")
        try router.run { _ in try Sysctl.set("net.ipv4.ip_forward", "1") }
        let client = try scratch.namespace("client")
        let server = try scratch.namespace("server")
        try router.run { socket in
            try socket.addVeth("toclient", peer: "eth0", peerNamespace: client)
            try socket.addVeth("toserver", peer: "eth0", peerNamespace: server)
            try socket.addAddress(IPv4Interface(IPv4Address("10.0.1.1")!, prefixLength: 24), device: "toclient")
            try socket.addAddress(IPv4Interface(IPv4Address("10.244.1.1")!, prefixLength: 24), device: "toserver")
            try socket.setUp("toclient")
            try socket.setUp("toserver")
        }
        try client.run { socket in
            try socket.addAddress(IPv4Interface(IPv4Address("10.0.1.2")!, prefixLength: 24), device: "eth0")
            try socket.setUp("eth0")
            for cidr in ["10.96.0.0/16", "10.244.0.0/16"] {
                try socket.replaceRoute(Route(destination: IPv4CIDR(cidr)!, gateway: IPv4Address("10.0.1.1")!, device: "eth0"), owner: .nodeRoutes)
            }
        }
        try server.run { socket in
            try socket.addAddress(IPv4Interface(Self.server, prefixLength: 24), device: "eth0")
            try socket.setUp("eth0")
            try socket.replaceRoute(Route(destination: IPv4CIDR("10.0.1.0/24")!, gateway: IPv4Address("10.244.1.1")!, device: "eth0"), owner: .nodeRoutes)
        }
        return (client, router, server)
    }

    func throughput(_ client: NetNamespace, _ target: IPv4Address) throws -> Double {
        let (status, output) = try shell(in: client, ["iperf3", "-c", target.description, "-t", String(seconds), "-J"])
        guard status == 0, let json = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any],
              let end = json["end"] as? [String: Any], let received = end["sum_received"] as? [String: Any],
              let bps = received["bits_per_second"] as? Double else {
            throw ValidationError("iperf3 to \(target) failed: \(output.prefix(300))")
        }
        return bps / 1e9
    }

    /// Milliseconds each of `connections` TCP connects to `target`:7000 took, made from inside `client`
    /// (synchronous socket calls only, on a namespace thread). Closed with RST, leaving no TIME_WAIT.
    func connect(_ thread: NamespaceThread, _ client: NetNamespace, _ target: IPv4Address) throws -> [Double] {
        let count = connections
        return try thread.run(in: client) {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(7000).bigEndian)
            address.sin_addr.s_addr = target.value.bigEndian
            var times: [Double] = []
            times.reserveCapacity(count)
            var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
            for _ in 0..<count {
                let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
                guard fd >= 0 else { throw ValidationError("socket: \(String(cString: strerror(errno)))") }
                let start = ContinuousClock.now
                let result = withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                }
                times.append(milliseconds(since: start))
                setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
                close(fd)
                guard result == 0 else { throw ValidationError("connect \(target):7000: \(String(cString: strerror(errno)))") }
            }
            return times
        }
    }
}

/// A TCP listener in a namespace that accepts and closes every connection, on a thread of its own (the
/// socket belongs to the namespace it was made in; accepting needs no namespace change).
final class Listener: @unchecked Sendable {
    let fd: Int32
    private var stopped = false

    init(namespace: NetNamespace, port: UInt16) throws {
        fd = try NamespaceThread.shared.run(in: namespace) { () throws -> Int32 in
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(port.bigEndian)
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0, listen(fd, 4096) == 0 else { throw ValidationError("listen :\(port): \(String(cString: strerror(errno)))") }
            return fd
        }
        let fd = self.fd
        Thread.detachNewThread { [self] in
            while !self.stopped {
                let connection = accept(fd, nil, nil)
                if connection >= 0 { close(connection) }
            }
        }
    }

    func stop() {
        stopped = true
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }
}

extension String {
    func padded(_ width: Int) -> String { self + String(repeating: " ", count: max(0, width - count)) }
}
