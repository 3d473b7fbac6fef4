import Foundation
import KindlingAPI
import KindlingProcess

/// When an agent's pods next need a pass, worked out at the end of each pass, so that the look every 100 ms
/// between passes is a comparison and one poll(2) over `processes` (`ExitWatch`), whatever the pod count.
struct PassSchedule: Equatable {
    /// Work a pass should do as soon as it can: a pod to make or to stop.
    var pending = false
    /// The earliest container restart, probe or kill due.
    var due: Date?
    /// Every sandbox and container process the records hold: one of them ending needs a pass.
    var processes: Set<ProcessRef> = []

    func isDue(at now: Date) -> Bool { pending || due.map { $0 <= now } == true }

    /// What `desired` pods and the `records` of what runs ask for. Pure.
    init(desired: [String: Pod], records: [String: PodRecord]) {
        pending = desired.keys.contains { records[$0] == nil }
        for (uid, record) in records {
            processes.formUnion([record.sandbox].compactMap { $0 } + record.containers.values.compactMap(\.process))
            // A finished pod whose sandbox is gone has nothing left to do until it is deleted.
            if record.released, let pod = desired[uid], pod.metadata.deletionTimestamp == nil { continue }
            guard let pod = desired[uid], pod.metadata.deletionTimestamp == nil, record.stopDeadline == nil,
                  record.sandbox != nil else {
                pending = true
                continue
            }
            let runnable = Set(InitOrder.progress(pod.spec, record).runnable)
            let podDone = InitOrder.mainDone(pod.spec, record)
            for container in pod.spec.everyContainer where runnable.contains(container.name)
                || InitOrder.role(of: container, in: pod.spec) == .ephemeral {
                guard let state = record.containers[container.name] else {
                    pending = true
                    continue
                }
                var next: Date?
                if state.process != nil {
                    // Its probes, or the end of its grace when it is being stopped.
                    next = state.killDeadline ?? state.probes.values.compactMap(\.next).min()
                } else {
                    let policy = InitOrder.restartPolicy(InitOrder.role(of: container, in: pod.spec), pod: pod.spec, podDone: podDone)
                    next = ContainerLifecycle.shouldRun(restartPolicy: policy, state) ? state.notBefore ?? .distantPast : nil
                }
                if let next { due = min(due ?? next, next) }
            }
            // Sidecars of a pod whose containers are done are to be stopped.
            if podDone, pod.spec.sidecars.contains(where: { record.containers[$0.name]?.process != nil && record.containers[$0.name]?.killDeadline == nil }) {
                pending = true
            }
        }
    }

    init() {}
}
