import Foundation
import KindlingNet
import KindlingProcess

/// What the pod runtime asks of the machine, as kubelet asks its container runtime: a sandbox per pod made
/// and removed, processes started in it, watched and signalled. `HostPodMachine` does it with network
/// namespaces, veths and processes; `FakePodMachine` keeps a model of the same for unit tests.
public protocol PodMachine: Sendable {
    /// Makes the pod's network namespace (a stale one of that name goes first), wires it to the node (veth,
    /// addresses, routes), publishes its /etc files for `ip netns exec` and starts the process holding its
    /// mount and UTS namespaces, which is returned (nil when it ended at once).
    func createSandbox(_ record: PodRecord, node: NetNamespace, setup: Spawn.Sandbox, etcFiles: String) async throws -> ProcessRef?
    /// Kills whatever is left in the pod's network namespace, then removes its link, route and namespace.
    func removeSandbox(_ record: PodRecord) async throws
    /// Starts a container's process inside the sandbox, its namespaces joined; nil when it ended at once.
    func startContainer(_ argv: [String], in record: PodRecord, sandbox: ProcessRef, options: ContainerStart) throws -> ProcessRef?
    /// Where `command` is on the containers' PATH; nil when it is nowhere.
    func resolve(_ command: String) -> String?
    /// The exit code of a process that has ended (reaped now), nil while it runs.
    func exitCode(_ process: ProcessRef) -> Int32?
    func isAlive(_ process: ProcessRef) -> Bool
    /// Sends `signal` to the process, or to its process group (what it started goes too).
    func signal(_ process: ProcessRef, _ signal: Int32, group: Bool)
    /// Whether any of `processes` has ended, cheaply: asked about every container ten times a second.
    func anyEnded(_ processes: Set<ProcessRef>) -> Bool
}

/// A container's process besides its command line: its log, directory, variables and standard streams.
public struct ContainerStart: Sendable {
    public var logPath: String?
    public var workingDirectory: String?
    public var environment: [String: String]
    /// Its standard input, and its output when it has a terminal (`tty`), which its log then does not take.
    public var stdin: Int32?
    public var output: Int32?
    public var terminal: Bool
    /// The name its command was given by (`sh`), which the process sees as its `argv[0]`.
    public var argv0: String?

    public init(logPath: String?, workingDirectory: String?, environment: [String: String], stdin: Int32? = nil, output: Int32? = nil,
                terminal: Bool = false) {
        self.logPath = logPath
        self.workingDirectory = workingDirectory
        self.environment = environment
        self.stdin = stdin
        self.output = output
        self.terminal = terminal
    }
}

/// The pod machine of a real node: namespaces, veths and routes over rtnetlink, processes through `Spawn`.
public final class HostPodMachine: PodMachine, @unchecked Sendable {
    private let lock = NSLock()
    private let exits = ExitWatch()

    public init() {}

    public func createSandbox(_ record: PodRecord, node: NetNamespace, setup: Spawn.Sandbox, etcFiles: String) async throws -> ProcessRef? {
        try HostPodMachine.publishForIPNetnsExec(NetNamespace(record.netns), from: etcFiles)
        if NetNamespace(record.netns).exists { try NetNamespace(record.netns).delete() }
        let namespace = try NetNamespace.create(record.netns)
        try record.link.attach(node: node)
        return ProcessRef(pid: try Spawn.start(["/usr/bin/sleep", "infinity"], options: .init(namespace: namespace, sandbox: setup)))
    }

    /// `ip netns exec <pod's namespace>` bind-mounts /etc/netns/<name>/* over /etc: the pod's own hosts,
    /// hostname and resolv.conf, so commands run that way see what the pod's processes see.
    static func publishForIPNetnsExec(_ namespace: NetNamespace, from directory: String) throws {
        let published = namespace.etcDirectory
        try FileManager.default.createDirectory(atPath: published, withIntermediateDirectories: true)
        for file in ["hosts", "hostname", "resolv.conf"] {
            try? FileManager.default.removeItem(atPath: published + "/" + file)
            try FileManager.default.copyItem(atPath: directory + "/" + file, toPath: published + "/" + file)
        }
    }

    public func removeSandbox(_ record: PodRecord) async throws {
        // Everything still inside the pod's network namespace goes: containers, what they started, the
        // sandbox, and commands someone ran there with exec.
        let namespace = NetNamespace(record.netns)
        for _ in 0..<50 {
            let remaining = namespace.processes()
            if remaining.isEmpty { break }
            for pid in remaining { kill(pid, SIGKILL) }
            for pid in remaining { _ = Spawn.reap(pid) }
            try? await Task.sleep(for: .milliseconds(10))
        }
        try await NamespaceThread.shared.perform(in: nil) { [link = record.link] in
            try RouteSocket().deleteLink(link.hostDevice)
            try RouteSocket().deleteRoute(link.hostRoute, owner: .podLinks)
        }
        try namespace.delete()
    }

    public func startContainer(_ argv: [String], in record: PodRecord, sandbox: ProcessRef, options: ContainerStart) throws -> ProcessRef? {
        var spawn = Spawn.Options(
            namespace: NetNamespace(record.netns), joinSandboxOf: sandbox.pid, logPath: options.logPath, workingDirectory: options.workingDirectory,
            environment: options.environment, stdin: options.stdin, output: options.output, terminal: options.terminal)
        spawn.argv0 = options.argv0
        let pid = try Spawn.start(argv, options: spawn)
        // A command that ends at once (`echo`) may be a zombie before its start time is read: it is still our
        // child, to be reaped for its exit code, not a container that never started (which would run it again).
        return ProcessRef(pid: pid) ?? ProcessRef(pid: pid, startTicks: 0)
    }

    public func resolve(_ command: String) -> String? { Spawn.resolve(command, path: ImageCatalog.containerPath) }

    public func exitCode(_ process: ProcessRef) -> Int32? { Spawn.reap(process.pid).map(Spawn.exitCode) }

    public func isAlive(_ process: ProcessRef) -> Bool { process.isAlive }

    public func signal(_ process: ProcessRef, _ signal: Int32, group: Bool) {
        // Each container is its own process group (kl_spawn's setsid).
        kill(group ? -process.pid : process.pid, signal)
    }

    public func anyEnded(_ processes: Set<ProcessRef>) -> Bool { lock.withLock { exits.anyEnded(processes) } }
}
