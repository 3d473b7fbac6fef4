import Foundation
import KindlingAddresses
import KindlingAPI
import Synchronization

/// A container's output as its node's agent writes it to a file on this machine: read whole for `pods/log`,
/// followed until the container is done for `logs -f` and `attach`.
struct ContainerLog {
    let registry: Registry
    let cluster: String
    let pod: Pod
    let container: String

    /// The container of `pod` a request names (an init container too), or its only one; a Kubernetes-worded
    /// error otherwise.
    static func container(of pod: Pod, asked: String?) throws -> String {
        let names = pod.spec.containers.map(\.name), inits = (pod.spec.initContainers ?? []).map(\.name)
        if let asked, !asked.isEmpty {
            let ephemeral = pod.spec.ephemeralContainers?.contains { $0.name == asked } == true
            guard names.contains(asked) || inits.contains(asked) || ephemeral else { throw Status.badRequest("container \(asked) is not valid for pod \(pod.name)") }
            return asked
        }
        guard names.count == 1 else {
            let initHint = inits.isEmpty ? "" : " or one of the init containers: [\(inits.joined(separator: " "))]"
            throw Status.badRequest("a container name must be specified for pod \(pod.name), choose one of: [\(names.joined(separator: " "))]\(initHint)")
        }
        return names[0]
    }

    /// The log file, open for reading; nil before the container has started. With `previous`, the log of the
    /// instance before the last restart.
    func open(previous: Bool = false) -> FileHandle? {
        guard let uid = pod.metadata.uid else { return nil }
        return FileHandle(forReadingAtPath: ClusterNames.containerLogPath(podsDirectory: ClusterNames(cluster: cluster).podsDirectory(),
                                                                          uid: uid, container: container, previous: previous))
    }

    /// kubelet's answer when there is no previous instance.
    var noPrevious: Status {
        Status.badRequest("previous terminated container \"\(container)\" in pod \"\(pod.name)\" not found")
    }

    /// The ID of the container's running instance, if it runs: a followed log ends with that instance.
    var runningID: String? {
        let status = Self.statuses(pod).first { $0.name == container }
        return status?.state?.running != nil ? status?.containerID : nil
    }

    var waiting: Status {
        let statuses = Self.statuses(pod)
        return Status.badRequest("container \"\(container)\" in pod \"\(pod.name)\" is waiting to start: \(statuses.first { $0.name == container }?.state?.waiting?.reason ?? "ContainerCreating")")
    }

    /// What `handle` holds from its position on, then what the container writes until it is done (its pod
    /// finished or deleted, or it terminated without restarting), as the kubelet ends a followed log; with
    /// `process` (a container ID, for an attach), also when that process is no longer the container's.
    func follow(_ handle: FileHandle, every interval: Duration = .milliseconds(100), process: String? = nil) -> AsyncStream<Data> {
        AsyncStream { continuation in
            let task = Task {
                while !Task.isCancelled {
                    let more = handle.availableData
                    if !more.isEmpty {
                        continuation.yield(more)
                        continue
                    }
                    if isDone(process: process) {
                        continuation.yield(handle.availableData)
                        break
                    }
                    try? await Task.sleep(for: interval)
                }
                try? handle.close()
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// Whether the container will write no more (its pod finished or gone, or it terminated without restarting),
    /// or, with `process`, that process is no longer the container's running one: one read of the pod.
    func isDone(process: String?) -> Bool {
        guard let now = try? registry.get(Pod.self, namespace: pod.namespace, name: pod.name), now.metadata.uid == pod.metadata.uid else { return true }
        let status = Self.statuses(now).first { $0.name == container }
        if now.phase == "Succeeded" || now.phase == "Failed" || (status?.state?.terminated != nil && now.spec.restartPolicy == "Never") { return true }
        guard let process else { return false }
        return (status?.state?.running != nil ? status?.containerID : nil) != process
    }

    /// Where a recent whole read of each log ended. `kubectl run -i` reads the log and attaches right after;
    /// an attach within a moment of such a read goes on from where it ended, so no line is shown twice or lost
    /// between the two (Kubernetes loses those; here they are on disk).
    final class ReadPositions: Sendable {
        let positions = Mutex<[String: (offset: UInt64, at: ContinuousClock.Instant)]>([:])

        func record(_ log: ContainerLog, offset: UInt64) {
            positions.withLock { positions in
                positions = positions.filter { ContinuousClock.now - $0.value.at < .seconds(10) }
                positions[log.key] = (offset, .now)
            }
        }

        /// The end of the last read of this log if it was within ten seconds.
        func recent(_ log: ContainerLog) -> UInt64? {
            positions.withLock { positions in
                positions = positions.filter { ContinuousClock.now - $0.value.at < .seconds(10) }
                return positions[log.key]?.offset
            }
        }
    }

    var key: String { "\(pod.metadata.uid ?? "")/\(container)" }

    /// Every container's status: the pod's own, init and ephemeral ones.
    static func statuses(_ pod: Pod) -> [ContainerStatus] {
        (pod.status?.containerStatuses ?? []) + (pod.status?.initContainerStatuses ?? []) + (pod.status?.ephemeralContainerStatuses ?? [])
    }
}

