import Foundation
import KindlingAddresses
import KindlingAPI
import KindlingNet
import KindlingProcess

/// Sandboxes: a pod's network namespace wired to the node, its files and volumes, the process that holds its
/// mount and UTS namespaces; and their teardown when the pod stops.
extension PodRuntime {
    func createSandbox(_ pod: Pod, podCIDR: IPv4CIDR) async throws {
        guard let uid = pod.metadata.uid,
              let ip = PodIPAM.next(in: podCIDR, used: Set(records.values.filter { !$0.released }.map(\.ip))) else {
            throw AgentError("no free address in \(podCIDR)")
        }
        let netns = PodRuntime.netnsName(cluster: cluster, pod: pod)
        let directory = files.directory(uid)
        let podReferences = await fetchReferences(pod)
        let mounts: Mounts
        do {
            for sub in ["", "/logs", "/html", "/etc"] {
                try FileManager.default.createDirectory(atPath: directory + sub, withIntermediateDirectories: true)
            }
            mounts = try prepareMounts(pod, references: podReferences, directory: directory)
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
        references[uid] = podReferences
        try PodRuntime.writePodFiles(pod, ip: ip, directory: directory, clusterDNS: clusterDNS)
        var record = PodRecord(uid: uid, namespace: pod.namespace, name: pod.name, netns: netns,
                               hostDevice: PodRuntime.hostDevice(uid: uid), ip: ip, podCIDR: podCIDR,
                               startTime: Timestamp.string())
        records[uid] = record
        var binds = ["hosts", "hostname", "resolv.conf"].map { (source: directory + "/etc/" + $0, target: "/etc/" + $0) }
        if FileManager.default.fileExists(atPath: "/usr/share/nginx/html") {
            binds.append((source: directory + "/html", target: "/usr/share/nginx/html"))
        }
        binds += mounts.binds
        let setup = Spawn.Sandbox(hostname: PodRuntime.hostname(pod), binds: binds, readOnly: mounts.readOnly, overlays: mounts.overlays,
                                  directories: mounts.directories)
        do {
            record.sandbox = try await machine.createSandbox(record, node: nodeNetns, setup: setup, etcFiles: directory + "/etc")
        } catch {
            // Nothing half made stays (a namespace without its link): the next pass starts over.
            try? await machine.removeSandbox(record)
            records[uid] = nil
            throw error
        }
        records[uid] = record
        try files.save(record)
        logger.info("pod \(pod.namespace)/\(pod.name): sandbox \(netns) at \(ip)")
    }

    /// What a sandbox mounts for the pod's volumes (besides its own /etc files).
    struct Mounts {
        var binds: [(source: String, target: String)] = []
        var readOnly: Set<String> = []
        var overlays: [(target: String, options: String)] = []
        var directories: [String] = []
    }

    /// The pod's Secrets and ConfigMaps as the API has them now (absent ones left out), and its ServiceAccount
    /// tokens: those of `previous` while they are fresh, new ones (bound to the pod) when they are due.
    func fetchReferences(_ pod: Pod, previous: PodReferences? = nil) async -> PodReferences {
        let (secretNames, mapNames) = PodReferences.names(in: pod)
        var found = PodReferences()
        for name in secretNames { found.secrets[name] = try? await client.get(Secret.self, namespace: pod.namespace, name: name) }
        for name in mapNames { found.configMaps[name] = try? await client.get(ConfigMap.self, namespace: pod.namespace, name: name) }
        for name in Set((pod.spec.volumes ?? []).compactMap { $0.persistentVolumeClaim?.claimName }) {
            guard let claim = try? await client.get(PersistentVolumeClaim.self, namespace: pod.namespace, name: name),
                  let volume = claim.spec.volumeName, claim.status?.phase == "Bound",
                  let path = (try? await client.get(PersistentVolume.self, name: volume))?.path else { continue }
            found.claims[name] = path
        }
        for source in PodReferences.tokenSources(in: pod) {
            let key = PodReferences.tokenKey(source)
            if let kept = previous?.tokens[key], kept.refreshAfter > Date() {
                found.tokens[key] = kept
            } else if let issued = await requestToken(pod, source) {
                found.tokens[key] = issued
            } else if let kept = previous?.tokens[key] {
                found.tokens[key] = kept
            }
        }
        return found
    }

    /// A token of the pod's ServiceAccount bound to the pod, as kubelet's token manager asks for one.
    func requestToken(_ pod: Pod, _ source: ProjectedVolumeSource.Projection.ServiceAccountToken) async -> PodReferences.IssuedToken? {
        let account = pod.spec.serviceAccountName ?? ServiceAccount.defaultName
        let seconds = source.expirationSeconds ?? 3600
        let request = TokenRequest(spec: .init(audiences: source.audience.map { [$0] }, expirationSeconds: seconds,
                                               boundObjectRef: .init(kind: "Pod", name: pod.name, uid: pod.metadata.uid)))
        do {
            let path = "/api/v1/namespaces/\(pod.namespace)/serviceaccounts/\(account)/token"
            let answer = try await client.send(.POST, path, body: try KubeJSON.encoder.encode(request))
            let issued = try KubeJSON.decoder.decode(TokenRequest.self, from: answer.body)
            guard let status = issued.status else { throw Status.badRequest(String(decoding: answer.body, as: UTF8.self)) }
            let expires = Timestamp.date(status.expirationTimestamp) ?? Date().addingTimeInterval(TimeInterval(seconds))
            return .init(token: status.token, refreshAfter: Date().addingTimeInterval(expires.timeIntervalSinceNow * 0.8))
        } catch {
            logger.warning("pod \(pod.namespace)/\(pod.name): cannot get a token of service account \(account): \(error)")
            return nil
        }
    }

    /// Writes each volume's files under the pod's directory and plans their mounts: at every container's
    /// mountPath (containers share the sandbox's mount namespace, so mounts are the pod's), Secrets and
    /// ConfigMaps read-only, nginx's conf.d the pod's own unless a volume is mounted there.
    func prepareMounts(_ pod: Pod, references: PodReferences, directory: String) throws -> Mounts {
        var mounts = Mounts()
        if pod.spec.containers.contains(where: { ImageCatalog.family(of: $0.image ?? "") == .nginx }) {
            try FileManager.default.createDirectory(atPath: directory + "/nginx-conf.d", withIntermediateDirectories: true)
            try PodRuntime.nginxDefaultServer(pod).write(toFile: directory + "/nginx-conf.d/default.conf", atomically: true, encoding: .utf8)
            mounts.binds.append((source: directory + "/nginx-conf.d", target: "/etc/nginx/conf.d"))
        }
        let volumes = Dictionary((pod.spec.volumes ?? []).map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for volume in volumes.values { try writeVolume(volume, of: pod, references: references, directory: directory) }
        var targets: Set<String> = []
        for container in pod.spec.allContainers {
            for mount in container.volumeMounts ?? [] {
                guard let volume = volumes[mount.name], mount.subPath == nil || mount.subPath == "" else { continue }
                let target = (mount.mountPath as NSString).standardizingPath
                guard targets.insert(target).inserted else { continue }
                mounts.binds.append((source: try PodVolumes.source(of: volume, references: references, directory: directory), target: target))
                if volume.secret != nil || volume.configMap != nil || volume.projected != nil || mount.readOnly == true
                    || volume.persistentVolumeClaim?.readOnly == true { mounts.readOnly.insert(target) }
            }
        }
        let plan = try PodVolumes.mountPoints(mounts.binds.map(\.target).filter { !$0.hasPrefix("/etc/hosts") }) { path in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
        }
        for (index, root) in plan.overlays.enumerated() {
            let layer = "\(directory)/overlay/\(index)"
            for sub in ["upper", "work"] { try FileManager.default.createDirectory(atPath: "\(layer)/\(sub)", withIntermediateDirectories: true) }
            mounts.overlays.append((target: root, options: "lowerdir=\(root),upperdir=\(layer)/upper,workdir=\(layer)/work"))
            // A unix socket seen through an overlay takes no connections: the API sockets the cluster's own pods
            // use (cluster DNS, the ingress controller) are bound back from the machine over an overlaid /run
            // (the token volume's /var/run/secrets makes one).
            let resolved = (root as NSString).resolvingSymlinksInPath
            if ClusterNames.runRoot.hasPrefix(resolved == "/" ? "/" : resolved + "/") {
                mounts.binds.append((source: ClusterNames.runRoot, target: ClusterNames.runRoot))
            }
        }
        mounts.directories = plan.directories
        return mounts
    }

    /// A volume's files as its Secret or ConfigMap holds them now (an empty directory for the rest), each written
    /// whole and renamed into place, so a reader never sees half a file.
    func writeVolume(_ volume: Volume, of pod: Pod, references: PodReferences, directory: String) throws {
        let root = "\(directory)/volumes/\(volume.name)"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        guard let wanted = try PodVolumes.files(of: volume, references: references, pod: pod) else { return }
        for (path, file) in wanted {
            let target = "\(root)/\(path)"
            try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            if FileManager.default.contents(atPath: target) == file.data {
                chmod(target, mode_t(file.mode))
                continue
            }
            let temporary = "\(root)/.\(UUID().uuidString)"
            guard FileManager.default.createFile(atPath: temporary, contents: file.data, attributes: [.posixPermissions: file.mode]),
                  rename(temporary, target) == 0 else { throw PodSetupError("cannot write \(target): \(String(cString: strerror(errno)))") }
        }
        // Keys gone from the object go from the volume (top-level files only: items' subdirectories stay).
        for name in (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [] where wanted[name] == nil && !wanted.keys.contains(where: { $0.hasPrefix(name + "/") }) {
            try? FileManager.default.removeItem(atPath: "\(root)/\(name)")
        }
    }

    /// Every ten seconds, the running pods' Secrets and ConfigMaps are read again; changed keys reach their
    /// volumes' files (and variables of containers started later).
    func refreshReferences() {
        // Every resync pass (a second's slack, since this pass's own start is stamped just before).
        guard Date().timeIntervalSince(lastReferenceRefresh) > PodRuntime.resync - 1 else { return }
        lastReferenceRefresh = Date()
        // Also pods re-adopted after a restart of the agent, whose references are not read yet.
        let pods = desired.values.filter { pod in
            guard pod.metadata.uid.map({ records[$0] != nil }) == true else { return false }
            let names = PodReferences.names(in: pod)
            return !names.secrets.isEmpty || !names.configMaps.isEmpty || !PodReferences.tokenSources(in: pod).isEmpty
        }
        guard !pods.isEmpty else { return }
        Task {
            for pod in pods {
                let fresh = await self.fetchReferences(pod, previous: pod.metadata.uid.flatMap { self.references[$0] })
                self.refreshed(pod, fresh)
            }
        }
    }

    func refreshed(_ pod: Pod, _ fresh: PodReferences) {
        guard let uid = pod.metadata.uid, let record = records[uid], references[uid] != fresh else { return }
        references[uid] = fresh
        logger.info("pod \(pod.namespace)/\(pod.name): its Secrets, ConfigMaps or tokens changed; volumes rewritten")
        for volume in pod.spec.volumes ?? [] {
            do {
                try writeVolume(volume, of: pod, references: fresh, directory: files.directory(record.uid))
            } catch {
                logger.warning("pod \(pod.namespace)/\(pod.name): volume \(volume.name): \(error)")
            }
        }
    }

    /// `kl-<cluster>.pod.<namespace>.<name>`, so `ip netns list` shows which pod is which.
    public static func netnsName(cluster: String, pod: Pod) -> String {
        let name = "\(ClusterNames(cluster: cluster).netnsPrefix)pod.\(pod.namespace).\(pod.name)"
        return name.utf8.count <= 200 ? name : String(name.prefix(180)) + "." + String(pod.metadata.uid?.prefix(8) ?? "")
    }

    /// `veth` and 8 hex digits of the pod's uid: unique, stable across agent restarts, within 15 bytes.
    static func hostDevice(uid: String) -> String {
        "veth" + String(format: "%08x", FNV1a.hash32(uid.utf8))
    }

    static func hostname(_ pod: Pod) -> String {
        String((pod.spec.hostname ?? pod.name).prefix(63))
    }

    /// The pod's own /etc/hosts, /etc/hostname and /etc/resolv.conf (kubelet-managed), and nginx's default page.
    static func writePodFiles(_ pod: Pod, ip: IPv4Address, directory: String, clusterDNS: IPv4Address) throws {
        let hostname = hostname(pod)
        var fqdn = hostname
        if let subdomain = pod.spec.subdomain, !subdomain.isEmpty { fqdn = "\(hostname).\(subdomain).\(pod.namespace).svc.\(ClusterConfig.clusterDomain) \(hostname)" }
        let hosts = """
            # Kubernetes-managed hosts file.
            127.0.0.1\tlocalhost
            ::1\tlocalhost ip6-localhost ip6-loopback
            fe00::0\tip6-localnet
            fe00::0\tip6-mcastprefix
            fe00::1\tip6-allnodes
            fe00::2\tip6-allrouters
            \(ip)\t\(fqdn)

            """
        try hosts.write(toFile: directory + "/etc/hosts", atomically: true, encoding: .utf8)
        try (hostname + "\n").write(toFile: directory + "/etc/hostname", atomically: true, encoding: .utf8)
        try pod.spec.resolvConf(namespace: pod.namespace, clusterDNS: clusterDNS, domain: ClusterConfig.clusterDomain)
            .write(toFile: directory + "/etc/resolv.conf", atomically: true, encoding: .utf8)
        let index = directory + "/html/index.html"
        if !FileManager.default.fileExists(atPath: index) {
            let page = FileManager.default.contents(atPath: "/usr/share/nginx/html/index.html")
                ?? Data("<!DOCTYPE html>\n<html><head><title>Welcome to nginx!</title></head><body><h1>Welcome to nginx!</h1></body></html>\n".utf8)
            _ = FileManager.default.createFile(atPath: index, contents: page, attributes: [.posixPermissions: 0o644])
        }
    }

    // MARK: Stopping

    /// A finished pod's sandbox goes (its processes, link, route and namespace), as kubelet tears it down once the
    /// pod is Succeeded or Failed: its address is free again. Its record and logs stay for the API and `logs`.
    func release(_ record: inout PodRecord) async {
        do {
            try await machine.removeSandbox(record)
        } catch {
            logger.warning("pod \(record.namespace)/\(record.name): teardown of the finished pod: \(error)")
            return
        }
        for name in record.containers.keys {
            record.containers[name]?.process = nil
            inputs.removeValue(forKey: "\(record.uid)/\(name)")?.close()
        }
        record.sandbox = nil
        record.released = true
        try? files.save(record)
    }

    /// Stops a pod: SIGTERM to its containers first, SIGKILL at the deadline (or at once when the pod is
    /// gone from the API), then the sandbox, link, namespace and files go, and the API object is removed.
    func stop(_ record: PodRecord, pod: Pod?) async {
        var record = record
        let containers = record.containers.values.compactMap(\.process)
        for name in record.containers.keys { inputs.removeValue(forKey: "\(record.uid)/\(name)")?.close() }
        if record.stopDeadline == nil {
            let grace = pod == nil ? 0 : Double(pod?.metadata.deletionGracePeriodSeconds ?? pod?.spec.terminationGracePeriodSeconds ?? 30)
            record.stopDeadline = Date().addingTimeInterval(grace)
            for (name, state) in record.containers {
                guard let process = state.process, machine.isAlive(process) else { continue }
                guard let pod else {
                    machine.signal(process, SIGTERM, group: false)
                    continue
                }
                report(pod, container: name, reason: "Killing", message: "Stopping container \(name)")
                // preStop first, within the grace period; SIGTERM when it is done.
                let container = pod.spec.allContainers.first { $0.name == name }
                guard let hook = container?.lifecycle?.preStop, let container, let target = hookTarget(container, record: record) else {
                    machine.signal(process, SIGTERM, group: false)
                    continue
                }
                Task {
                    await self.runPreStop(hook, target: target, pod: pod, container: name, grace: Int64(grace))
                    if self.machine.isAlive(process) { self.machine.signal(process, SIGTERM, group: false) }
                }
            }
            records[record.uid] = record
            try? files.save(record)
        }
        for process in containers { _ = machine.exitCode(process) }
        if containers.contains(where: machine.isAlive) {
            guard let deadline = record.stopDeadline, deadline <= Date() else { return }
        }
        do {
            if !record.released { try await machine.removeSandbox(record) }
            try? FileManager.default.removeItem(atPath: files.directory(record.uid))
        } catch {
            logger.error("pod \(record.namespace)/\(record.name): teardown: \(error)")
            return
        }
        records[record.uid] = nil
        references[record.uid] = nil
        posted[record.uid] = nil
        logger.info("pod \(record.namespace)/\(record.name): stopped and removed")
        if let pod {
            do {
                _ = try await client.delete(Pod.self, namespace: pod.namespace, name: pod.name, gracePeriodSeconds: 0)
            } catch let status as Status where status.code == 404 {
            } catch {
                logger.warning("pod \(pod.namespace)/\(pod.name): cannot remove from the API: \(error)")
            }
        }
    }
}
