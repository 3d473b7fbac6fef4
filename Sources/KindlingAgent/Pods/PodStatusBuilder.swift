import Foundation
import KindlingAddresses
import KindlingAPI
import KindlingProcess

/// A pod's status as the API shows it, from its spec and what the runtime knows of it: phase, conditions,
/// container states. Pure.
enum PodStatusBuilder {
    /// A pod whose sandbox waits (for a volume's Secret, say), as kubelet shows it: Pending, its containers
    /// ContainerCreating.
    static func waitingStatus(_ pod: Pod, hostIP: IPv4Address, now: String = Timestamp.string()) -> PodStatus {
        var status = PodStatus()
        status.phase = "Pending"
        status.hostIP = hostIP.description
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

    static func sameIgnoringTimes(_ a: PodStatus, _ b: PodStatus) -> Bool {
        var (a, b) = (a, b)
        a.conditions = a.conditions?.withoutTimes
        b.conditions = b.conditions?.withoutTimes
        return a == b
    }

    /// The pod's status as the API shows it: a pure function of the spec and what the runtime knows.
    static func status(_ pod: Pod, _ record: PodRecord, hostIP: IPv4Address, now: String = Timestamp.string()) -> PodStatus {
        var containers: [ContainerStatus] = []
        for container in pod.spec.containers {
            let state = record.containers[container.name] ?? ContainerRecord()
            var status = ContainerStatus(name: container.name, image: container.image ?? "", ready: state.ready, restartCount: state.restartCount)
            status.imageID = "kindling://" + ImageCatalog.repository(container.image ?? "")
            if let process = state.process { status.containerID = "kindling://\(process.pid)" }
            let shown = ContainerLifecycle.apiState(state, restartPolicy: pod.spec.restartPolicy, container: container.name, pod: pod)
            (status.state, status.lastState, status.started) = (shown.state, shown.last, shown.started)
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
}
