import ArgumentParser
import Foundation
import KindlingAddresses
import KindlingAPI
import KindlingClient
import KindlingDNS
import KindlingNet

/// The cluster DNS on a real 2-node cluster, asked from inside a pod's namespace:
///
/// 1. programming latency: a Service is created and its name asked every 2 ms until it resolves, 50 times;
/// 2. queries per second one replica answers through the kube-dns VIP, 64 queries in flight, beside the same
///    load against a UDP echo on the pod's own loopback (the socket path alone, no DNS work at all).
struct DNSBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dns",
        abstract: "Cluster DNS: service created -> name resolves (p50/p99), and queries per second vs a loopback echo."
    )

    @Option(help: "The kindling binary that creates the cluster.")
    var kindling = ".build/release/kindling"

    @Option(help: "Services created for the latency measurement.")
    var services = 50

    @Option(help: "Seconds of load for the throughput measurement.")
    var seconds = 3.0

    static let cluster = "kb-dns"

    func run() async throws {
        let cluster = try BenchCluster(kindling: kindling, name: Self.cluster, manifests: """
            apiVersion: v1
            kind: Namespace
            metadata: {name: bench}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: client, namespace: bench}
            spec:
              containers:
              - {name: sleep, image: busybox, command: [sleep, infinity]}
            """)
        defer { cluster.delete() }
        let client = cluster.client
        let pod = NetNamespace(ClusterNames(cluster: Self.cluster).netnsPrefix + "pod.bench.client")
        let started = Date()
        while !((try? await client.get(Pod.self, namespace: "bench", name: "client"))?.isReady ?? false) {
            guard Date().timeIntervalSince(started) < 30 else { throw ValidationError("the client pod did not start within 30 s") }
            try await Task.sleep(for: .milliseconds(50))
        }
        let thread = NamespaceThread(name: "bench-dns")
        let socket = try thread.run(in: pod) { try UDPSocket() }
        let dns = try UDPSocket.address("10.96.0.10", port: 53)

        // Wait until the DNS answers at all.
        let probe = try query("kubernetes.default.svc.cluster.local", id: 1)
        let deadline = Date().addingTimeInterval(30)
        while (try? socket.ask(probe, to: dns, timeoutMs: 50)) == nil {
            guard Date() < deadline else { throw ValidationError("the cluster DNS did not answer within 30 s") }
        }

        var latencies: [Double] = []
        for i in 0..<services {
            let name = "svc-\(i)"
            var service = Service(metadata: ObjectMeta(name: name, namespace: "bench"), spec: .init(selector: ["app": name], ports: [.init(port: 80)]))
            service.spec.type = "ClusterIP"
            let message = try query("\(name).bench.svc.cluster.local", id: UInt16(i + 2))
            let start = ContinuousClock.now
            _ = try await client.create(service)
            while true {
                if let reply = try? socket.ask(message, to: dns, timeoutMs: 100),
                   let answer = try? DNSMessage(parsing: reply), !answer.answers.isEmpty { break }
                guard milliseconds(since: start) < 10_000 else { throw ValidationError("\(name) did not resolve within 10 s") }
                usleep(2000)
            }
            latencies.append(milliseconds(since: start))
        }
        print("DNS programming latency over \(latencies.count) services (create -> resolves from a pod)")
        print("p50 \(format(percentile(latencies, 0.5))) ms   p99 \(format(percentile(latencies, 0.99))) ms   (goal p99 <= 100 ms)")

        try runKindling(kindling, ["scale", "--name", Self.cluster, "-n", "kube-system", "deployment", "coredns", "--replicas=1"])
        try await Task.sleep(for: .seconds(2))
        let message = try query("svc-0.bench.svc.cluster.local", id: 7)
        let viaVIP = try socket.load(message, to: dns, seconds: seconds)
        let echo = UDPEcho(socket: try thread.run(in: pod) { try UDPSocket(bindingLoopbackPort: 5353) })
        defer { echo.stop() }
        let loopback = try socket.load(message, to: try UDPSocket.address("127.0.0.1", port: 5353), seconds: seconds)
        print("queries per second, one replica via 10.96.0.10: \(format(viaVIP, 0))   UDP echo on the pod's loopback: \(format(loopback, 0))   ratio \(format(viaVIP / loopback, 3))")
    }

    func query(_ name: String, id: UInt16) throws -> [UInt8] {
        var message = DNSMessage(header: .init(id: id))
        message.header.recursionDesired = true
        message.questions = [.init(name: try DNSName(name), type: .a)]
        return message.encoded()
    }
}

/// A UDP socket made inside a namespace (it stays bound to it) and used from any thread afterwards.
final class UDPSocket: @unchecked Sendable {
    let fd: Int32

    init() throws {
        fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw ValidationError("socket: \(String(cString: strerror(errno)))") }
    }

    /// Bound to 127.0.0.1:`port` of the namespace the calling thread is in.
    convenience init(bindingLoopbackPort port: UInt16) throws {
        try self.init()
        var address = try UDPSocket.address("127.0.0.1", port: port)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw ValidationError("bind: \(String(cString: strerror(errno)))") }
    }

    deinit { close(fd) }

    static func address(_ ip: String, port: UInt16) throws -> sockaddr_in {
        guard let address = IPv4Address(ip) else { throw ValidationError("bad address \(ip)") }
        var result = sockaddr_in()
        result.sin_family = sa_family_t(AF_INET)
        result.sin_port = in_port_t(port.bigEndian)
        result.sin_addr.s_addr = address.value.bigEndian
        return result
    }

    func send(_ bytes: [UInt8], to address: sockaddr_in) {
        var address = address
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, bytes, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    }

    /// One reply within `timeoutMs`, or nil.
    func receive(timeoutMs: Int32) -> [UInt8]? {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, timeoutMs) == 1 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = recv(fd, &buffer, buffer.count, 0)
        return count > 0 ? Array(buffer[..<count]) : nil
    }

    func ask(_ bytes: [UInt8], to address: sockaddr_in, timeoutMs: Int32) throws -> [UInt8] {
        send(bytes, to: address)
        guard let reply = receive(timeoutMs: timeoutMs) else { throw ValidationError("no answer") }
        return reply
    }

    /// Answers per second with up to 64 queries in flight for `seconds`.
    func load(_ bytes: [UInt8], to address: sockaddr_in, seconds: Double) throws -> Double {
        let end = Date().addingTimeInterval(seconds)
        var inFlight = 0, answered = 0
        while Date() < end {
            while inFlight < 64 { send(bytes, to: address); inFlight += 1 }
            if receive(timeoutMs: 100) != nil { answered += 1; inFlight -= 1 } else { inFlight = 0 }
        }
        return Double(answered) / seconds
    }
}

/// Sends every datagram back: the baseline for what the socket path costs without any DNS work.
final class UDPEcho: @unchecked Sendable {
    let socket: UDPSocket
    private var stopped = false

    /// Started from the caller's thread, never from a namespace job (its threads would inherit the namespace).
    init(socket: UDPSocket) {
        self.socket = socket
        Thread.detachNewThread { [self] in
            var buffer = [UInt8](repeating: 0, count: 4096)
            while !self.stopped {
                var peer = sockaddr_in()
                var length = socklen_t(MemoryLayout<sockaddr_in>.size)
                let count = withUnsafeMutablePointer(to: &peer) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(self.socket.fd, &buffer, buffer.count, 0, $0, &length) }
                }
                guard count > 0 else { continue }
                _ = withUnsafePointer(to: &peer) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(self.socket.fd, buffer, count, 0, $0, length) }
                }
            }
        }
    }

    func stop() {
        stopped = true
        shutdown(socket.fd, Int32(SHUT_RDWR))
    }
}
