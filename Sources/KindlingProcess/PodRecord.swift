import Foundation
import KindlingAddresses
import KindlingAPI
import KindlingNet

/// What the agent made for one pod, kept on disk so a restarted agent re-adopts the pod instead of
/// restarting it, and so `kindling exec` finds its sandbox.
public struct PodRecord: Codable, Sendable, Equatable {
    public var uid: String
    public var namespace: String
    public var name: String
    public var netns: String
    public var hostDevice: String
    public var ip: IPv4Address
    public var podCIDR: IPv4CIDR
    public var sandbox: ProcessRef?
    public var containers: [String: ContainerRecord] = [:]
    public var startTime: String
    /// When the pod was asked to stop: its processes get SIGTERM, then SIGKILL at this deadline.
    public var stopDeadline: Date?
    /// Its init containers have all completed (and sidecars started): from then on its containers run, and
    /// a sidecar restarting does not hold them back.
    public var initialized = false
    /// The pod has finished (Succeeded or Failed) and its sandbox is gone, as kubelet tears a finished pod's down:
    /// its address is free for other pods; its record (final container states) and logs stay until it is deleted.
    public var released = false

    public init(uid: String, namespace: String, name: String, netns: String, hostDevice: String, ip: IPv4Address, podCIDR: IPv4CIDR,
                startTime: String) {
        self.uid = uid
        self.namespace = namespace
        self.name = name
        self.netns = netns
        self.hostDevice = hostDevice
        self.ip = ip
        self.podCIDR = podCIDR
        self.startTime = startTime
    }

    public var link: PodLink {
        PodLink(pod: NetNamespace(netns), hostDevice: hostDevice, address: ip, podCIDR: podCIDR)
    }
}

/// A process and its start time (from /proc), so a recycled pid is never mistaken for it.
public struct ProcessRef: Codable, Sendable, Hashable {
    public var pid: Int32
    public var startTicks: UInt64

    public init?(pid: Int32) {
        guard let ticks = ProcessRef.startTicks(of: pid) else { return nil }
        self.init(pid: pid, startTicks: ticks)
    }

    /// A process known by both (a model's, in tests); `init(pid:)` reads the start time of a real one.
    public init(pid: Int32, startTicks: UInt64) {
        self.pid = pid
        self.startTicks = startTicks
    }

    /// Field 22 of /proc/<pid>/stat; nil when the process is gone or a zombie. Asked for every container of
    /// every pod several times a second, so read as bytes: no Foundation file or String on this path.
    static func startTicks(of pid: Int32) -> UInt64? {
        let fd = open("/proc/\(pid)/stat", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 1024) { buffer -> UInt64? in
            let count = read(fd, buffer.baseAddress, buffer.count)
            guard count > 0 else { return nil }
            return ProcessRef.startTicks(stat: UnsafeBufferPointer(rebasing: buffer[..<count]))
        }
    }

    /// The start time in a /proc/<pid>/stat line: after the command's last ")", the state is field 3 and
    /// the start time field 22. Pure.
    static func startTicks(stat line: UnsafeBufferPointer<UInt8>) -> UInt64? {
        guard let close = line.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        var field = 2, index = close + 1, value: UInt64 = 0
        while index < line.count {
            let byte = line[index]
            if byte == UInt8(ascii: " ") {
                if field == 22 { return value }
                field += 1
            } else if field == 3, byte == UInt8(ascii: "Z") || byte == UInt8(ascii: "X") {
                return nil
            } else if field == 22 {
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + UInt64(byte - UInt8(ascii: "0"))
            }
            index += 1
        }
        return field == 22 ? value : nil
    }

    public var isAlive: Bool { ProcessRef.startTicks(of: pid) == startTicks }
}

public struct ContainerRecord: Codable, Sendable, Equatable {
    public var process: ProcessRef?
    /// The environment it was started with, which `kindling exec` gives its commands too.
    public var environment: [String: String]?
    public var startedAt: String?
    public var restartCount = 0
    /// The last run's end, shown as lastState (and as state while it is not restarted).
    public var lastExitCode: Int32?
    public var lastReason: String?
    public var lastStartedAt: String?
    public var lastFinishedAt: String?
    /// No restart before this (CrashLoopBackOff).
    public var notBefore: Date?
    public var backoffSeconds = 0
    /// Why the container cannot start at all (image not in the catalog, command not found).
    public var waitingReason: String?
    public var waitingMessage: String?
    /// While pulling its image fails: ErrImagePull, then ImagePullBackOff for this long, doubling.
    public var pullBackoffSeconds = 0
    public var ready = false
    /// Its startup probe has succeeded (or it has none): the other probes run, and the API shows it started.
    public var startupPassed = false
    /// Each probe's run of results, by `ProbeKind`.
    public var probes: [String: ProbeRecord] = [:]
    /// Being stopped to be restarted (a probe failed): SIGKILL at this moment if it has not ended by then.
    public var killDeadline: Date?
    /// Stopped by kubelet to be restarted: it runs again whatever its exit code, unless restartPolicy is Never.
    public var restartForced = false

    public init() {}
}

/// One probe's recent results: how many successes or failures in a row, and when it runs next.
public struct ProbeRecord: Codable, Sendable, Equatable {
    public var successes = 0
    public var failures = 0
    public var next: Date?

    public init(next: Date?) { self.next = next }
}

/// Where a cluster keeps its pods' files: /var/lib/kindling/<cluster>/pods/<uid>/.
public struct PodFiles: Sendable {
    public let root: String

    public init(cluster: String, stateRoot: String = ClusterNames.stateRoot) {
        root = ClusterNames(cluster: cluster).podsDirectory(root: stateRoot)
    }

    public func directory(_ uid: String) -> String { "\(root)/\(uid)" }
    public func recordPath(_ uid: String) -> String { directory(uid) + "/record.json" }
    public func logPath(_ uid: String, container: String) -> String {
        ClusterNames.containerLogPath(podsDirectory: root, uid: uid, container: container)
    }
    /// The log of the container's previous instance, kept when it restarts (`logs --previous`).
    public func previousLogPath(_ uid: String, container: String) -> String {
        ClusterNames.containerLogPath(podsDirectory: root, uid: uid, container: container, previous: true)
    }
    public func html(_ uid: String) -> String { directory(uid) + "/html" }

    public func load(_ uid: String) -> PodRecord? {
        guard let data = FileManager.default.contents(atPath: recordPath(uid)) else { return nil }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try? decoder.decode(PodRecord.self, from: data)
    }

    public func loadAll() -> [PodRecord] {
        ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).compactMap(load)
    }

    /// Atomically (temp file + rename).
    public func save(_ record: PodRecord) throws {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        try encoder.encode(record).write(to: URL(fileURLWithPath: recordPath(record.uid)), options: .atomic)
    }
}
