import Foundation
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

    public var link: PodLink {
        PodLink(pod: NetNamespace(netns), hostDevice: hostDevice, address: ip, podCIDR: podCIDR)
    }
}

/// A process and its start time (from /proc), so a recycled pid is never mistaken for it.
public struct ProcessRef: Codable, Sendable, Equatable {
    public var pid: Int32
    public var startTicks: UInt64

    public init?(pid: Int32) {
        guard let ticks = ProcessRef.startTicks(of: pid) else { return nil }
        self.pid = pid
        self.startTicks = ticks
    }

    /// Field 22 of /proc/<pid>/stat; nil when the process is gone or a zombie.
    static func startTicks(of pid: Int32) -> UInt64? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 19, fields[0] != "Z", fields[0] != "X" else { return nil }
        return UInt64(fields[19])
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
    public var ready = false
    public var probeSuccesses = 0
    public var probeFailures = 0
    public var nextProbe: Date?

    public init() {}
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
