import CLinuxShim
import Foundation
import KindlingAddresses
import KindlingAPI
import KindlingNet
import KindlingProcess

/// `kindling supervise`: keeps the cluster's server and one agent per node running, restarting any that
/// exits (with a backoff), and stops them all on SIGTERM. Each child logs to its own file.
public struct Supervisor {
    public struct Child {
        public let name: String
        public let arguments: [String]
        public let namespace: NetNamespace?
        /// An agent's node: kept stopped while `kindling node stop` marks it so.
        public var node: String? = nil
        var pid: pid_t?
        var startedAt = Date.distantPast
        var restarts = 0
        var notBefore = Date.distantPast
    }

    /// A child that ran this long before it exited was not crash-looping: its backoff starts over (kubelet
    /// resets a container's after 10 minutes; kindling's daemons start in well under a second).
    static let stableRun: TimeInterval = 10

    public let processes: ClusterProcesses
    public var children: [Child]

    public init(config: ClusterConfig, processes: ClusterProcesses) {
        self.processes = processes
        let binary = ClusterProcesses.executable
        let topology = ClusterTopology(config)
        var children = [Child(name: "server", arguments: [binary, "server", "--name", config.name], namespace: nil)]
        for node in topology.nodes {
            children.append(Child(name: "agent-\(node.name)",
                                  arguments: [binary, "agent", "--name", config.name, "--node", node.name],
                                  namespace: node.netns, node: node.name))
        }
        self.children = children
    }

    /// Runs until SIGTERM or SIGINT, then stops every child.
    public mutating func run() throws {
        let stop = StopFlag()
        // Ignored as plain signals, received through dispatch sources instead, so no thread can be killed
        // by them mid-way. Children get default handlers back (kl_spawn resets them).
        let sources = [SIGTERM, SIGINT].map { number -> DispatchSourceSignal in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number)
            source.setEventHandler { stop.set() }
            source.resume()
            return source
        }
        defer { sources.forEach { $0.cancel() } }
        try FileManager.default.createDirectory(atPath: processes.logDirectory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        try "\(getpid())\n".write(toFile: processes.supervisorPIDPath, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: processes.supervisorPIDPath) }

        // Pod processes outlive a restarted agent (as containers outlive a kubelet); when their agent dies
        // they become ours, and we reap them with everything else.
        _ = kl_set_child_subreaper()
        while !stop.isSet {
            let exited = Supervisor.reapAll()
            for index in children.indices { tend(&children[index], exited: exited) }
            usleep(100_000)
        }
        stopChildren()
    }

    /// Reaps every exited child (own daemons and adopted orphans alike) and returns their statuses.
    static func reapAll() -> [pid_t: Int32] {
        var exited: [pid_t: Int32] = [:]
        while true {
            var status: Int32 = 0
            let pid = waitpid(-1, &status, WNOHANG)
            if pid <= 0 { return exited }
            exited[pid] = status
        }
    }

    func tend(_ child: inout Child, exited: [pid_t: Int32]) {
        if let node = child.node, FileManager.default.fileExists(atPath: ClusterNames(cluster: processes.cluster).stoppedNodeMarker(node: node, root: processes.stateRoot)) {
            // A stopped node: its agent goes at once and stays gone; it starts again when the mark is removed.
            if let pid = child.pid {
                kill(pid, SIGKILL)
                if exited[pid] != nil {
                    child.pid = nil
                    log("\(child.name) (pid \(pid)) stopped: node stopped")
                }
            }
            child.notBefore = .distantPast
            child.restarts = 0
            return
        }
        if let pid = child.pid {
            guard let status = exited[pid] else { return }
            child.pid = nil
            if Date().timeIntervalSince(child.startedAt) >= Supervisor.stableRun { child.restarts = 0 }
            child.restarts += 1
            // 1 s, 2 s, 4 s ... up to 10 s between restarts of a child that keeps dying.
            let backoff = min(10, pow(2, Double(min(child.restarts, 4)) - 1))
            child.notBefore = Date().addingTimeInterval(backoff)
            log("\(child.name) (pid \(pid)) exited with status \(status); restarting in \(Int(backoff)) s")
            return
        }
        guard Date() >= child.notBefore else { return }
        do {
            child.pid = try Spawn.start(child.arguments, options: .init(namespace: child.namespace,
                                                                       logPath: processes.logPath(child.name)))
            child.startedAt = Date()
            log("started \(child.name) (pid \(child.pid!))")
        } catch {
            child.notBefore = Date().addingTimeInterval(2)
            log("cannot start \(child.name): \(error)")
        }
    }

    func stopChildren() {
        let pids = children.compactMap(\.pid)
        for pid in pids { kill(pid, SIGTERM) }
        let deadline = Date().addingTimeInterval(3)
        var running = Set(pids)
        while !running.isEmpty && Date() < deadline {
            running.subtract(Supervisor.reapAll().keys)
            usleep(20_000)
        }
        for pid in running { kill(pid, SIGKILL) }
        usleep(50_000)
        _ = Supervisor.reapAll()
        log("stopped")
    }

    func log(_ message: String) {
        FileHandle.standardError.write(Data("\(Timestamp.string()) supervisor: \(message)\n".utf8))
    }
}

final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}
