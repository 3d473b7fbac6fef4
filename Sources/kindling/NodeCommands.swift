import ArgumentParser
import Foundation
import KindlingAddresses
import KindlingAPI
import KindlingCluster
import KindlingNet

/// `kindling node stop|start NAME`: a node failing and coming back, for trying out what Kubernetes does then
/// (NotReady after the grace period, endpoints removed, LoadBalancer addresses moved, pods evicted and made
/// again elsewhere, stale pods cleaned up on return).
struct NodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node",
        abstract: "Stops a node (its agent, and its link to the node network) or starts it again.",
        subcommands: [NodeStop.self, NodeStart.self]
    )
}

struct NodeStop: NodeSwitchCommand {
    static let configuration = CommandConfiguration(
        commandName: "stop",
        abstract: "Stops a node: its agent is killed and kept down, and its link to the node network goes down.",
        discussion: "Its pods' processes keep running, cut off, as on a machine that lost its network. After the control plane's grace period (40 s; KINDLING_NODE_MONITOR_GRACE_PERIOD at create time) the node is NotReady; after the eviction timeout (300 s; KINDLING_POD_EVICTION_TIMEOUT) its pods are deleted and their controllers make new ones elsewhere."
    )
    static let stopping = true

    @OptionGroup var cluster: ClusterOption
    @Argument(help: "The node's name, as `kindling get nodes` shows it.") var node: String
}

struct NodeStart: NodeSwitchCommand {
    static let configuration = CommandConfiguration(
        commandName: "start",
        abstract: "Starts a stopped node again: its link comes up and the supervisor starts its agent."
    )
    static let stopping = false

    @OptionGroup var cluster: ClusterOption
    @Argument(help: "The node's name, as `kindling get nodes` shows it.") var node: String
}

protocol NodeSwitchCommand: AsyncParsableCommand {
    static var stopping: Bool { get }
    var cluster: ClusterOption { get }
    var node: String { get }
}

extension NodeSwitchCommand {
    func run() async throws {
        try await reportingErrors("node \(Self.stopping ? "stop" : "start")") {
            try NodeSwitch(cluster: cluster.name, node: node).set(stopped: Self.stopping)
            print("node/\(node) \(Self.stopping ? "stopped" : "started")")
        }
    }
}

/// The two halves of a node stop: the supervisor's mark (it then keeps the agent down) and the node's port on
/// the underlay bridge.
struct NodeSwitch {
    let cluster: String
    let node: String

    func set(stopped: Bool) throws {
        let (_, topology) = try loadCluster(cluster)
        guard let spec = topology.node(named: node) else { throw CLIError("nodes \"\(node)\" not found") }
        let names = ClusterNames(cluster: cluster)
        let marker = names.stoppedNodeMarker(node: node)
        if stopped {
            try FileManager.default.createDirectory(atPath: (marker as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            FileManager.default.createFile(atPath: marker, contents: nil)
        } else if FileManager.default.fileExists(atPath: marker) {
            try FileManager.default.removeItem(atPath: marker)
        }
        try NamespaceThread.shared.run(in: NetNamespace(names.underlayNetns)) {
            let socket = try RouteSocket()
            if stopped { try socket.setDown(spec.underlayPort) } else { try socket.setUp(spec.underlayPort) }
        }
        // Done when the supervisor has acted: the agent gone, or running again.
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline, agentRunning() == stopped { usleep(50_000) }
        guard agentRunning() != stopped else { throw CLIError("the supervisor did not \(stopped ? "stop" : "start") \(node)'s agent within 5 s") }
    }

    func agentRunning() -> Bool { !ClusterProcesses(cluster: cluster).pids(verb: "agent", node: node).isEmpty }
}
