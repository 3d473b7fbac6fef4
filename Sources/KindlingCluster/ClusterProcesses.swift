import Foundation
import KindlingAddresses
import KindlingAPI
import KindlingNet

/// The files and processes of a running cluster: where its socket, pid file and logs are, and how to find
/// and stop every process of it (by its command line, so this works without a pid file after a crash).
public struct ClusterProcesses: Sendable {
    public let cluster: String
    public let stateRoot: String
    public let runRoot: String

    public init(cluster: String, stateRoot: String = ClusterNames.stateRoot, runRoot: String = ClusterNames.runRoot) {
        self.cluster = cluster
        self.stateRoot = stateRoot
        self.runRoot = runRoot
    }

    var names: ClusterNames { ClusterNames(cluster: cluster) }
    public var runDirectory: String { names.runDirectory(root: runRoot) }
    public var stateDirectory: String { names.stateDirectory(root: stateRoot) }
    public var socketPath: String { runDirectory + "/api.sock" }
    /// The API's TLS endpoint as a unix socket, which the control-plane node's agent forwards port 6443 to.
    public var tlsSocketPath: String { runDirectory + "/api-tls.sock" }
    public var supervisorPIDPath: String { runDirectory + "/supervisor.pid" }
    public var storePath: String { stateDirectory + "/store.sqlite" }
    public var logDirectory: String { stateDirectory + "/logs" }
    public func logPath(_ process: String) -> String { "\(logDirectory)/\(process).log" }

    /// The daemon subcommands; every one takes `--name <cluster>`.
    public static let daemonVerbs: Set<String> = ["server", "agent", "supervise"]

    /// Pids of this cluster's kindling daemons, read from /proc: all of them, or those of one verb
    /// (`server`, `agent`), or one node's agent.
    public func pids(verb: String? = nil, node: String? = nil) -> [pid_t] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry -> pid_t? in
            guard let pid = pid_t(entry), pid != getpid(),
                  let raw = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { return nil }
            let argv = raw.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            func option(_ flag: String) -> String? { argv.firstIndex(of: flag).flatMap { $0 + 1 < argv.count ? argv[$0 + 1] : nil } }
            // Any binary named kindling*: the benchmarks run one build beside another (`--kindling`), and
            // `delete cluster` must find a cluster's daemons whichever build started them.
            guard argv.count >= 4, (argv[0] as NSString).lastPathComponent.hasPrefix("kindling"),
                  ClusterProcesses.daemonVerbs.contains(argv[1]), verb == nil || argv[1] == verb,
                  option("--name") == cluster, node == nil || option("--node") == node else { return nil }
            return pid
        }
    }

    /// Pids of every process inside one of the cluster's network namespaces: pod containers and sandboxes
    /// (which outlive their agent by design), agents, and anything a user started with `exec`.
    public func pidsInNamespaces() -> [pid_t] {
        NetNamespace.processes(in: NetNamespace.list(prefix: names.netnsPrefix))
    }

    /// Stops the supervisor (which stops its children), then kills whatever of the cluster still runs:
    /// daemons found by command line, and every process inside the cluster's namespaces.
    public func stopAll(grace: TimeInterval = 3) {
        if let text = try? String(contentsOfFile: supervisorPIDPath, encoding: .utf8),
           let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)), pids().contains(pid) {
            kill(pid, SIGTERM)
            let deadline = Date().addingTimeInterval(grace)
            while Date() < deadline && !pids().isEmpty { usleep(20_000) }
        }
        for _ in 0..<50 {
            let remaining = pids() + pidsInNamespaces()
            if remaining.isEmpty { return }
            for pid in remaining { kill(pid, SIGKILL) }
            usleep(20_000)
        }
    }

    /// This executable's absolute path, to start daemons with.
    public static var executable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }
}
