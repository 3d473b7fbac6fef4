import Foundation

/// Where a cluster's kernel objects and files live, all derived from its name so that `delete cluster`
/// finds every one of them by prefix, even after a crash lost the state file.
///
/// Network namespaces are `kl-<cluster>.<what>`: cluster names are DNS labels (no dots), so the dot ends
/// the prefix and cluster `a` never matches cluster `a-b`'s objects.
public struct ClusterNames: Hashable, Sendable {
    public let cluster: String

    public init(cluster: String) { self.cluster = cluster }

    public static let maxLength = 40

    /// Why `name` cannot name a cluster, or nil when it can.
    public static func problem(with name: String) -> String? {
        if name.isEmpty { return "must not be empty" }
        if name.count > maxLength { return "must be no more than \(maxLength) characters" }
        return LabelValidation.dns1123LabelProblems(name).first
    }

    /// Every network namespace of this cluster starts with this.
    public var netnsPrefix: String { "kl-\(cluster)." }
    /// The namespace holding the bridge that joins all nodes: kind's docker network.
    public var underlayNetns: String { netnsPrefix + "net" }
    /// A machine outside the cluster on the node network, for NodePort and LoadBalancer traffic
    /// (`kindling exec --external`).
    public var externalNetns: String { netnsPrefix + "external" }
    /// The namespace of a node named `<cluster>-<suffix>` is `kl-<cluster>.<suffix>`.
    public func nodeNetns(node: String) -> String {
        let own = "\(cluster)-"
        return netnsPrefix + (node.hasPrefix(own) ? String(node.dropFirst(own.count)) : node)
    }

    /// The bridge inside the underlay namespace.
    public static let underlayBridge = "kind"
    /// A node's own end of its underlay link, as in a kind node container.
    public static let nodeUplink = "eth0"
    /// The underlay end of node `index`'s link (interface names are limited to 15 bytes).
    public static func underlayPort(nodeIndex: Int) -> String { "node\(nodeIndex)" }
    /// The underlay end of the external client's link.
    public static let externalPort = "external"

    /// Persistent state: config, store. Lives on disk like kind's docker volumes.
    public func stateDirectory(root: String = ClusterNames.stateRoot) -> String { "\(root)/\(cluster)" }
    /// Runtime files: sockets, pid files. Gone at reboot, as the namespaces are.
    public func runDirectory(root: String = ClusterNames.runRoot) -> String { "\(root)/\(cluster)" }
    /// Present while `kindling node stop` holds a node down: the supervisor keeps its agent stopped.
    public func stoppedNodeMarker(node: String, root: String = ClusterNames.stateRoot) -> String {
        stateDirectory(root: root) + "/stopped-nodes/\(node)"
    }

    /// Persistent volumes' directories (the `standard` class's), one per volume; they outlive pods, not the cluster.
    public func volumesDirectory(root: String = ClusterNames.stateRoot) -> String { stateDirectory(root: root) + "/volumes" }
    /// Pod state the agents keep (records, container logs), one directory per pod uid.
    public func podsDirectory(root: String = ClusterNames.stateRoot) -> String { stateDirectory(root: root) + "/pods" }
    /// A container's log: written by its node's agent, read by `kindling logs` and the API's `pods/log`.
    /// With `previous`, the log of the instance before (kept when it restarted).
    public static func containerLogPath(podsDirectory: String, uid: String, container: String, previous: Bool = false) -> String {
        "\(podsDirectory)/\(uid)/logs/\(container)\(previous ? ".previous" : "").log"
    }

    /// The socket through which a container's standard input is reached (`attach -i`, `run -i`): under the run
    /// directory, named by a hash, as a unix socket's path has to fit in 108 bytes.
    public func containerInputSocket(uid: String, container: String, root: String = ClusterNames.runRoot) -> String {
        runDirectory(root: root) + "/stdin/" + String(format: "%08x", FNV1a.hash32("\(uid)/\(container)".utf8)) + ".sock"
    }

    public static let stateRoot = "/var/lib/kindling"
    public static let runRoot = "/run/kindling"
}
