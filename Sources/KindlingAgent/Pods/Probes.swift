import AsyncHTTPClient
import Foundation
import KindlingAddresses
import KindlingAPI
import KindlingNet
import KindlingProcess

/// Probes and lifecycle hooks as a kubelet runs them: HTTP GET and TCP connect from the node to the pod's IP,
/// exec inside the container's sandbox, sleep. Each has its timeout; any error is a failure, with kubelet's
/// words for it (which its events show).
enum Probes {
    struct Target: Sendable {
        let ip: IPv4Address
        let container: Container
        let netns: NetNamespace
        let sandboxPID: pid_t?
        /// The container's variables, which exec commands get too.
        var environment: [String: String]
    }

    /// One handler of a probe or a hook.
    enum Action: Sendable {
        case http(Probe.HTTPGet)
        case tcp(Probe.TCPSocket)
        case exec([String])
        case sleep(Int64)
        /// A lifecycle tcpSocket: accepted, and as kubelet does, not run.
        case nothing

        init(_ probe: Probe) {
            self = if let get = probe.httpGet { .http(get) } else if let socket = probe.tcpSocket { .tcp(socket) }
                else { .exec(probe.exec?.command ?? []) }
        }

        init(_ hook: Lifecycle.Handler) {
            self = if let get = hook.httpGet { .http(get) } else if let command = hook.exec?.command { .exec(command) }
                else if let sleep = hook.sleep { .sleep(sleep.seconds) } else { .nothing }
        }
    }

    /// Whether it succeeded, and what kubelet says when it did not.
    struct Result: Sendable, Equatable {
        var ok: Bool
        var message: String

        static let success = Result(ok: true, message: "")
        static func failure(_ message: String) -> Result { Result(ok: false, message: message) }
    }

    static let http = HTTPClient(eventLoopGroupProvider: .singleton)

    static func run(_ probe: Probe, target: Target) async -> Result {
        await run(Action(probe), target: target, timeout: Double(probe.timeoutSeconds ?? 1))
    }

    static func run(_ action: Action, target: Target, timeout: Double) async -> Result {
        switch action {
        case .http(let get):
            guard let port = port(get.port, target.container) else { return .failure("unknown port \(get.port)") }
            let path = get.path ?? "/"
            let url = "\((get.scheme ?? "HTTP").lowercased())://\(get.host ?? target.ip.description):\(port)\(path.hasPrefix("/") ? path : "/" + path)"
            var request = HTTPClientRequest(url: url)
            request.headers.add(name: "User-Agent", value: "kube-probe/\(KubernetesVersion.major).\(KubernetesVersion.minor)")
            for header in get.httpHeaders ?? [] { request.headers.replaceOrAdd(name: header.name, value: header.value) }
            do {
                let response = try await http.execute(request, timeout: .milliseconds(Int64(timeout * 1000)))
                _ = try? await response.body.collect(upTo: 1 << 20)
                let code = Int(response.status.code)
                return (200..<400).contains(code) ? .success : .failure("HTTP probe failed with statuscode: \(code)")
            } catch let error as HTTPClientError where error == .deadlineExceeded {
                return .failure("Get \"\(url)\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)")
            } catch {
                return .failure("Get \"\(url)\": dial tcp \(target.ip):\(port): connect: connection refused")
            }
        case .tcp(let socket):
            guard let port = port(socket.port, target.container) else { return .failure("unknown port \(socket.port)") }
            let ip = socket.host.flatMap(IPv4Address.init) ?? target.ip
            return await connects(to: ip, port: port, timeout: timeout) ? .success
                : .failure("dial tcp \(ip):\(port): connect: connection refused")
        case .exec(let command):
            return await exec(command, target: target, timeout: timeout)
        case .sleep(let seconds):
            try? await Task.sleep(for: .seconds(seconds))
            return .success
        case .nothing:
            return .success
        }
    }

    /// A command run inside the container's sandbox with its variables: a success when it exits 0, its output
    /// the message otherwise (as kubelet's exec probe reports it).
    static func exec(_ command: [String], target: Target, timeout: Double) async -> Result {
        guard let first = command.first, let sandbox = target.sandboxPID else { return .failure("no command") }
        guard let path = Spawn.resolve(first, path: PodRuntime.containerPath) else {
            return .failure("exec: \"\(first)\": executable file not found in $PATH")
        }
        let output = NSTemporaryDirectory() + "kl-exec-" + UUID().uuidString
        defer { unlink(output) }
        var options = Spawn.Options(namespace: target.netns, joinSandboxOf: sandbox, logPath: output, environment: target.environment)
        options.argv0 = first
        guard let pid = try? Spawn.start([path] + command.dropFirst(), options: options) else { return .failure("cannot start \(first)") }
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let status = Spawn.reap(pid) {
                let code = Spawn.exitCode(status)
                if code == 0 { return .success }
                let text = String(decoding: (FileManager.default.contents(atPath: output) ?? Data()).prefix(10 * 1024), as: UTF8.self)
                return .failure(text.isEmpty ? "command \(command) exited with \(code)" : text)
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
        kill(pid, SIGKILL)
        _ = Spawn.wait(pid)
        return .failure("command timed out: \"\(command.joined(separator: " "))\" timed out after \(Int(timeout))s")
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
