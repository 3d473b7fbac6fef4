import AsyncHTTPClient
import Foundation
import KindlingAddresses
import KindlingAPI
import KindlingNet
import KindlingProcess

/// Readiness probes as a kubelet runs them: HTTP GET and TCP connect from the node to the pod's IP,
/// exec inside the container's sandbox. Each has its timeout; any error is a failure.
enum Probes {
    struct Target: Sendable {
        let ip: IPv4Address
        let container: Container
        let netns: NetNamespace
        let sandboxPID: pid_t?
    }

    static let http = HTTPClient(eventLoopGroupProvider: .singleton)

    static func run(_ probe: Probe, target: Target) async -> Bool {
        let timeout = Double(probe.timeoutSeconds ?? 1)
        if let get = probe.httpGet {
            guard let port = port(get.port, target.container) else { return false }
            let path = get.path ?? "/"
            var request = HTTPClientRequest(url: "http://\(get.host ?? target.ip.description):\(port)\(path.hasPrefix("/") ? path : "/" + path)")
            request.headers.add(name: "User-Agent", value: "kube-probe/\(KubernetesVersion.major).\(KubernetesVersion.minor)")
            do {
                let response = try await http.execute(request, timeout: .milliseconds(Int64(timeout * 1000)))
                _ = try? await response.body.collect(upTo: 1 << 20)
                return (200..<400).contains(Int(response.status.code))
            } catch {
                return false
            }
        }
        if let socket = probe.tcpSocket {
            guard let port = port(socket.port, target.container) else { return false }
            return await connects(to: target.ip, port: port, timeout: timeout)
        }
        if let command = probe.exec?.command, let first = command.first, let sandbox = target.sandboxPID,
           let path = Spawn.resolve(first, path: PodRuntime.containerPath) {
            guard let pid = try? Spawn.start([path] + command.dropFirst(), options: .init(namespace: target.netns, joinSandboxOf: sandbox)) else { return false }
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                if let status = Spawn.reap(pid) { return Spawn.exitCode(status) == 0 }
                try? await Task.sleep(for: .milliseconds(20))
            }
            kill(pid, SIGKILL)
            _ = Spawn.wait(pid)
            return false
        }
        return false
    }

    /// A port given as a number, or as the name of one of the container's ports.
    static func port(_ value: IntOrString, _ container: Container) -> Int? {
        switch value {
        case .int(let port): return port
        case .string(let name): return container.ports?.first { $0.name == name }?.containerPort ?? Int(name)
        }
    }

    static func connects(to ip: IPv4Address, port: Int, timeout: Double) async -> Bool {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
                guard fd >= 0 else { return continuation.resume(returning: false) }
                defer { close(fd) }
                _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
                var address = sockaddr_in()
                address.sin_family = sa_family_t(AF_INET)
                address.sin_port = in_port_t(UInt16(port).bigEndian)
                address.sin_addr.s_addr = ip.value.bigEndian
                let started = withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                }
                if started == 0 { return continuation.resume(returning: true) }
                guard errno == EINPROGRESS else { return continuation.resume(returning: false) }
                var poller = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                guard poll(&poller, 1, Int32(timeout * 1000)) == 1 else { return continuation.resume(returning: false) }
                var error: Int32 = 0
                var length = socklen_t(MemoryLayout<Int32>.size)
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
                continuation.resume(returning: error == 0)
            }
        }
    }
}
