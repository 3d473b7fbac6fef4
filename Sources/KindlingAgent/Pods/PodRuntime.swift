import Foundation
import KindlingAPI
import KindlingClient
import KindlingNet
import KindlingReconcile
import Logging

/// Makes the pods bound to this node real, as a kubelet does: a sandbox per pod (network namespace wired
/// to the node, mount and UTS namespaces held by a sleeping process), its containers' processes started
/// inside it and restarted per restartPolicy with kubelet's backoff, readiness probes, and the pod's status.
/// A pod being deleted is stopped (SIGTERM, then SIGKILL after its grace period) and removed.
/// State is on disk (`PodRecord`), so a restarted agent re-adopts running pods without restarting them.
public actor PodRuntime {
    let cluster: String
    let nodeName: String
    let nodeNetns: NetNamespace
    let nodeIP: IPv4Address
    let client: APIClient
    let files: PodFiles
    let logger: Logger
    /// How to run kindling's own images (agnhost, the cluster DNS).
    let programs: ImageCatalog.Programs
    /// The cluster DNS service's address, for pods' resolv.conf.
    let clusterDNS: IPv4Address
    /// The agent's shared watch of Services, for containers' service variables.
    let serviceInformer: SharedInformer<Service>

    var podCIDR: IPv4CIDR?
    var desired: [String: Pod] = [:]
    var synced = false
    var records: [String: PodRecord] = [:]
    /// Every service, for the environment kubelet gives containers; nil until the first list, and no container
    /// starts before it (a container would otherwise miss variables of services that already exist).
    var services: [String: Service]?
    /// The status last posted per pod, and when.
    var posted: [String: (status: PodStatus, at: Date)] = [:]
    var probing: Set<String> = []
    /// Events to record (kubelet's: Pulled, Created, Started, Killing, Failed, BackOff), sent after each pass.
    var events: [Event] = []
    /// The standard input of running containers that have one (`stdin` or `tty`), by "uid/container".
    var inputs: [String: ContainerInput] = [:]
    /// The Secrets and ConfigMaps each pod's volumes and variables read, by pod uid.
    var references: [String: PodReferences] = [:]
    /// Pods whose sandbox cannot be made yet (a volume's Secret missing): why, and when that was last reported.
    var setupFailures: [String: (message: String, reported: Date)] = [:]
    var lastReferenceRefresh = Date.distantPast
    /// Set by what changes a pod's status outside a pass (a probe's verdict, a status not posted).
    var passRequested = false
    var lastPass = Date.distantPast
    let exits = ExitWatch()
    /// What the last pass left to do, and when.
    var schedule = PassSchedule()

    public init(cluster: String, nodeName: String, nodeIP: IPv4Address, client: APIClient, logger: Logger, programs: ImageCatalog.Programs,
                clusterDNS: IPv4Address, services: SharedInformer<Service>) {
        self.clusterDNS = clusterDNS
        self.serviceInformer = services
        self.cluster = cluster
        self.nodeName = nodeName
        self.nodeNetns = NetNamespace(ClusterNames(cluster: cluster).nodeNetns(node: nodeName))
        self.nodeIP = nodeIP
        self.client = client
        self.files = PodFiles(cluster: cluster)
        self.logger = logger
        self.programs = programs
    }

    public func run() async {
        try? FileManager.default.createDirectory(atPath: files.root, withIntermediateDirectories: true)
        while podCIDR == nil && !Task.isCancelled {
            podCIDR = try? await client.get(Node.self, name: nodeName).podCIDR
            if podCIDR == nil { try? await Task.sleep(for: .milliseconds(100)) }
        }
        // The records directory is the cluster's: this node's pods are those addressed from its pod CIDR.
        for record in files.loadAll() where record.podCIDR == podCIDR { records[record.uid] = record }
        if !records.isEmpty { logger.info("re-adopting \(records.count) pod(s)") }
        let informer = Informer<Pod>(client: client, fieldSelector: "spec.nodeName=\(nodeName)")
        // A pass runs when the pods or Services change (changes arriving together share one pass), and when a
        // look every 100 ms (how fast an exited container is noticed) finds work for one; an idle node's pods
        // cost only that look, not a pass over every pod ten times a second.
        let loop = ReconcileLoop("pods", sources: [.informer(informer), .shared(serviceInformer)],
                                 repair: .check(every: .milliseconds(100)) { await self.wantsPass() }, logger: logger)
        await loop.run { snapshot in
            await self.update(snapshot.objects(Pod.self), services: snapshot.objects(Service.self))
            await self.tick()
        }
    }

    /// The informers' caches as they are (Services are read only when a container starts).
    func update(_ pods: [String: Pod], services: [String: Service]) {
        self.services = services
        desired = Dictionary(pods.values.compactMap { pod in pod.metadata.uid.map { ($0, pod) } }, uniquingKeysWith: { _, b in b })
        synced = true
    }

    /// Whether a pass has work: something asked for one, the periodic resync (and the refresh of Secrets and
    /// ConfigMaps) is due, the last pass's schedule is due, or a process has ended.
    func wantsPass() -> Bool {
        let now = Date()
        return passRequested || now.timeIntervalSince(lastPass) >= PodRuntime.resync || schedule.isDue(at: now)
            || exits.anyEnded(schedule.processes)
    }

    /// A pass at least this often, whatever changed: drift is repaired, and volumes' Secrets read again.
    static let resync: TimeInterval = 10

    /// One pass over every pod: start, supervise, stop, report.
    func tick() async {
        guard synced, let podCIDR else { return }
        passRequested = false
        lastPass = Date()
        for (uid, record) in records where desired[uid] == nil || desired[uid]?.metadata.deletionTimestamp != nil {
            await stop(record, pod: desired[uid])
        }
        var reports: [(Pod, PodStatus)] = []
        for (uid, pod) in desired where records[uid] == nil {
            if pod.metadata.deletionTimestamp != nil {
                // Nothing of it runs here (its sandbox was never made): it can go at once.
                setupFailures[uid] = nil
                _ = try? await client.delete(Pod.self, namespace: pod.namespace, name: pod.name, gracePeriodSeconds: 0)
                continue
            }
            if let failure = setupFailures[uid], Date().timeIntervalSince(failure.reported) < 2 { continue }
            do {
                try await createSandbox(pod, podCIDR: podCIDR)
                setupFailures[uid] = nil
            } catch let problem as PodSetupError {
                // As kubelet: the pod waits in ContainerCreating, the reason reported as an event now and then.
                let previous = setupFailures[uid]
                if previous?.message != problem.description || Date().timeIntervalSince(previous?.reported ?? .distantPast) > 60 {
                    events.append(Event.report(about: pod, type: "Warning", reason: "FailedMount", message: problem.description,
                                               source: .init(component: "kubelet", host: nodeName), fieldPath: nil, now: Timestamp.string()))
                    setupFailures[uid] = (problem.description, Date())
                } else {
                    setupFailures[uid] = (problem.description, previous?.reported ?? Date())
                }
                let waiting = PodRuntime.waitingStatus(pod, hostIP: nodeIP)
                if pod.status.map({ PodRuntime.sameIgnoringTimes($0, waiting) }) != true { reports.append((pod, waiting)) }
            } catch {
                logger.error("pod \(pod.namespace)/\(pod.name): cannot create sandbox: \(error)")
            }
        }
        refreshReferences()
        for (uid, pod) in desired where pod.metadata.deletionTimestamp == nil {
            guard var record = records[uid] else { continue }
            let before = record
            superviseContainers(pod, &record)
            records[uid] = record
            if record != before { try? files.save(record) }
            startProbes(pod, record)
            let status = PodRuntime.status(pod, record, hostIP: nodeIP)
            let apiDiffers = pod.status.map({ PodRuntime.sameIgnoringTimes($0, status) }) != true
            // Posted a moment ago: the informer may not have seen that write yet. Longer ago: someone else
            // changed the status (the node lifecycle controller marking pods not ready), and the node's own
            // view wins again, as a kubelet's does.
            let justPosted = posted[uid].map { $0.status == status && Date().timeIntervalSince($0.at) < 5 } ?? false
            if apiDiffers && !justPosted {
                reports.append((pod, status))
            } else if !apiDiffers {
                posted[uid] = (status, .distantPast)
            }
        }
        await post(reports)
        schedule = PassSchedule(desired: desired, records: records)
        let pending = events, client = self.client
        events = []
        if !pending.isEmpty { Task { for event in pending { await client.record(event) } } }
    }

    /// Notes an event about one of a pod's containers, as the kubelet reports it.
    func report(_ pod: Pod, container: String, type: String = "Normal", reason: String, message: String) {
        events.append(Event.report(about: pod, type: type, reason: reason, message: message,
                                   source: .init(component: "kubelet", host: nodeName), fieldPath: "spec.containers{\(container)}",
                                   now: Timestamp.string()))
    }

    // MARK: Sandbox

    func createSandbox(_ pod: Pod, podCIDR: IPv4CIDR) async throws {
        guard let uid = pod.metadata.uid,
              let ip = PodIPAM.next(in: podCIDR, used: Set(records.values.map(\.ip))) else {
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
        try PodRuntime.publishForIPNetnsExec(netns: netns, directory: directory)
        if NetNamespace(netns).exists { try NetNamespace(netns).delete() }
        let namespace = try NetNamespace.create(netns)
        var record = PodRecord(uid: uid, namespace: pod.namespace, name: pod.name, netns: netns,
                               hostDevice: PodRuntime.hostDevice(uid: uid), ip: ip, podCIDR: podCIDR,
                               startTime: Timestamp.string())
        records[uid] = record
        try record.link.attach(node: nodeNetns)
        var binds = ["hosts", "hostname", "resolv.conf"].map { (source: directory + "/etc/" + $0, target: "/etc/" + $0) }
        if FileManager.default.fileExists(atPath: "/usr/share/nginx/html") {
            binds.append((source: directory + "/html", target: "/usr/share/nginx/html"))
        }
        binds += mounts.binds
        let sandbox = try Spawn.start(["/usr/bin/sleep", "infinity"], options: .init(
            namespace: namespace, sandbox: .init(hostname: PodRuntime.hostname(pod), binds: binds, readOnly: mounts.readOnly,
                                                 overlays: mounts.overlays, directories: mounts.directories)))
        record.sandbox = ProcessRef(pid: sandbox)
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

    /// The pod's Secrets and ConfigMaps as the API has them now (absent ones left out).
    func fetchReferences(_ pod: Pod) async -> PodReferences {
        let (secretNames, mapNames) = PodReferences.names(in: pod)
        var found = PodReferences()
        for name in secretNames { found.secrets[name] = try? await client.get(Secret.self, namespace: pod.namespace, name: name) }
        for name in mapNames { found.configMaps[name] = try? await client.get(ConfigMap.self, namespace: pod.namespace, name: name) }
        return found
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
        for volume in volumes.values { try writeVolume(volume, references: references, directory: directory) }
        var targets: Set<String> = []
        for container in pod.spec.containers {
            for mount in container.volumeMounts ?? [] {
                guard let volume = volumes[mount.name], mount.subPath == nil || mount.subPath == "" else { continue }
                let target = (mount.mountPath as NSString).standardizingPath
                guard targets.insert(target).inserted else { continue }
                mounts.binds.append((source: "\(directory)/volumes/\(volume.name)", target: target))
                if volume.secret != nil || volume.configMap != nil || mount.readOnly == true { mounts.readOnly.insert(target) }
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
        }
        mounts.directories = plan.directories
        return mounts
    }

    /// A volume's files as its Secret or ConfigMap holds them now (an empty directory for the rest), each written
    /// whole and renamed into place, so a reader never sees half a file.
    func writeVolume(_ volume: Volume, references: PodReferences, directory: String) throws {
        let root = "\(directory)/volumes/\(volume.name)"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        guard let wanted = try PodVolumes.files(of: volume, references: references) else { return }
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
            return !names.secrets.isEmpty || !names.configMaps.isEmpty
        }
        guard !pods.isEmpty else { return }
        Task {
            for pod in pods {
                let fresh = await self.fetchReferences(pod)
                self.refreshed(pod, fresh)
            }
        }
    }

    func refreshed(_ pod: Pod, _ fresh: PodReferences) {
        guard let uid = pod.metadata.uid, let record = records[uid], references[uid] != fresh else { return }
        references[uid] = fresh
        logger.info("pod \(pod.namespace)/\(pod.name): its Secrets or ConfigMaps changed; volumes rewritten")
        for volume in pod.spec.volumes ?? [] {
            do {
                try writeVolume(volume, references: fresh, directory: files.directory(record.uid))
            } catch {
                logger.warning("pod \(pod.namespace)/\(pod.name): volume \(volume.name): \(error)")
            }
        }
    }

    /// A pod whose sandbox waits (for a volume's Secret, say), as kubelet shows it: Pending, its containers
    /// ContainerCreating.
    static func waitingStatus(_ pod: Pod, hostIP: IPv4Address) -> PodStatus {
        var status = PodStatus()
        status.phase = "Pending"
        status.hostIP = hostIP.description
        let now = Timestamp.string()
        var conditions = pod.status?.conditions ?? []
        conditions.set(Condition(type: "PodScheduled", status: "True"), now: now)
        let names = pod.spec.containers.map(\.name).joined(separator: " ")
        conditions.set(Condition(type: "Ready", status: "False", reason: "ContainersNotReady", message: "containers with unready status: [\(names)]"), now: now)
        status.conditions = conditions
        status.containerStatuses = pod.spec.containers.map { container in
            var state = ContainerStatus(name: container.name, image: container.image ?? "", ready: false, restartCount: 0)
            state.state = .init(waiting: .init(reason: "ContainerCreating"))
            state.started = false
            return state
        }
        return status
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

    /// `ip netns exec <pod's namespace>` bind-mounts /etc/netns/<name>/* over /etc: the pod's own hosts,
    /// hostname and resolv.conf, so commands run that way see what the pod's processes see.
    static func publishForIPNetnsExec(netns: String, directory: String) throws {
        let published = NetNamespace(netns).etcDirectory
        try FileManager.default.createDirectory(atPath: published, withIntermediateDirectories: true)
        for file in ["hosts", "hostname", "resolv.conf"] {
            try? FileManager.default.removeItem(atPath: published + "/" + file)
            try FileManager.default.copyItem(atPath: directory + "/etc/" + file, toPath: published + "/" + file)
        }
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
            FileManager.default.createFile(atPath: index, contents: page, attributes: [.posixPermissions: 0o644])
        }
    }

    // MARK: Containers

    func superviseContainers(_ pod: Pod, _ record: inout PodRecord) {
        let now = Date()
        let stamp = Timestamp.string(now)
        for container in pod.spec.containers {
            var state = record.containers[container.name] ?? ContainerRecord()
            defer { record.containers[container.name] = state }
            if let process = state.process {
                let exit = Spawn.reap(process.pid).map(Spawn.exitCode)
                if exit == nil && process.isAlive { continue }
                // It ended: keep how, and decide on a restart.
                let code = exit ?? 255
                // Like a runtime killing the container's cgroup: what the process left behind (nginx's
                // workers) goes with it. Each container is its own process group (kl_spawn's setsid).
                kill(-process.pid, SIGKILL)
                inputs.removeValue(forKey: "\(record.uid)/\(container.name)")?.close()
                state.process = nil
                state.ready = false
                state.lastExitCode = code
                state.lastReason = code == 0 ? "Completed" : "Error"
                state.lastStartedAt = state.startedAt
                state.lastFinishedAt = stamp
                let ranLong = state.startedAt.flatMap(Timestamp.date).map { now.timeIntervalSince($0) > 600 } ?? false
                if ranLong { state.backoffSeconds = 0 }
                // kubelet: the first restart at once, then 10 s doubling up to 5 minutes.
                state.notBefore = now.addingTimeInterval(Double(state.backoffSeconds))
                state.backoffSeconds = state.backoffSeconds == 0 ? 10 : min(300, state.backoffSeconds * 2)
                logger.info("pod \(pod.namespace)/\(pod.name): container \(container.name) exited with \(code)")
                if code != 0, PodRuntime.shouldRun(pod, state), state.backoffSeconds > 10 {
                    report(pod, container: container.name, type: "Warning", reason: "BackOff",
                           message: "Back-off restarting failed container \(container.name) in pod \(pod.name)_\(pod.namespace)(\(pod.metadata.uid ?? ""))")
                }
            }
            guard PodRuntime.shouldRun(pod, state), services != nil else { continue }
            if let notBefore = state.notBefore, notBefore > now { continue }
            start(container, of: pod, record: record, state: &state, stamp: stamp)
        }
    }

    /// Whether a container that is not running should be (again), per restartPolicy.
    static func shouldRun(_ pod: Pod, _ state: ContainerRecord) -> Bool {
        guard let lastExit = state.lastExitCode else { return true }
        switch pod.spec.restartPolicy ?? "Always" {
        case "Never": return false
        case "OnFailure": return lastExit != 0
        default: return true
        }
    }

    func start(_ container: Container, of pod: Pod, record: PodRecord, state: inout ContainerRecord, stamp: String) {
        guard let sandbox = record.sandbox, sandbox.isAlive else {
            state.waitingReason = "ContainerCreating"
            return
        }
        func pullFailed(_ error: ImageCatalog.NotInCatalog) {
            if state.waitingReason != "ErrImagePull" {
                report(pod, container: container.name, type: "Warning", reason: "Failed",
                       message: "Failed to pull image \"\(container.image ?? "")\": \(error.description)")
            }
            state.waitingReason = "ErrImagePull"
            state.waitingMessage = error.description
        }
        // As kubelet: the image first, then the container's variables, which `$(VAR)` in command and args name.
        guard ImageCatalog.family(of: container.image ?? "") != nil else {
            pullFailed(ImageCatalog.NotInCatalog(image: container.image ?? ""))
            return
        }
        var env: [String: String]
        do {
            env = try environment(container, pod, record)
        } catch let problem as PodSetupError {
            // kubelet's CreateContainerConfigError: tried again shortly, reported when the reason changes.
            if state.waitingMessage != problem.description {
                report(pod, container: container.name, type: "Warning", reason: "Failed", message: "Error: \(problem.description)")
            }
            state.waitingReason = "CreateContainerConfigError"
            state.waitingMessage = problem.description
            state.notBefore = Date().addingTimeInterval(2)
            return
        } catch {
            state.waitingReason = "RunContainerError"
            state.waitingMessage = "\(error)"
            return
        }
        let argv: [String]
        switch ImageCatalog.commandLine(image: container.image ?? "", command: container.command?.map { PodRuntime.expand($0, env) },
                                        args: container.args?.map { PodRuntime.expand($0, env) }, programs: programs) {
        case .failure(let error):
            pullFailed(error)
            return
        case .success(let words) where words.isEmpty:
            argv = ["/usr/sbin/nginx", "-c", writeNginxConfig(record, container: container)]
        case .success(let words):
            guard let path = Spawn.resolve(words[0], path: PodRuntime.containerPath) else {
                state.waitingReason = "RunContainerError"
                state.waitingMessage = "exec: \"\(words[0])\": executable file not found in $PATH"
                state.lastExitCode = 128
                state.notBefore = Date().addingTimeInterval(Double(max(state.backoffSeconds, 10)))
                return
            }
            argv = [path] + words.dropFirst()
        }
        let key = "\(record.uid)/\(container.name)"
        do {
            let logPath = files.logPath(record.uid, container: container.name)
            let tty = container.tty == true
            if tty, env["TERM"] == nil { env["TERM"] = "xterm" }
            inputs.removeValue(forKey: key)?.close()
            let input = container.stdin == true || tty ? try ContainerInput(
                socketPath: ClusterNames(cluster: cluster).containerInputSocket(uid: record.uid, container: container.name),
                terminal: tty, once: container.stdinOnce == true, logPath: logPath) : nil
            let pid: pid_t
            do {
                defer { if let input { close(input.containerEnd) } }
                pid = try Spawn.start(argv, options: .init(
                    namespace: NetNamespace(record.netns), joinSandboxOf: sandbox.pid, logPath: tty ? nil : logPath,
                    workingDirectory: container.workingDir, environment: env,
                    stdin: input?.containerEnd, output: tty ? input?.containerEnd : nil, terminal: tty))
            } catch {
                input?.close()
                throw error
            }
            inputs[key] = input
            state.process = ProcessRef(pid: pid)
            state.environment = env
            if state.startedAt == nil {
                report(pod, container: container.name, reason: "Pulled", message: "Container image \"\(container.image ?? "")\" already present on machine")
            }
            report(pod, container: container.name, reason: "Created", message: "Created container: \(container.name)")
            report(pod, container: container.name, reason: "Started", message: "Started container \(container.name)")
            if state.startedAt != nil { state.restartCount += 1 }
            state.startedAt = stamp
            state.waitingReason = nil
            state.waitingMessage = nil
            state.probeSuccesses = 0
            state.probeFailures = 0
            state.nextProbe = Date().addingTimeInterval(Double(container.readinessProbe?.initialDelaySeconds ?? 0))
            state.ready = container.readinessProbe == nil
        } catch {
            state.waitingReason = "RunContainerError"
            state.waitingMessage = "\(error)"
        }
    }

    static let containerPath = ImageCatalog.containerPath

    /// The container's environment: the services' variables as kubelet sets them, then the container's own
    /// variables (which win) with `$(VAR)` references and downward-API fields resolved.
    func environment(_ container: Container, _ pod: Pod, _ record: PodRecord) throws -> [String: String] {
        var env = ServiceLinks.environment(namespace: pod.namespace, services: services.map { Array($0.values) } ?? [],
                                           enableServiceLinks: pod.spec.enableServiceLinks ?? true)
        env.merge(["PATH": PodRuntime.containerPath, "HOSTNAME": PodRuntime.hostname(pod), "HOME": "/root"]) { _, own in own }
        let sources = references[record.uid] ?? PodReferences()
        for source in container.envFrom ?? [] {
            env.merge(try PodRuntime.variables(from: source, sources, namespace: pod.namespace)) { _, new in new }
        }
        for variable in container.env ?? [] {
            if let value = variable.value {
                env[variable.name] = PodRuntime.expand(value, env)
            } else if let selector = variable.valueFrom?.secretKeyRef ?? variable.valueFrom?.configMapKeyRef {
                let fromSecret = variable.valueFrom?.secretKeyRef != nil
                if let value = try PodRuntime.value(of: selector, secret: fromSecret, sources, namespace: pod.namespace) {
                    env[variable.name] = value
                }
            } else if let path = variable.valueFrom?.fieldRef?.fieldPath {
                env[variable.name] = switch path {
                case "metadata.name": pod.name
                case "metadata.namespace": pod.namespace
                case "metadata.uid": pod.metadata.uid ?? ""
                case "spec.nodeName": nodeName
                case "spec.serviceAccountName": pod.spec.serviceAccountName ?? "default"
                case "status.hostIP": nodeIP.description
                case "status.podIP", "status.podIPs": record.ip.description
                default: ""
                }
            }
        }
        return env
    }

    /// One key of a Secret or ConfigMap, as kubelet resolves `secretKeyRef`/`configMapKeyRef`: nil when optional
    /// and missing; kubelet's error otherwise.
    static func value(of selector: KeySelector, secret: Bool, _ sources: PodReferences, namespace: String) throws -> String? {
        let name = selector.name ?? ""
        guard let data = try sources.data(secret: secret, name: name, optional: selector.optional == true) else { return nil }
        guard let value = data[selector.key] else {
            if selector.optional == true { return nil }
            throw PodSetupError("couldn't find key \(selector.key) in \(secret ? "Secret" : "ConfigMap") \(namespace)/\(name)")
        }
        return String(decoding: value, as: UTF8.self)
    }

    /// Every key of an `envFrom` source as a variable (with its prefix).
    static func variables(from source: EnvFromSource, _ sources: PodReferences, namespace: String) throws -> [String: String] {
        let secret = source.secretRef != nil
        guard let reference = source.secretRef ?? source.configMapRef else { return [:] }
        guard let data = try sources.data(secret: secret, name: reference.name ?? "", optional: reference.optional == true) else { return [:] }
        return Dictionary(uniqueKeysWithValues: data.map { ((source.prefix ?? "") + $0.key, String(decoding: $0.value, as: UTF8.self)) })
    }

    /// `$(VAR)` references to earlier variables, as Kubernetes expands them; `$$` escapes.
    static func expand(_ value: String, _ env: [String: String]) -> String {
        guard value.contains("$") else { return value }
        var result = ""
        var rest = Substring(value)
        while let dollar = rest.firstIndex(of: "$") {
            result += rest[..<dollar]
            let after = rest[rest.index(after: dollar)...]
            if after.hasPrefix("$") {
                result += "$"
                rest = after.dropFirst()
            } else if after.hasPrefix("("), let close = after.firstIndex(of: ")"), let resolved = env[String(after[after.index(after: after.startIndex)..<close])] {
                result += resolved
                rest = after[after.index(after: close)...]
            } else {
                result += "$"
                rest = after
            }
        }
        return result + rest
    }

    /// nginx's main configuration for one container, as the nginx image's: everything in the pod's
    /// /etc/nginx/conf.d (its own default.conf, or what a volume mounts there, as in seed 001's HTTPS example).
    func writeNginxConfig(_ record: PodRecord, container: Container) -> String {
        let directory = files.directory(record.uid)
        let path = "\(directory)/nginx-\(container.name).conf"
        let config = """
            # nginx for pod \(record.namespace)/\(record.name); /etc/nginx/conf.d and /usr/share/nginx/html are the pod's own.
            daemon off;
            worker_processes 1;
            pid \(directory)/nginx-\(container.name).pid;
            error_log /dev/stderr notice;
            events { worker_connections 512; }
            http {
                include /etc/nginx/mime.types;
                default_type application/octet-stream;
                access_log /dev/stdout;
                sendfile on;
                keepalive_timeout 65;
                include /etc/nginx/conf.d/*.conf;
            }

            """
        try? config.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// The image's /etc/nginx/conf.d/default.conf: the pod's html on its first nginx container's first port.
    static func nginxDefaultServer(_ pod: Pod) -> String {
        let port = pod.spec.containers.first { ImageCatalog.family(of: $0.image ?? "") == .nginx }?.ports?.first?.containerPort ?? 80
        return """
            server {
                listen \(port) default_server;
                server_name localhost;
                root /usr/share/nginx/html;
                index index.html index.htm;
            }

            """
    }

    // MARK: Probes

    func startProbes(_ pod: Pod, _ record: PodRecord) {
        let now = Date()
        for container in pod.spec.containers {
            guard let probe = container.readinessProbe, let state = record.containers[container.name],
                  let process = state.process, let due = state.nextProbe, due <= now else { continue }
            let key = "\(record.uid)/\(container.name)"
            guard !probing.contains(key) else { continue }
            probing.insert(key)
            let target = Probes.Target(ip: record.ip, container: container, netns: NetNamespace(record.netns), sandboxPID: record.sandbox?.pid)
            Task {
                let ok = await Probes.run(probe, target: target)
                await self.probed(uid: record.uid, container: container.name, process: process, probe: probe, ok: ok)
            }
        }
    }

    func probed(uid: String, container: String, process: ProcessRef, probe: Probe, ok: Bool) {
        probing.remove("\(uid)/\(container)")
        guard var state = records[uid]?.containers[container], state.process == process else { return }
        if ok {
            state.probeSuccesses += 1
            state.probeFailures = 0
            if state.probeSuccesses >= (probe.successThreshold ?? 1) { state.ready = true }
        } else {
            state.probeFailures += 1
            state.probeSuccesses = 0
            if state.probeFailures >= (probe.failureThreshold ?? 3) { state.ready = false }
        }
        state.nextProbe = Date().addingTimeInterval(Double(probe.periodSeconds ?? 10))
        if state.ready != records[uid]?.containers[container]?.ready { passRequested = true }
        records[uid]?.containers[container] = state
    }

    // MARK: Status

    /// Posts changed pod statuses, several at a time: a node starting many pods should not wait for each
    /// round trip in turn.
    func post(_ reports: [(Pod, PodStatus)]) async {
        let client = self.client
        let results = await withTaskGroup(of: (String, PodStatus, Error?).self) { group in
            var results: [(String, PodStatus, Error?)] = []
            for (index, (pod, status)) in reports.enumerated() {
                if index >= 8, let done = await group.next() { results.append(done) }
                group.addTask {
                    var update = pod
                    update.metadata.resourceVersion = nil
                    update.status = status
                    do {
                        _ = try await client.updateStatus(update)
                        return (pod.metadata.uid ?? "", status, nil)
                    } catch {
                        return (pod.metadata.uid ?? "", status, error)
                    }
                }
            }
            for await result in group { results.append(result) }
            return results
        }
        for (uid, status, error) in results {
            if let error {
                logger.warning("pod \(uid): cannot post status: \(error)")
                passRequested = true
            } else {
                posted[uid] = (status, Date())
            }
        }
    }

    static func sameIgnoringTimes(_ a: PodStatus, _ b: PodStatus) -> Bool {
        var (a, b) = (a, b)
        a.conditions = a.conditions?.withoutTimes
        b.conditions = b.conditions?.withoutTimes
        return a == b
    }

    /// The pod's status as the API shows it: a pure function of the spec and what the runtime knows.
    static func status(_ pod: Pod, _ record: PodRecord, hostIP: IPv4Address) -> PodStatus {
        var containers: [ContainerStatus] = []
        for container in pod.spec.containers {
            let state = record.containers[container.name] ?? ContainerRecord()
            var status = ContainerStatus(name: container.name, image: container.image ?? "", ready: state.ready, restartCount: state.restartCount)
            status.imageID = "kindling://" + ImageCatalog.repository(container.image ?? "")
            let lastTerminated = state.lastExitCode.map { code -> ContainerStatus.State in
                var terminated = ContainerStatus.State.Terminated(exitCode: code, reason: state.lastReason)
                terminated.startedAt = state.lastStartedAt
                terminated.finishedAt = state.lastFinishedAt
                return ContainerStatus.State(terminated: terminated)
            }
            if let process = state.process {
                status.containerID = "kindling://\(process.pid)"
                status.started = true
                status.state = .init(running: .init(startedAt: state.startedAt))
                status.lastState = lastTerminated
            } else if let reason = state.waitingReason {
                status.state = .init(waiting: .init(reason: reason, message: state.waitingMessage))
                status.started = false
            } else if state.lastExitCode != nil && shouldRun(pod, state) {
                status.state = .init(waiting: .init(reason: "CrashLoopBackOff",
                    message: "back-off \(max(state.backoffSeconds / 2, 10))s restarting failed container=\(container.name) pod=\(pod.name)_\(pod.namespace)(\(pod.metadata.uid ?? ""))"))
                status.lastState = lastTerminated
                status.started = false
            } else if let terminated = lastTerminated {
                status.state = terminated
                status.started = false
            } else {
                status.state = .init(waiting: .init(reason: "ContainerCreating"))
                status.started = false
            }
            containers.append(status)
        }
        var status = PodStatus()
        let allReady = !containers.isEmpty && containers.allSatisfy(\.ready)
        let terminated = containers.compactMap { $0.state?.terminated }
        if terminated.count == containers.count && !containers.isEmpty {
            status.phase = terminated.allSatisfy { $0.exitCode == 0 } ? "Succeeded" : "Failed"
        } else if containers.allSatisfy({ $0.state?.running != nil || $0.lastState?.terminated != nil || $0.state?.terminated != nil }) {
            status.phase = "Running"
        } else {
            status.phase = "Pending"
        }
        let now = Timestamp.string()
        var conditions = pod.status?.conditions ?? []
        conditions.set(Condition(type: "PodScheduled", status: "True"), now: now)
        conditions.set(Condition(type: "Initialized", status: "True"), now: now)
        conditions.set(allReady ? Condition(type: "ContainersReady", status: "True")
                       : Condition(type: "ContainersReady", status: "False", reason: "ContainersNotReady",
                                   message: "containers with unready status: [\(containers.filter { !$0.ready }.map(\.name).joined(separator: " "))]"), now: now)
        conditions.set(allReady ? Condition(type: "Ready", status: "True")
                       : Condition(type: "Ready", status: "False", reason: "ContainersNotReady",
                                   message: "containers with unready status: [\(containers.filter { !$0.ready }.map(\.name).joined(separator: " "))]"), now: now)
        status.conditions = conditions
        status.hostIP = hostIP.description
        status.podIP = record.ip.description
        status.podIPs = [.init(ip: record.ip.description)]
        status.startTime = record.startTime
        status.containerStatuses = containers
        return status
    }

    // MARK: Stopping

    /// Stops a pod: SIGTERM to its containers first, SIGKILL at the deadline (or at once when the pod is
    /// gone from the API), then the sandbox, link, namespace and files go, and the API object is removed.
    func stop(_ record: PodRecord, pod: Pod?) async {
        var record = record
        let containers = record.containers.values.compactMap(\.process)
        for name in record.containers.keys { inputs.removeValue(forKey: "\(record.uid)/\(name)")?.close() }
        if record.stopDeadline == nil {
            let grace = pod == nil ? 0 : Double(pod?.metadata.deletionGracePeriodSeconds ?? pod?.spec.terminationGracePeriodSeconds ?? 30)
            record.stopDeadline = Date().addingTimeInterval(grace)
            for process in containers where process.isAlive { kill(process.pid, SIGTERM) }
            if let pod {
                for (name, state) in record.containers where state.process?.isAlive == true {
                    report(pod, container: name, reason: "Killing", message: "Stopping container \(name)")
                }
            }
            records[record.uid] = record
            try? files.save(record)
        }
        for process in containers { _ = Spawn.reap(process.pid) }
        if containers.contains(where: \.isAlive) {
            guard let deadline = record.stopDeadline, deadline <= Date() else { return }
        }
        // Everything still inside the pod's network namespace goes: containers, what they started, the
        // sandbox, and commands someone ran there with exec.
        let namespace = NetNamespace(record.netns)
        for _ in 0..<50 {
            let remaining = namespace.processes()
            if remaining.isEmpty { break }
            for pid in remaining { kill(pid, SIGKILL) }
            for pid in remaining { _ = Spawn.reap(pid) }
            try? await Task.sleep(for: .milliseconds(10))
        }
        do {
            try await NamespaceThread.shared.perform(in: nil) { [link = record.link] in
                try RouteSocket().deleteLink(link.hostDevice)
                try RouteSocket().deleteRoute(link.hostRoute, owner: .podLinks)
            }
            try NetNamespace(record.netns).delete()
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
