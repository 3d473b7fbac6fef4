import Foundation
import KindlingNet
import KindlingNftables
import KindlingProcess

/// A ruleset the kernel (or iptables-restore) refused, with the tool's own message.
public struct ProxyError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// How a sync went: the whole ruleset written, only the difference, or nothing to do.
public enum ProxySync: String, Sendable {
    case full, partial, unchanged
}

/// One way of programming services into a node's kernel (kube-proxy's `--proxy-mode`). Calls come one at a
/// time from one thread inside the node's namespace.
public protocol ProxyBackend: AnyObject, Sendable {
    /// Makes the kernel's rules match `ports`; on error the kernel keeps the rules it had.
    func sync(_ ports: [ServicePort]) throws -> (ProxySync, rules: Int)
    /// Whether the rules may have changed behind the backend's back since its last sync.
    func drifted() throws -> Bool
}

/// `kubeProxyMode: nftables`: one nf_tables table, see `ProxyRules`. The first sync, and any after a failure or
/// after someone else changed the ruleset, writes the whole table; the others only what the changed service
/// ports change (`ProxyTableState`).
public final class NftablesBackend: ProxyBackend, @unchecked Sendable {
    let node: ProxyRules.Node
    let applier: ProxyApplier
    /// What the kernel has, as far as this backend knows; nil when a full sync is due.
    private var state: ProxyTableState?

    public init(node: ProxyRules.Node, nftables: any Nftables = KernelNftables()) {
        self.node = node
        applier = ProxyApplier(nftables)
    }

    public func sync(_ ports: [ServicePort]) throws -> (ProxySync, rules: Int) {
        // Taken out, so that updating it copies nothing.
        if var state = self.state.take(), !(try applier.drifted()) {
            if let delta = state.update(to: ports) {
                if delta.isEmpty {
                    self.state = state
                    return (.unchanged, state.ruleCount)
                }
                if (try? applier.apply(delta)) != nil {
                    self.state = state
                    return (.partial, state.ruleCount)
                }
            }
        }
        let state = ProxyTableState(ports, node: node)
        try applier.applyFull(state.table)
        self.state = state
        return (.full, state.ruleCount)
    }

    public func drifted() throws -> Bool { try applier.drifted() }
}

/// `kubeProxyMode: iptables`: kube-proxy's chains through `iptables-restore --noflush`, the whole set of
/// chains each sync as kube-proxy's iptables mode does. Drift shows as a change in `iptables-save`'s rules.
/// The machine's `iptables` alternative is used, so `iptables -t nat -L` on the node shows these rules.
public final class IptablesBackend: ProxyBackend, @unchecked Sendable {
    let node: ProxyRules.Node
    /// Where restore input and command output are written (a directory of this node's own).
    let workDirectory: String
    private var applied: [IptablesRules.Table]?
    private var savedDigest: String?

    public init(node: ProxyRules.Node, workDirectory: String) {
        self.node = node
        self.workDirectory = workDirectory
    }

    public func sync(_ ports: [ServicePort]) throws -> (ProxySync, rules: Int) {
        let tables = IptablesRules.render(ports, node: node)
        let rules = tables.reduce(0) { total, table in total + table.rules.values.reduce(0) { $0 + $1.count } }
        if tables == applied, !(try drifted()) { return (.unchanged, rules) }
        try FileManager.default.createDirectory(atPath: workDirectory, withIntermediateDirectories: true)
        let input = workDirectory + "/iptables-restore.input"
        try IptablesRules.restoreInput(tables, existing: try save()).write(toFile: input, atomically: true, encoding: .utf8)
        applied = nil
        let (status, output) = try run(["/usr/sbin/iptables-restore", "-w", "--noflush", input])
        guard status == 0 else { throw ProxyError("iptables-restore: \(output)") }
        applied = tables
        savedDigest = Self.digest(try save())
        return (.full, rules)
    }

    public func drifted() throws -> Bool {
        guard let savedDigest else { return true }
        return Self.digest(try save()) != savedDigest
    }

    func save() throws -> String {
        let (status, output) = try run(["/usr/sbin/iptables-save"])
        guard status == 0 else { throw ProxyError("iptables-save: \(output)") }
        return output
    }

    /// The rules and chains of a save, without its comments (timestamps) and packet counters.
    static func digest(_ save: String) -> String {
        save.split(separator: "\n").filter { !$0.hasPrefix("#") }
            .map { $0.hasPrefix(":") ? String($0.split(separator: " ")[0]) : String($0) }.joined(separator: "\n")
    }

    /// Runs a command to completion and returns its exit status and output. fork/exec without threads
    /// (the caller may be a namespace job).
    func run(_ arguments: [String]) throws -> (Int32, String) {
        let outputPath = workDirectory + "/command.output"
        try FileManager.default.createDirectory(atPath: workDirectory, withIntermediateDirectories: true)
        unlink(outputPath)
        let status = Spawn.wait(try Spawn.start(arguments, options: .init(logPath: outputPath)))
        return (status, (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "")
    }
}
