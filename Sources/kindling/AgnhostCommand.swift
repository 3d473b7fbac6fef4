import ArgumentParser
import Foundation
import Hummingbird
import KindlingAddresses
import KindlingAPI
import NIOCore

/// Kindling's stand-in for Kubernetes' e2e test image `registry.k8s.io/e2e-test-images/agnhost`: pods with
/// that image run this, with agnhost's own arguments.
struct AgnhostCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agnhost",
        abstract: "agnhost's test servers, for pods with the agnhost image (netexec).",
        shouldDisplay: false,
        subcommands: [NetExec.self]
    )
}

/// A request context that knows the caller's address, for /clientip.
struct PeerRequestContext: RequestContext, RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteAddress: SocketAddress?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}

struct NetExec: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "netexec",
        abstract: "HTTP server with agnhost netexec's endpoints: /, /hostname, /clientip, /echo?msg=, /healthz, /header?key=, /shell?cmd=, /exit?code=; UDP server answering `hostname`, `echo MSG` and `clientip`."
    )

    @Option(name: .customLong("http-port"), help: "HTTP port to listen on.")
    var httpPort: Int = 8080

    @Option(name: .customLong("udp-port"), help: "UDP port to listen on (-1: none).")
    var udpPort: Int = 8081

    @Option(name: .customLong("delay-shutdown"), help: "Accepted for compatibility.")
    var delayShutdown: Int = 0

    func run() async throws {
        let router = Router(context: PeerRequestContext.self)
        router.get("/") { _, _ in "NOW: \(Timestamp.string())" }
        router.get("/hostname") { _, _ in ProcessInfo.processInfo.hostName }
        router.get("/clientip") { _, context -> String in
            guard let peer = context.remoteAddress, let ip = peer.ipAddress else { return "" }
            return "\(ip):\(peer.port ?? 0)"
        }
        router.get("/echo") { request, _ in request.uri.queryParameters.get("msg") ?? "" }
        router.get("/healthz") { _, _ in "ok" }
        router.get("/header") { request, _ -> String in
            guard let key = request.uri.queryParameters.get("key") else { return "" }
            return request.headers.first { $0.name.canonicalName == key.lowercased() }?.value ?? ""
        }
        router.get("/shell") { request, _ -> String in
            let command = request.uri.queryParameters.get("cmd") ?? ""
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", command]
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = pipe
            try process.run()
            let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            let body = try JSONSerialization.data(withJSONObject: ["output": output])
            return String(decoding: body, as: UTF8.self)
        }
        router.get("/exit") { request, _ -> String in
            let code = Int32(request.uri.queryParameters.get("code") ?? "0") ?? 0
            Foundation.exit(code)
        }
        if udpPort > 0 { try UDPNetExec.start(port: udpPort) }
        let app = Application(router: router, configuration: .init(address: .hostname("0.0.0.0", port: httpPort), serverName: "agnhost"))
        print("Started HTTP server on port \(httpPort)")
        // SIGTERM ends it at once, as it ends agnhost (a Go program): a graceful drain would keep the listening
        // socket open without accepting, so new connections would hang until the grace period's SIGKILL.
        try await app.runService(gracefulShutdownSignals: [])
    }
}

/// netexec's UDP side: each datagram is a command (`hostname`, `echo MSG`, `clientip`), answered with one
/// datagram. Blocking calls on a thread of its own: a test server needs nothing more.
enum UDPNetExec {
    static func start(port: Int) throws {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw CLIError("udp socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw CLIError("udp bind :\(port): \(String(cString: strerror(errno)))") }
        print("Started UDP server on port \(port)")
        Thread.detachNewThread { serve(fd) }
    }

    static func serve(_ fd: Int32) {
        var buffer = [UInt8](repeating: 0, count: 2048)
        while true {
            var peer = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let count = withUnsafeMutablePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, &buffer, buffer.count, 0, $0, &length) }
            }
            guard count > 0 else { continue }
            let request = String(decoding: buffer[..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            let reply = answer(request, peer: "\(IPv4Address(UInt32(bigEndian: peer.sin_addr.s_addr))):\(UInt16(bigEndian: peer.sin_port))")
            _ = withUnsafePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, reply, reply.utf8.count, 0, $0, length) }
            }
        }
    }

    static func answer(_ request: String, peer: String) -> String {
        let words = request.split(separator: " ", maxSplits: 1)
        switch words.first {
        case "hostname": return ProcessInfo.processInfo.hostName
        case "echo": return words.count > 1 ? String(words[1]) : ""
        case "clientip": return peer
        default: return "unknown command"
        }
    }
}
