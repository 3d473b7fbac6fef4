import ArgumentParser
import Foundation
import KindlingAddresses
import KindlingAPI
import KindlingCluster
import KindlingServer

/// `--kubeconfig` as kind takes it: the file a cluster's context is written to and removed from.
struct KubeconfigOption: ParsableArguments {
    @Option(name: .customLong("kubeconfig"), help: "The kubeconfig file to update. (default: the first path of $KUBECONFIG, else ~/.kube/config of the user who ran sudo, or of root)")
    var explicitPath: String?

    var path: String {
        explicitPath ?? Kubeconfig.path(environment: ProcessInfo.processInfo.environment, home: Self.home)
    }

    /// Where `~/.kube/config` is: the home of the user behind `sudo`, else this one's.
    static var home: String { sudoUser?.home ?? ProcessInfo.processInfo.environment["HOME"] ?? NSHomeDirectory() }

    /// The user who ran `sudo kindling ...`: their kubeconfig is the one kubectl reads, and stays theirs.
    var sudoUser: (home: String, uid: uid_t, gid: gid_t)? { Self.sudoUser }

    static var sudoUser: (home: String, uid: uid_t, gid: gid_t)? {
        let environment = ProcessInfo.processInfo.environment
        guard let name = environment["SUDO_USER"], name != "root", let entry = getpwnam(name),
              let uid = environment["SUDO_UID"].flatMap(uid_t.init), let gid = environment["SUDO_GID"].flatMap(gid_t.init) else { return nil }
        return (String(cString: entry.pointee.pw_dir), uid, gid)
    }

    var file: KubeconfigFile {
        let user = sudoUser
        let owned = user.map { path.hasPrefix($0.home + "/") } ?? false
        return KubeconfigFile(path: path, owner: owned ? user.map { ($0.uid, $0.gid) } : nil)
    }

    /// Writes the cluster's context into the file and makes it current, as kind does after creating a cluster.
    func export(cluster: String) throws {
        let entry = try kubeconfigEntry(cluster: cluster)
        try file.update { Kubeconfig.merging(entry, into: $0) }
        printError("Set kubectl context to \"\(entry.name)\"")
    }

    /// Removes the cluster's context, user and cluster entries; nothing to do without a file.
    func remove(cluster: String) throws {
        guard FileManager.default.fileExists(atPath: path) else { return }
        try file.update { Kubeconfig.removing(Kubeconfig.contextName(cluster: cluster), from: $0) }
    }
}

/// A created cluster's kubeconfig entry: its TLS port, CA and token, from its state directory.
func kubeconfigEntry(cluster: String) throws -> Kubeconfig.Entry {
    let (config, _) = try loadCluster(cluster)
    let credentials = try ServerCredentials.load(ServerCredentials.Files(stateDirectory: ClusterProcesses(cluster: cluster).stateDirectory))
    return credentials.kubeconfigEntry(cluster: cluster, port: config.apiServerPort ?? 0)
}

struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Exports one of [kubeconfig].", subcommands: [ExportKubeconfig.self])
}

struct ExportKubeconfig: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kubeconfig",
        abstract: "Writes the cluster's context (kindling-<name>) into the kubeconfig and makes it current, like kind.")

    @Option(name: .long, help: "The cluster's name. (default \"kindling\")")
    var name = ClusterConfig.defaultName
    @OptionGroup var kubeconfig: KubeconfigOption

    func validate() throws {
        if let problem = ClusterNames.problem(with: name) { throw ValidationError("invalid cluster name \"\(name)\": \(problem)") }
    }

    func run() async throws {
        try await reportingErrors("ERROR") { try kubeconfig.export(cluster: name) }
    }
}
