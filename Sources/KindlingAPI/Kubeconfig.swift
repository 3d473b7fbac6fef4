import Foundation
import Yams

/// A kubeconfig file as kind keeps one: each cluster adds a cluster, a user and a context of one name
/// (`kindling-<cluster>`), made current, beside whatever else the file holds; deleting the cluster removes them.
/// Pure: trees in, trees out (the file is `KubeconfigFile`'s).
public enum Kubeconfig {
    /// What one cluster contributes.
    public struct Entry: Sendable, Equatable {
        public let name: String
        public let server: String
        /// The cluster CA's PEM.
        public let certificateAuthority: String
        public let token: String

        public init(name: String, server: String, certificateAuthority: String, token: String) {
            self.name = name
            self.server = server
            self.certificateAuthority = certificateAuthority
            self.token = token
        }
    }

    /// The context name of a cluster (kind's is `kind-<cluster>`).
    public static func contextName(cluster: String) -> String { "kindling-\(cluster)" }

    /// An empty kubeconfig, as kubectl writes a new one.
    public static var empty: [String: Any] {
        ["apiVersion": "v1", "kind": "Config", "clusters": [Any](), "contexts": [Any](), "users": [Any](),
         "current-context": "", "preferences": [String: Any]()]
    }

    /// `tree` with the entry's cluster, user and context (replacing any of the same name), made current.
    public static func merging(_ entry: Entry, into tree: [String: Any]) -> [String: Any] {
        var config = tree.isEmpty ? empty : tree
        let cluster: [String: Any] = ["name": entry.name, "cluster": [
            "server": entry.server, "certificate-authority-data": Data(entry.certificateAuthority.utf8).base64EncodedString(),
        ]]
        let user: [String: Any] = ["name": entry.name, "user": ["token": entry.token]]
        let context: [String: Any] = ["name": entry.name, "context": ["cluster": entry.name, "user": entry.name]]
        for (key, item) in [("clusters", cluster), ("users", user), ("contexts", context)] {
            config[key] = named(config[key]).filter { ($0["name"] as? String) != entry.name } + [item]
        }
        config["current-context"] = entry.name
        return config
    }

    /// `tree` without the cluster, user and context named `name`; the current context is unset if it was that.
    public static func removing(_ name: String, from tree: [String: Any]) -> [String: Any] {
        var config = tree
        for key in ["clusters", "users", "contexts"] where config[key] != nil {
            config[key] = named(config[key]).filter { ($0["name"] as? String) != name }
        }
        if config["current-context"] as? String == name { config["current-context"] = "" }
        return config
    }

    /// A standalone kubeconfig holding only `entry` (`kindling get kubeconfig`).
    public static func standalone(_ entry: Entry) -> [String: Any] { merging(entry, into: empty) }

    /// Which file a cluster's entry goes to: the first of `$KUBECONFIG`'s paths, else `~/.kube/config`.
    public static func path(environment: [String: String], home: String) -> String {
        if let list = environment["KUBECONFIG"], let first = list.split(separator: ":").first(where: { !$0.isEmpty }) {
            return String(first)
        }
        return home + "/.kube/config"
    }

    /// Every file kubectl reads, in its order: `$KUBECONFIG`'s paths, else `~/.kube/config`.
    public static func readPaths(environment: [String: String], home: String) -> [String] {
        let listed = (environment["KUBECONFIG"] ?? "").split(separator: ":").map(String.init).filter { !$0.isEmpty }
        return listed.isEmpty ? [home + "/.kube/config"] : listed
    }

    /// The kindling cluster of the current context, as kubectl finds the context (the first file that sets one
    /// wins); nil when it is none of kindling's (`kind-...`, or unset).
    public static func currentCluster(files: [String], read: (String) -> String?) -> String? {
        for path in files {
            guard let text = read(path), let tree = try? Yams.load(yaml: text) as? [String: Any],
                  let context = tree["current-context"] as? String, !context.isEmpty else { continue }
            let prefix = contextName(cluster: "")
            guard context.hasPrefix(prefix), context.count > prefix.count else { return nil }
            return String(context.dropFirst(prefix.count))
        }
        return nil
    }

    static func named(_ value: Any?) -> [[String: Any]] { (value as? [Any] ?? []).compactMap { $0 as? [String: Any] } }
}

/// The kubeconfig file itself: read, changed and written back (atomically, mode 0600) while holding an
/// exclusive lock on its directory, so clusters created side by side do not lose each other's entries.
public struct KubeconfigFile: Sendable {
    public let path: String
    /// Who the file (and a directory made for it) belongs to: the user behind `sudo`, whose kubeconfig it is.
    public let owner: (uid: uid_t, gid: gid_t)?

    public init(path: String, owner: (uid: uid_t, gid: gid_t)? = nil) {
        self.path = path
        self.owner = owner
    }

    /// Applies `change` to the file's tree (an empty one when there is no file).
    public func update(_ change: ([String: Any]) -> [String: Any]) throws {
        let directory = (path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent
        if !FileManager.default.fileExists(atPath: directory) {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            if let owner { chown(directory, owner.uid, owner.gid) }
        }
        let lock = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard lock >= 0 else { throw CocoaError(.fileReadNoPermission, userInfo: [NSFilePathErrorKey: directory]) }
        defer { close(lock) }
        flock(lock, LOCK_EX)
        var tree: [String: Any] = [:]
        if let data = FileManager.default.contents(atPath: path), !data.isEmpty {
            // Timestamps stay strings (as Kubernetes' YAML to JSON conversion keeps them).
            guard let loaded = try Yams.load(yaml: String(decoding: data, as: UTF8.self), Resolver.default.removing(.timestamp)) as? [String: Any] else {
                throw CocoaError(.fileReadCorruptFile, userInfo: [NSFilePathErrorKey: path])
            }
            tree = loaded
        }
        let text = try YAMLOutput.text(change(tree))
        let temporary = path + ".tmp-\(getpid())"
        guard FileManager.default.createFile(atPath: temporary, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: temporary])
        }
        if let owner { chown(temporary, owner.uid, owner.gid) }
        guard rename(temporary, path) == 0 else {
            unlink(temporary)
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
        }
    }
}
