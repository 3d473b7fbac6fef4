import Foundation
import KindlingAPI

/// What a pod's volumes and variables read from the API: its Secrets and ConfigMaps, fetched when its sandbox
/// is made and again every few seconds while it runs (so changed keys reach mounted files, as kubelet's
/// periodic sync brings them).
struct PodReferences: Sendable, Equatable {
    var secrets: [String: Secret] = [:]
    var configMaps: [String: ConfigMap] = [:]

    /// The names `pod` refers to in volumes, `env` and `envFrom`.
    static func names(in pod: Pod) -> (secrets: Set<String>, configMaps: Set<String>) {
        var secrets = Set((pod.spec.volumes ?? []).compactMap { $0.secret?.secretName })
        var configMaps = Set((pod.spec.volumes ?? []).compactMap { $0.configMap?.name })
        for container in pod.spec.containers {
            for variable in container.env ?? [] {
                if let name = variable.valueFrom?.secretKeyRef?.name { secrets.insert(name) }
                if let name = variable.valueFrom?.configMapKeyRef?.name { configMaps.insert(name) }
            }
            for source in container.envFrom ?? [] {
                if let name = source.secretRef?.name { secrets.insert(name) }
                if let name = source.configMapRef?.name { configMaps.insert(name) }
            }
        }
        return (secrets, configMaps)
    }

    /// The keys of the Secret or ConfigMap `name` as bytes: nil when it is missing and `optional`, kubelet's
    /// error when it is missing otherwise.
    func data(secret: Bool, name: String, optional: Bool) throws -> [String: Data]? {
        if let data = secret ? secrets[name]?.decodedData : configMaps[name].map(PodReferences.contents) { return data }
        if optional { return nil }
        throw PodSetupError("\(secret ? "secret" : "configmap") \"\(name)\" not found")
    }

    /// A ConfigMap's keys as bytes: data as UTF-8, binaryData decoded.
    static func contents(_ map: ConfigMap) -> [String: Data] {
        var all = (map.data ?? [:]).mapValues { Data($0.utf8) }
        for (key, value) in map.binaryData ?? [:] { all[key] = Data(base64Encoded: value) ?? Data() }
        return all
    }
}

/// Why a volume cannot be set up (kubelet's FailedMount) or a variable not resolved (CreateContainerConfigError).
struct PodSetupError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Pure parts of mounting volumes: each volume's files, and how mount points are made inside a sandbox.
enum PodVolumes {
    /// The files of a Secret or ConfigMap volume (relative path -> content and mode): every key, or only `items`.
    static func files(of data: [String: Data], items: [KeyToPath]?, defaultMode: Int, kind: String) throws -> [String: (data: Data, mode: Int)] {
        guard let items, !items.isEmpty else { return data.mapValues { ($0, defaultMode) } }
        var files: [String: (data: Data, mode: Int)] = [:]
        for item in items {
            guard let value = data[item.key] else { throw PodSetupError("\(kind) references non-existent \(kind) key: \(item.key)") }
            files[item.path] = (value, item.mode ?? defaultMode)
        }
        return files
    }

    /// A volume's files, or nil for an empty directory; throws kubelet's words when
    /// the Secret or ConfigMap it names does not exist (and it is not optional).
    static func files(of volume: Volume, references: PodReferences) throws -> [String: (data: Data, mode: Int)]? {
        let source: (secret: Bool, name: String?, items: [KeyToPath]?, mode: Int?, optional: Bool?)
        if let secret = volume.secret {
            source = (true, secret.secretName, secret.items, secret.defaultMode, secret.optional)
        } else if let map = volume.configMap {
            source = (false, map.name, map.items, map.defaultMode, map.optional)
        } else {
            return nil
        }
        let kind = source.secret ? "secret" : "configmap"
        let data: [String: Data]?
        do {
            data = try references.data(secret: source.secret, name: source.name ?? "", optional: source.optional == true)
        } catch {
            throw PodSetupError("MountVolume.SetUp failed for volume \"\(volume.name)\" : \(error)")
        }
        guard let data else { return [:] }
        return try files(of: data, items: source.items, defaultMode: source.mode ?? 0o644, kind: kind)
    }

    /// How to make mount points for `targets` inside a sandbox without creating anything on the machine: each
    /// target that is no directory here gets one made inside an overlay of its deepest existing ancestor.
    /// Returns the overlay roots (none inside another) and the directories to make. Pure but for `isDirectory`.
    static func mountPoints(_ targets: [String], isDirectory: (String) -> Bool) throws -> (overlays: [String], directories: [String]) {
        var roots: Set<String> = []
        var directories: [String] = []
        for target in targets where !isDirectory(target) {
            var ancestor = (target as NSString).deletingLastPathComponent
            while ancestor != "/" && !isDirectory(ancestor) { ancestor = (ancestor as NSString).deletingLastPathComponent }
            guard ancestor != "/" else {
                throw PodSetupError("cannot mount at \(target): kindling makes mount points only under an existing directory other than / (pods share this machine's root file system)")
            }
            roots.insert(ancestor)
            directories.append(target)
        }
        let outermost = roots.filter { root in !roots.contains { $0 != root && root.hasPrefix($0 == "/" ? "/" : $0 + "/") } }
        return (outermost.sorted(), directories)
    }
}
