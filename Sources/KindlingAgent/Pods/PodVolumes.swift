import Foundation
import KindlingAPI

/// What a pod's volumes and variables read from the API: its Secrets and ConfigMaps, fetched when its sandbox
/// is made and again every few seconds while it runs (so changed keys reach mounted files, as kubelet's
/// periodic sync brings them).
struct PodReferences: Sendable, Equatable {
    var secrets: [String: Secret] = [:]
    var configMaps: [String: ConfigMap] = [:]
    /// The pod's ServiceAccount tokens by `tokenKey`, each kept until 80% of its life has passed (kubelet's rule).
    var tokens: [String: IssuedToken] = [:]
    /// Where each claim the pod's volumes name has its files: its bound volume's path (absent while unbound).
    var claims: [String: String] = [:]

    struct IssuedToken: Sendable, Equatable {
        var token: String
        var refreshAfter: Date
    }

    /// The names `pod` refers to in volumes (projected ones' sources too), `env` and `envFrom`.
    static func names(in pod: Pod) -> (secrets: Set<String>, configMaps: Set<String>) {
        let sources = (pod.spec.volumes ?? []).flatMap { $0.projected?.sources ?? [] }
        var secrets = Set((pod.spec.volumes ?? []).compactMap { $0.secret?.secretName } + sources.compactMap { $0.secret?.name })
        var configMaps = Set((pod.spec.volumes ?? []).compactMap { $0.configMap?.name } + sources.compactMap { $0.configMap?.name })
        for container in pod.spec.allContainers {
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

    /// The ServiceAccount token sources of `pod`'s projected volumes.
    static func tokenSources(in pod: Pod) -> [ProjectedVolumeSource.Projection.ServiceAccountToken] {
        (pod.spec.volumes ?? []).flatMap { $0.projected?.sources ?? [] }.compactMap(\.serviceAccountToken)
    }

    /// Tokens of one audience and lifetime are one token.
    static func tokenKey(_ source: ProjectedVolumeSource.Projection.ServiceAccountToken) -> String {
        "\(source.audience ?? "")|\(source.expirationSeconds ?? 3600)"
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
    /// What a volume mounts: its bound volume's directory for a claim (the pod waits while it is unbound), the
    /// machine's own directory for a hostPath (made for DirectoryOrCreate, required for Directory), else the
    /// files kindling writes under the pod's directory.
    static func source(of volume: Volume, references: PodReferences, directory: String) throws -> String {
        if let claim = volume.persistentVolumeClaim {
            guard let path = references.claims[claim.claimName] else {
                throw PodSetupError("volume \"\(volume.name)\" waits for its PersistentVolumeClaim \"\(claim.claimName)\" to be bound")
            }
            return path
        }
        if let host = volume.hostPath {
            var isDirectory: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: host.path, isDirectory: &isDirectory)
            switch host.type ?? "" {
            case "DirectoryOrCreate":
                if !exists { try FileManager.default.createDirectory(atPath: host.path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755]) }
            case "Directory":
                guard exists, isDirectory.boolValue else { throw PodSetupError("hostPath type check failed: \(host.path) is not a directory") }
            case "":
                guard exists else { throw PodSetupError("hostPath \(host.path) does not exist (kindling makes it only with type DirectoryOrCreate)") }
                guard isDirectory.boolValue else { throw PodSetupError("hostPath \(host.path) is not a directory: kindling mounts directories only") }
            default:
                throw PodSetupError("hostPath type \(host.type ?? "") is not supported by kindling: directories only (Directory, DirectoryOrCreate)")
            }
            return host.path
        }
        return "\(directory)/volumes/\(volume.name)"
    }

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
    static func files(of volume: Volume, references: PodReferences, pod: Pod? = nil) throws -> [String: (data: Data, mode: Int)]? {
        if let projected = volume.projected {
            do {
                return try projectedFiles(projected, references: references, pod: pod)
            } catch {
                throw PodSetupError("MountVolume.SetUp failed for volume \"\(volume.name)\" : \(error)")
            }
        }
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

    /// A projected volume's files: each source's, in order, in one directory.
    static func projectedFiles(_ projected: ProjectedVolumeSource, references: PodReferences, pod: Pod?) throws -> [String: (data: Data, mode: Int)] {
        let mode = projected.defaultMode ?? 0o644
        var files: [String: (data: Data, mode: Int)] = [:]
        for source in projected.sources ?? [] {
            if let token = source.serviceAccountToken {
                guard let issued = references.tokens[PodReferences.tokenKey(token)] else {
                    throw PodSetupError("failed to fetch token: the ServiceAccount token of the pod could not be requested")
                }
                files[token.path] = (Data(issued.token.utf8), mode)
            }
            for (secret, named) in [(true, source.secret), (false, source.configMap)] {
                guard let named else { continue }
                guard let data = try references.data(secret: secret, name: named.name ?? "", optional: named.optional == true) else { continue }
                files.merge(try self.files(of: data, items: named.items, defaultMode: mode, kind: secret ? "secret" : "configmap")) { _, new in new }
            }
            for item in source.downwardAPI?.items ?? [] {
                guard let field = item.fieldRef?.fieldPath else { continue }
                files[item.path] = (Data((pod.flatMap { downwardValue(field, of: $0) } ?? "").utf8), item.mode ?? mode)
            }
        }
        return files
    }

    /// A downward API field of the pod as a file holds it (labels and annotations as `key="value"` lines).
    static func downwardValue(_ field: String, of pod: Pod) -> String? {
        func lines(_ map: [String: String]?) -> String {
            (map ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\"\($0.value)\"" }.joined(separator: "\n")
        }
        switch field {
        case "metadata.name": return pod.name
        case "metadata.namespace": return pod.namespace
        case "metadata.uid": return pod.metadata.uid
        case "metadata.labels": return lines(pod.metadata.labels)
        case "metadata.annotations": return lines(pod.metadata.annotations)
        case "spec.nodeName": return pod.spec.nodeName
        case "spec.serviceAccountName": return pod.spec.serviceAccountName
        case "status.hostIP": return pod.status?.hostIP
        case "status.podIP": return pod.status?.podIP
        default: return nil
        }
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
