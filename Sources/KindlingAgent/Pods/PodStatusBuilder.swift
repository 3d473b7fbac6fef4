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
        let names = (pod.spec.sidecars + pod.spec.containers).map(\.name).joined(separator: " ")
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

    /// The pod's status as the API shows it: a pure function of the spec and what the runtime knows. Init
    /// containers have their own statuses; the pod is Pending while they run (Failed if one failed for good),
    /// its phase then follows its own containers, and sidecars count towards its readiness.
    static func status(_ pod: Pod, _ record: PodRecord, hostIP: IPv4Address, now: String = Timestamp.string()) -> PodStatus {
        let progress = InitOrder.progress(pod.spec, record)
        let podDone = InitOrder.mainDone(pod.spec, record)
        func shown(_ container: Container) -> ContainerStatus {
            let state = record.containers[container.name] ?? ContainerRecord()
            var status = ContainerStatus(name: container.name, image: container.image ?? "", ready: state.ready && state.process != nil,
                                         restartCount: state.restartCount)
            status.imageID = "kindling://" + ImageCatalog.repository(container.image ?? "")
            if let process = state.process { status.containerID = "kindling://\(process.pid)" }
            let policy = InitOrder.restartPolicy(InitOrder.role(of: container, in: pod.spec), pod: pod.spec, podDone: podDone)
            let api = ContainerLifecycle.apiState(state, restartPolicy: policy, container: container.name, pod: pod,
                                                  notStarted: progress.initialized ? "ContainerCreating" : "PodInitializing")
            (status.state, status.lastState, status.started) = (api.state, api.last, api.started)
            return status
        }
        let inits = (pod.spec.initContainers ?? []).map(shown)
        let containers = pod.spec.containers.map(shown)
        var status = PodStatus()
        if progress.failed {
            status.phase = "Failed"
        } else if !progress.initialized {
            status.phase = "Pending"
        } else {
            let terminated = containers.compactMap { $0.state?.terminated }
            if terminated.count == containers.count && !containers.isEmpty {
                status.phase = terminated.allSatisfy { $0.exitCode == 0 } ? "Succeeded" : "Failed"
            } else if containers.allSatisfy({ $0.state?.running != nil || $0.lastState?.terminated != nil || $0.state?.terminated != nil }) {
                status.phase = "Running"
            } else {
                status.phase = "Pending"
            }
        }
        let sidecars = Set(pod.spec.sidecars.map(\.name))
        let counted = inits.filter { sidecars.contains($0.name) } + containers
        let unready = counted.filter { !$0.ready }.map(\.name)
        var conditions = pod.status?.conditions ?? []
        conditions.set(Condition(type: "PodScheduled", status: "True"), now: now)
        conditions.set(progress.initialized ? Condition(type: "Initialized", status: "True")
                       : Condition(type: "Initialized", status: "False", reason: "ContainersNotInitialized",
                                   message: "containers with incomplete status: [\(progress.incomplete.joined(separator: " "))]"), now: now)
        for type in ["ContainersReady", "Ready"] {
            conditions.set(unready.isEmpty ? Condition(type: type, status: "True")
                           : Condition(type: type, status: "False", reason: "ContainersNotReady",
                                       message: "containers with unready status: [\(unready.joined(separator: " "))]"), now: now)
        }
        status.conditions = conditions
        status.hostIP = hostIP.description
        status.podIP = record.ip.description
        status.podIPs = [.init(ip: record.ip.description)]
        status.startTime = record.startTime
        status.initContainerStatuses = inits.isEmpty ? nil : inits
        let ephemeral = (pod.spec.ephemeralContainers ?? []).map(shown)
        status.ephemeralContainerStatuses = ephemeral.isEmpty ? nil : ephemeral
        status.containerStatuses = containers
        return status
    }
}
