import ArgumentParser
import Foundation
import Hummingbird
import KindlingAPI
import NIOCore

/// Kindling's stand-in for Kubernetes' e2e test image `registry.k8s.io/e2e-test-images/agnhost`: pods with
/// that image run this, with agnhost's own arguments.
struct AgnhostCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agnhost",
        abstract: "agnhost's test servers, for pods with the agnhost image (netexec).",
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
        abstract: "HTTP server with agnhost netexec's endpoints: /, /hostname, /clientip, /echo?msg=, /healthz, /header?key=, /shell?cmd=, /exit?code=."
    )

    @Option(name: .customLong("http-port"), help: "HTTP port to listen on.")
    var httpPort: Int = 8080

    @Option(name: .customLong("udp-port"), help: "Accepted for compatibility; kindling's netexec serves HTTP only.")
    var udpPort: Int = -1

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
        let app = Application(router: router, configuration: .init(address: .hostname("0.0.0.0", port: httpPort), serverName: "agnhost"))
        print("Started HTTP server on port \(httpPort)")
        try await app.runService()
    }
}
