import Foundation
import KindlingAddresses
import KindlingAPI
import KindlingClient
import KindlingNet
import KindlingProcess
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
    /// Sandboxes and processes: the node's own, or a model of them in tests.
    let machine: any PodMachine
    /// What the last pass left to do, and when.
    var schedule = PassSchedule()

    public init(cluster: String, nodeName: String, nodeIP: IPv4Address, client: APIClient, logger: Logger, programs: ImageCatalog.Programs,
                clusterDNS: IPv4Address, services: SharedInformer<Service>, machine: any PodMachine = HostPodMachine(), files: PodFiles? = nil) {
        self.machine = machine
        self.clusterDNS = clusterDNS
        self.serviceInformer = services
        self.cluster = cluster
        self.nodeName = nodeName
        self.nodeNetns = NetNamespace(ClusterNames(cluster: cluster).nodeNetns(node: nodeName))
        self.nodeIP = nodeIP
        self.client = client
        self.files = files ?? PodFiles(cluster: cluster)
        self.logger = logger
        self.programs = programs
    }

    public func run() async {
        try? FileManager.default.createDirectory(atPath: files.root, withIntermediateDirectories: true)
        var cidr: IPv4CIDR?
        while cidr == nil && !Task.isCancelled {
            cidr = try? await client.get(Node.self, name: nodeName).podCIDR
            if cidr == nil { try? await Task.sleep(for: .milliseconds(100)) }
        }
        guard let cidr else { return }
        adopt(podCIDR: cidr)
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

    /// Takes the node's pod CIDR and the pods already running from it: the records directory is the
    /// cluster's, and this node's pods are those addressed from its CIDR. They are re-adopted, not restarted.
    func adopt(podCIDR: IPv4CIDR) {
        self.podCIDR = podCIDR
        for record in files.loadAll() where record.podCIDR == podCIDR { records[record.uid] = record }
        if !records.isEmpty { logger.info("re-adopting \(records.count) pod(s)") }
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
            || machine.anyEnded(schedule.processes)
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
                let waiting = PodStatusBuilder.waitingStatus(pod, hostIP: nodeIP)
                if pod.status.map({ PodStatusBuilder.sameIgnoringTimes($0, waiting) }) != true { reports.append((pod, waiting)) }
            } catch {
                logger.error("pod \(pod.namespace)/\(pod.name): cannot create sandbox: \(error)")
            }
        }
        refreshReferences()
        for (uid, pod) in desired where pod.metadata.deletionTimestamp == nil {
            guard var record = records[uid], !record.released else { continue }
            let before = record
            superviseContainers(pod, &record)
            records[uid] = record
            if record != before { try? files.save(record) }
            startProbes(pod, record)
            let status = PodStatusBuilder.status(pod, record, hostIP: nodeIP)
            let apiDiffers = pod.status.map({ PodStatusBuilder.sameIgnoringTimes($0, status) }) != true
            // Posted a moment ago: the informer may not have seen that write yet. Longer ago: someone else
            // changed the status (the node lifecycle controller marking pods not ready), and the node's own
            // view wins again, as a kubelet's does.
            let justPosted = posted[uid].map { $0.status == status && Date().timeIntervalSince($0.at) < 5 } ?? false
            if apiDiffers && !justPosted {
                reports.append((pod, status))
            } else if !apiDiffers {
                posted[uid] = (status, .distantPast)
                // Finished, and the API says so: its sandbox goes and its address is free.
                if status.phase == "Succeeded" || status.phase == "Failed" {
                    await release(&record)
                    records[uid] = record
                }
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
        let list = pod.spec.initContainers?.contains { $0.name == container } == true ? "initContainers"
            : pod.spec.ephemeralContainers?.contains { $0.name == container } == true ? "ephemeralContainers" : "containers"
        events.append(Event.report(about: pod, type: type, reason: reason, message: message,
                                   source: .init(component: "kubelet", host: nodeName), fieldPath: "spec.\(list){\(container)}",
                                   now: Timestamp.string()))
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
}
