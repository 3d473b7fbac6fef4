import Foundation
import KindlingNet
import KindlingProcess

/// A model of a node's sandboxes and processes that answers as the kernel would, for the pod runtime's unit
/// tests: a process runs until it exits or a signal ends it, and stays a zombie (not alive, its code not yet
/// read) until it is reaped once; a process cannot start in a sandbox that is gone (setns(2) would fail);
/// removing a sandbox kills everything inside; a stale namespace of the same name is replaced.
public final class FakePodMachine: PodMachine, @unchecked Sendable {
    /// What a started command does.
    public enum Behavior: Sendable, Equatable {
        case runs
        case exits(Int32)
        /// Runs, and lives through SIGTERM (only SIGKILL ends it).
        case ignoresTerm
    }

    public struct Process: Sendable {
        public var argv: [String]
        public var netns: String
        public var environment: [String: String]
        public var behavior: Behavior
        public var exit: Int32?
        public var reaped = false
        public var signals: [Int32] = []
    }

    private let lock = NSLock()
    private var nextPid: Int32 = 1000
    private var table: [Int32: Process] = [:]
    private var sandboxes: [String: Int32] = [:]
    private var failures: [Error] = []
    private let commands: [String: String]
    private let behavior: @Sendable ([String]) -> Behavior

    /// `commands`: what the containers' PATH has, by name; `behavior`: what each command line does.
    public init(commands: [String: String] = ["sh": "/bin/sh", "sleep": "/usr/bin/sleep", "false": "/bin/false", "true": "/bin/true"],
                behavior: @escaping @Sendable ([String]) -> Behavior = { _ in .runs }) {
        self.commands = commands
        self.behavior = behavior
    }

    /// The next sandbox creation fails with `error` (as a refused link or a full /run would).
    public func failNextSandbox(_ error: Error) { lock.withLock { failures.append(error) } }

    // MARK: What tests look at

    /// The processes started for containers, oldest first (sandbox holders left out).
    public var containers: [(pid: Int32, process: Process)] {
        lock.withLock { table.filter { $0.value.argv != Self.holder }.sorted { $0.key < $1.key }.map { ($0.key, $0.value) } }
    }

    public var sandboxNames: Set<String> { lock.withLock { Set(sandboxes.keys) } }

    static let holder = ["/usr/bin/sleep", "infinity"]

    // MARK: PodMachine

    public func createSandbox(_ record: PodRecord, node: NetNamespace, setup: Spawn.Sandbox, etcFiles: String) async throws -> ProcessRef? {
        try lock.withLock {
            if sandboxes[record.netns] != nil { killAll(in: record.netns) }
            if !failures.isEmpty { throw failures.removeFirst() }
            let pid = spawn(Self.holder, netns: record.netns, environment: [:], behavior: .runs)
            sandboxes[record.netns] = pid
            return ProcessRef(pid: pid, startTicks: UInt64(pid))
        }
    }

    public func removeSandbox(_ record: PodRecord) async throws {
        lock.withLock {
            if sandboxes[record.netns] != nil { killAll(in: record.netns) }
        }
    }

    public func startContainer(_ argv: [String], in record: PodRecord, sandbox: ProcessRef, options: ContainerStart) throws -> ProcessRef? {
        try lock.withLock {
            guard sandboxes[record.netns] == sandbox.pid, table[sandbox.pid]?.exit == nil else {
                throw SystemError("setns into the sandbox of \(record.netns)", errno: ENOENT)
            }
            let pid = spawn(argv, netns: record.netns, environment: options.environment, behavior: behavior(argv))
            return ProcessRef(pid: pid, startTicks: UInt64(pid))
        }
    }

    public func resolve(_ command: String) -> String? {
        command.hasPrefix("/") ? (commands.values.contains(command) ? command : nil) : commands[command]
    }

    public func exitCode(_ process: ProcessRef) -> Int32? {
        lock.withLock {
            guard let entry = table[process.pid], let code = entry.exit, !entry.reaped else { return nil }
            table[process.pid]?.reaped = true
            return code
        }
    }

    public func isAlive(_ process: ProcessRef) -> Bool { lock.withLock { table[process.pid].map { $0.exit == nil } ?? false } }

    public func signal(_ process: ProcessRef, _ signal: Int32, group: Bool) {
        lock.withLock {
            guard var entry = table[process.pid] else { return }
            entry.signals.append(signal)
            if entry.exit == nil, signal == SIGKILL || (signal == SIGTERM && entry.behavior != .ignoresTerm) { entry.exit = 128 + signal }
            table[process.pid] = entry
        }
    }

    public func anyEnded(_ processes: Set<ProcessRef>) -> Bool {
        lock.withLock { processes.contains { table[$0.pid]?.exit != nil || table[$0.pid] == nil } }
    }

    // MARK: The model (under the lock)

    private func spawn(_ argv: [String], netns: String, environment: [String: String], behavior: Behavior) -> Int32 {
        nextPid += 1
        var process = Process(argv: argv, netns: netns, environment: environment, behavior: behavior)
        if case .exits(let code) = behavior { process.exit = code }
        table[nextPid] = process
        return nextPid
    }

    /// Everything in the namespace is killed and reaped, and the namespace goes.
    private func killAll(in netns: String) {
        for (pid, process) in table where process.netns == netns && !process.reaped {
            if process.exit == nil { table[pid]?.exit = 128 + SIGKILL }
            table[pid]?.reaped = true
        }
        sandboxes[netns] = nil
    }
}
