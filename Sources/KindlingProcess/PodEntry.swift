import Foundation
import KindlingAddresses
import KindlingAPI
import KindlingNet

/// A command started inside a running pod as `kubectl exec` starts one: in the pod's network namespace and its
/// sandbox (mount and UTS namespaces: its files and hostname), with its container's environment. `kindling exec`
/// and the API server's `pods/exec` both enter pods through here, from the record the node's agent keeps.
public struct PodEntry: Sendable {
    public enum Failure: Error, Equatable, CustomStringConvertible {
        case notRunning(pod: String, phase: String)
        case noSuchContainer(String, pod: String)
        case commandNotFound(String)

        /// In the words kubectl and the kubelet use.
        public var description: String {
            switch self {
            case .notRunning(let pod, let phase): "unable to upgrade connection: pod \(pod) is not running (phase \(phase))"
            case .noSuchContainer(let container, let pod): "container \(container) not found in pod \(pod)"
            case .commandNotFound(let command): "exec: \"\(command)\": executable file not found in $PATH"
            }
        }

        /// The exit status a shell gives each: 127 for a command not found.
        public var exitCode: Int32 { if case .commandNotFound = self { 127 } else { 1 } }
    }

    /// Where the command's standard streams go.
    public struct Stdio: Sendable {
        /// Descriptors for stdin (nil: /dev/null), stdout, and stderr (nil: with stdout).
        public var input: Int32?, output: Int32?, errors: Int32?
        /// The caller's own stdin, stdout and stderr instead (`kindling exec` in a shell).
        public var callers: Bool
        /// Make stdin, a terminal nobody controls yet, the controlling terminal of the command's new session, so a
        /// shell there has job control and ^C.
        public var terminal: Bool

        public init(input: Int32? = nil, output: Int32? = nil, errors: Int32? = nil, callers: Bool = false, terminal: Bool = false) {
            self.input = input
            self.output = output
            self.errors = errors
            self.callers = callers
            self.terminal = terminal
        }
    }

    public let pod: String
    public let container: String
    public let record: PodRecord

    /// The entry to `container` (nil: the first) of `pod`, which must be running on this machine.
    public init(cluster: String, pod: Pod, container asked: String?, stateRoot: String = ClusterNames.stateRoot) throws(Failure) {
        let container = asked ?? pod.spec.containers.first?.name ?? ""
        guard pod.spec.everyContainer.contains(where: { $0.name == container }) else { throw .noSuchContainer(container, pod: pod.name) }
        guard let uid = pod.metadata.uid, let record = PodFiles(cluster: cluster, stateRoot: stateRoot).load(uid), record.sandbox?.isAlive == true else {
            throw .notRunning(pod: pod.name, phase: pod.phase)
        }
        self.pod = pod.name
        self.container = container
        self.record = record
    }

    /// The container's environment as it was started (or a shell's PATH and the pod's hostname), with `term`.
    public func environment(term: String?) -> [String: String] {
        var environment = record.containers[container]?.environment
            ?? ["PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOSTNAME": pod]
        if let term { environment["TERM"] = term }
        return environment
    }

    /// Starts `command` (its first word found through the container's PATH) and returns the child.
    public func start(_ command: [String], term: String?, stdio: Stdio) throws -> ChildProcess {
        let environment = environment(term: term)
        guard let first = command.first, let path = Spawn.resolve(first, path: environment["PATH"] ?? "/usr/bin:/bin") else {
            throw Failure.commandNotFound(command.first ?? "")
        }
        let pid = try Spawn.start([path] + command.dropFirst(), options: .init(
            namespace: NetNamespace(record.netns), joinSandboxOf: record.sandbox?.pid, keepStdio: stdio.callers, environment: environment,
            stdin: stdio.input, output: stdio.output, errors: stdio.errors, terminal: stdio.terminal))
        return ChildProcess(pid: pid)
    }
}
