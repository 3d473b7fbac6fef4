import ArgumentParser
import Foundation
import KindlingAPI
import KindlingCluster

struct Create: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Creates one of [cluster].", subcommands: [CreateCluster.self])
}

struct CreateCluster: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "Creates a local cluster of network namespaces.",
        discussion: """
            --config takes kind's own config file (kind: Cluster, apiVersion: kind.x-k8s.io/v1alpha4): nodes[].role
            and nodes[].labels, networking.podSubnet, serviceSubnet, kubeProxyMode, apiServerPort. Fields kind knows
            but kindling does not act on are named in a warning; unknown fields are rejected.
            """
    )

    @Option(name: .long, help: "The cluster's name; overrides the config file's name. (default \"kindling\")")
    var name: String?

    @Option(name: .long, help: "Path to a kind config file, or - for standard input.")
    var config: String?

    func run() throws {
        try reportingErrors("failed to create cluster") {
            let text: String
            switch config {
            case nil: text = ""
            case "-": text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
            case let path?:
                guard let data = FileManager.default.contents(atPath: path) else {
                    throw CLIError("failed to create cluster: error reading config file \"\(path)\": no such file")
                }
                text = String(decoding: data, as: UTF8.self)
            }
            let parsed: ClusterConfig
            do {
                parsed = try ClusterConfig.parse(yaml: text, name: name)
            } catch {
                throw CLIError("failed to create cluster: \(error)")
            }
            for warning in parsed.warnings {
                FileHandle.standardError.write(Data("WARNING: \(warning)\n".utf8))
            }
            try requireRoot("kindling create cluster")
            let provisioner = ClusterProvisioner(progress: .standardError)
            let topology = try provisioner.create(parsed)
            print("""

                Nodes of "\(parsed.name)" (network namespaces on bridge "\(ClusterNames.underlayBridge)" in \(topology.underlay.name)):
                \(topology.nodes.map { "  \($0.name)  \($0.address.address)  ip netns exec \($0.netns.name) ..." }.joined(separator: "\n"))

                You can now use your cluster with:

                kindling get nodes --name \(parsed.name)
                kindling exec --name \(parsed.name) --node \(topology.nodes[0].name) -- ip addr

                Delete it with: kindling delete cluster --name \(parsed.name)
                """)
        }
    }
}

struct Delete: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Deletes one of [cluster].", subcommands: [DeleteCluster.self])
}

struct DeleteCluster: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "Deletes a cluster: every namespace, link, mount and file it made, found by its name.",
        discussion: "Works after a crash too, and succeeds when there is nothing to delete, as kind does."
    )

    @OptionGroup var cluster: ClusterOption

    func run() throws {
        try reportingErrors("failed to delete cluster \"\(cluster.name)\"") {
            try requireRoot("kindling delete cluster")
            FileHandle.standardError.write(Data("Deleting cluster \"\(cluster.name)\" ...\n".utf8))
            let teardown = try ClusterProvisioner().delete(cluster: cluster.name)
            for namespace in teardown.namespaces {
                FileHandle.standardError.write(Data("Deleted network namespace: \(namespace)\n".utf8))
            }
        }
    }
}

struct Get: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Gets one of [clusters, nodes].", subcommands: [GetClusters.self, GetNodes.self])
}

struct GetClusters: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "clusters", abstract: "Lists existing clusters.")

    func run() throws {
        let names = ClusterState.clusterNames()
        if names.isEmpty {
            FileHandle.standardError.write(Data("No kindling clusters found.\n".utf8))
        }
        for name in names { print(name) }
    }
}

struct GetNodes: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "nodes", abstract: "Lists a cluster's nodes.")

    @OptionGroup var cluster: ClusterOption

    func run() throws {
        try reportingErrors("failed to list nodes") {
            let topology = try loadTopology(cluster.name)
            for node in topology.nodes { print(node.name) }
        }
    }
}

/// The topology of an existing cluster, from its saved config.
func loadTopology(_ name: String) throws -> ClusterTopology {
    let state = ClusterState(cluster: name)
    guard state.exists else { throw CLIError("unknown cluster \"\(name)\"; `kindling get clusters` lists them") }
    return ClusterTopology(try state.load())
}

struct Exec: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Runs a command inside a node's network namespace.",
        discussion: """
            The command sees the node's view: `ip addr`, `ip route`, `ping` and `curl` from the node.
            It runs under `ip netns exec`, so /etc/netns/<namespace>/ files apply.
            """
    )

    @OptionGroup var cluster: ClusterOption

    @Option(name: .long, help: "The node to run in, e.g. kindling-worker.")
    var node: String

    @Argument(parsing: .captureForPassthrough, help: "The command and its arguments, after --.")
    var command: [String] = []

    func run() throws {
        try reportingErrors("exec failed") {
            try requireRoot("kindling exec")
            let args = command.first == "--" ? Array(command.dropFirst()) : command
            guard !args.isEmpty else { throw CLIError("you must specify at least one command for the node") }
            let topology = try loadTopology(cluster.name)
            guard let target = topology.node(named: node) else {
                throw CLIError("nodes \"\(node)\" not found")
            }
            let argv = ["ip", "netns", "exec", target.netns.name] + args
            let cArgs = argv.map { strdup($0) } + [nil]
            execv("/usr/sbin/ip", cArgs)
            throw CLIError("exec ip netns exec: \(String(cString: strerror(errno)))")
        }
    }
}
