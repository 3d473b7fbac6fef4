import Foundation
import KindlingAddresses
import KindlingAPI

/// The files a cluster keeps under its state directory: today the validated config it was created from.
public struct ClusterState: Sendable {
    public let names: ClusterNames
    public let stateRoot: String

    public init(cluster: String, stateRoot: String = ClusterNames.stateRoot) {
        names = ClusterNames(cluster: cluster)
        self.stateRoot = stateRoot
    }

    public var directory: String { names.stateDirectory(root: stateRoot) }
    public var configPath: String { directory + "/cluster.json" }

    public var exists: Bool { FileManager.default.fileExists(atPath: directory) }

    /// Writes the config atomically (temp file + rename) into a root-only directory.
    public func save(_ config: ClusterConfig) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(config).write(to: URL(fileURLWithPath: configPath), options: .atomic)
    }

    public func load() throws -> ClusterConfig {
        try JSONDecoder().decode(ClusterConfig.self, from: Data(contentsOf: URL(fileURLWithPath: configPath)))
    }

    public func remove() throws {
        if exists { try FileManager.default.removeItem(atPath: directory) }
    }

    /// Names of the clusters that have a state directory under `stateRoot`, sorted.
    public static func clusterNames(stateRoot: String = ClusterNames.stateRoot) -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: stateRoot)) ?? []
        return entries.filter { ClusterNames.problem(with: $0) == nil }.sorted()
    }
}
