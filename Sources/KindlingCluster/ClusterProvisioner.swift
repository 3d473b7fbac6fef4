import Foundation
import KindlingAddresses
import KindlingAPI
import KindlingNet

/// Creates and deletes a cluster's machines and wires: the underlay namespace with its bridge, and one
/// namespace per node joined to it by a veth pair. What `kind` does with docker containers and a network.
public struct ClusterProvisioner: Sendable {
    public let stateRoot: String
    public let runRoot: String
    public let progress: StepReporter

    public init(stateRoot: String = ClusterNames.stateRoot, runRoot: String = ClusterNames.runRoot,
                progress: StepReporter = .silent) {
        self.stateRoot = stateRoot
        self.runRoot = runRoot
        self.progress = progress
    }

    public struct AlreadyExists: Error, CustomStringConvertible {
        public let cluster: String
        public init(cluster: String) { self.cluster = cluster }
        public var description: String { "node(s) already exist for a cluster with the name \"\(cluster)\"" }
    }

    /// Fails unless nothing of a cluster by this name exists: no state directory, no namespace.
    public func requireAbsent(_ cluster: String) throws {
        if ClusterState(cluster: cluster, stateRoot: stateRoot).exists
            || !NetNamespace.list(prefix: ClusterNames(cluster: cluster).netnsPrefix).isEmpty {
            throw AlreadyExists(cluster: cluster)
        }
    }

    /// Builds the cluster; on any failure removes whatever it had made and rethrows.
    public func create(_ config: ClusterConfig) throws -> ClusterTopology {
        let topology = ClusterTopology(config)
        let state = ClusterState(cluster: config.name, stateRoot: stateRoot)
        try requireAbsent(config.name)
        progress.say("Creating cluster \"\(config.name)\" ...")
        do {
            try progress.step("Writing configuration 📜") { try state.save(config) }
            try progress.step("Preparing nodes " + topology.nodes.map { _ in "📦" }.joined(separator: " ")) {
                try buildUnderlay(topology)
                for node in topology.nodes { try buildNode(node, in: topology) }
                try buildExternalClient(topology)
            }
        } catch {
            try? delete(cluster: config.name)
            throw error
        }
        return topology
    }

    func buildUnderlay(_ topology: ClusterTopology) throws {
        try NetNamespace.create(topology.underlay.name) { socket in
            try socket.addBridge(ClusterNames.underlayBridge)
            try socket.setUp(ClusterNames.underlayBridge)
        }
    }

    func buildNode(_ node: ClusterTopology.Node, in topology: ClusterTopology) throws {
        try NetNamespace.create(node.netns.name) { _ in
            // A node routes for its pods and for the pod CIDRs of other nodes.
            try Sysctl.set("net.ipv4.ip_forward", "1")
        }
        try plug(node.netns, port: node.underlayPort, address: node.address, into: topology)
    }

    /// Joins `namespace` to the underlay bridge: its `eth0` with `address`, the other end `port` on the bridge.
    func plug(_ namespace: NetNamespace, port: String, address: IPv4Interface, into topology: ClusterTopology) throws {
        try topology.underlay.run { socket in
            try socket.addVeth(port, peer: ClusterNames.nodeUplink, peerNamespace: namespace)
            try socket.setMaster(port, bridge: ClusterNames.underlayBridge)
            try socket.setUp(port)
        }
        try namespace.run { socket in
            try socket.addAddress(address, device: ClusterNames.nodeUplink)
            try socket.setUp(ClusterNames.nodeUplink)
        }
    }

    /// The stand-in for a machine outside the cluster: on the node network, with no route to pods or
    /// services, so it reaches the cluster only through node ports and LoadBalancer IPs, as a real client would.
    func buildExternalClient(_ topology: ClusterTopology) throws {
        try NetNamespace.create(topology.external.name)
        try plug(topology.external, port: ClusterNames.externalPort, address: topology.externalAddress, into: topology)
    }

    /// What `delete` removed, for its report and for tests.
    public struct Teardown: Sendable {
        public var namespaces: [String] = []
        public var directories: [String] = []
    }

    /// Removes everything of the cluster, found by its name's prefix rather than by its state file, so this
    /// also cleans up after a crash or a half-finished create. Deleting a cluster that is not there succeeds.
    @discardableResult
    public func delete(cluster: String) throws -> Teardown {
        let names = ClusterNames(cluster: cluster)
        var teardown = Teardown()
        // Processes first: an agent would otherwise re-create what is being removed.
        ClusterProcesses(cluster: cluster, stateRoot: stateRoot, runRoot: runRoot).stopAll()
        for namespace in NetNamespace.list(prefix: names.netnsPrefix) {
            try namespace.delete()
            teardown.namespaces.append(namespace.name)
        }
        for directory in [names.runDirectory(root: runRoot), names.stateDirectory(root: stateRoot)]
        where FileManager.default.fileExists(atPath: directory) {
            try FileManager.default.removeItem(atPath: directory)
            teardown.directories.append(directory)
        }
        return teardown
    }
}
